"""A policy matches each signal against the rules that can match its kind only: the same first
match, in policy order, as trying every rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.deliveries import parse_delivery
from rules import Signal, load_catalog, load_policy, parse_policy
from tests import builders as b

from .test_policy import DEFAULT_POLICY_CASES

WHEN = datetime(2026, 11, 20, tzinfo=UTC)


class NoHistory:
    def count_occurrences(self, resource_key, name, within):
        return 1


def every_rule(policy, signal, classification, history):
    return next((r for r in policy.rules if r.matches(signal, classification, history)), None)


def signals_of(payload) -> list[Signal]:
    delivery = parse_delivery(b.body(payload), "test")
    assert not delivery.rejections, delivery.rejections
    return list(delivery.signals)


def made(kind: str, name: str) -> Signal:
    return Signal(source="sweep", event_id=f"e-{kind}-{name}", kind=kind, name=name, resource_id=b.scale_set_id(),
                  occurred=WHEN, delivery_key=f"k-{kind}-{name}")


@pytest.mark.parametrize("payload", [case[0] for case in DEFAULT_POLICY_CASES])
def test_the_shipped_policy_picks_the_rule_trying_every_rule_would(payload):
    catalog, policy = load_catalog(), load_policy()
    for signal in signals_of(payload()):
        classification = catalog.classify(signal)
        assert policy.first_match(signal, classification, NoHistory()) == every_rule(policy, signal, classification, NoHistory())


# Rules with no kind between rules of one: the order across them is the policy's.
MIXED = {
    "version": 1,
    "rules": [
        {"name": "platform-annotation", "when": {"annotation": ["AccelnetUnhealthy"]}, "do": "redeploy"},
        {"name": "any-customer", "when": {"initiator": "customer"}, "do": "none"},
        {"name": "repairs", "when": {"kind": ["repair-state"], "name": "RepairsSuspended"}, "do": "resume-automatic-repairs"},
        {"name": "any-platform", "when": {"initiator": "platform"}, "do": "none"},
        {"name": "late-annotation", "when": {"kind": "annotation"}, "do": "restart"},
    ],
}

MIXED_CASES = [
    # signal, the rule that must win
    (lambda: signals_of(b.annotated("AccelnetUnhealthy"))[0], "platform-annotation"),
    (lambda: signals_of(b.annotated("VirtualMachineRestarted", context="Customer Initiated", category="Not Applicable"))[0], "any-customer"),
    (lambda: made("repair-state", "RepairsSuspended"), "repairs"),
    (lambda: made("repair-state", "InstanceInGracePeriod"), "any-platform"),
    (lambda: signals_of(b.annotated("VirtualMachineHostCrashed"))[0], "any-platform"),
    (lambda: made("maintenance-status", "SelfServiceWindowOpen"), "any-platform"),
    (lambda: signals_of(b.availability("Unavailable"))[0], None),  # initiator unknown: no rule
]


@pytest.mark.parametrize("signal,rule", MIXED_CASES)
def test_rules_without_a_kind_keep_their_place_among_those_with_one(signal, rule):
    catalog = load_catalog()
    policy = parse_policy(MIXED, catalog=catalog)
    signal = signal()
    classification = catalog.classify(signal)
    found = policy.first_match(signal, classification, NoHistory())
    assert (found.name if found else None) == rule
    assert found == every_rule(policy, signal, classification, NoHistory())
