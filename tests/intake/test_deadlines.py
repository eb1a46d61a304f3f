"""Deadlines and impact windows read from annotation payloads (intake/deadlines.py), kept on the
signal and the decision, and honoured by approvals.

Payloads as Azure sends ResourceAnnotated events (tests/builders.py), with the deadline where
Azure's docs put it: "redeploy ... before the specified redeployment deadline", "specified in the
annotation message"; impact times under the names Azure uses for them elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.deadlines import deadlines, parse_time
from intake.deliveries import parse_delivery
from tests import builders as b

DEADLINE = "2026-12-10T08:00:00+00:00"


def one(payload):
    delivery = parse_delivery(b.body(payload), "test")
    assert not delivery.rejections, delivery.rejections
    (signal,) = delivery.signals
    return signal


@pytest.mark.parametrize("extra,expected", [
    # the deadline in the message, as the docs describe it
    ({"summary": "We strongly recommend redeploying your Virtual Machine before the redeployment deadline of "
                 "2026-12-10T08:00:00.0000000Z to avoid unexpected disruptions."}, {"redeploy_deadline": DEADLINE}),
    ({"summary": "Redeployment deadline: Thu, 10 Dec 2026 08:00:00 GMT."}, {"redeploy_deadline": DEADLINE}),
    ({"reason": "Redeploy before the deadline 2026-12-10 09:00:00 +01:00"}, {"redeploy_deadline": DEADLINE}),
    # a property, when the payload carries one (it wins over the text)
    ({"redeployDeadline": "2026-12-10T08:00:00Z", "summary": "deadline 2030-01-01T00:00:00Z"}, {"redeploy_deadline": DEADLINE}),
    # the impact window of a degraded annotation
    ({"impactStartTime": "2026-12-09T00:00:00Z", "impactEndTime": "2026-12-11T00:00:00Z"},
     {"impact_start": "2026-12-09T00:00:00+00:00", "impact_end": "2026-12-11T00:00:00+00:00"}),
    # nothing: most annotations carry neither; a date not tied to a deadline is not one
    ({"summary": "The host was repaired on 2026-12-01T00:00:00Z."}, {}),
    ({"redeployDeadline": "soon"}, {}),
])
def test_an_annotation_keeps_its_deadline_and_impact_window(extra, expected):
    signal = one(b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadline", **extra))
    assert {k: signal.details[k] for k in ("redeploy_deadline", "impact_start", "impact_end") if k in signal.details} == expected


def test_the_decision_carries_the_deadline_as_a_fact():
    from rules import load_catalog, load_policy
    from rules.engine import Engine

    signal = one(b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadline",
                             summary=f"Redeploy before the redeployment deadline of {DEADLINE}."))
    catalog = load_catalog()
    engine = Engine(catalog, load_policy(catalog=catalog))
    decision = engine.decide(signal, engine.classify(signal), history=None)
    assert decision.facts == {"redeploy_deadline": DEADLINE}


def test_an_approval_expires_before_the_redeploy_deadline():
    from approvals import deadline_of

    signal = one(b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadline",
                             summary=f"Redeploy before the redeployment deadline of {DEADLINE}."))
    assert deadline_of(signal) == datetime(2026, 12, 10, 8, tzinfo=UTC)


@pytest.mark.parametrize("text,expected", [
    ("2026-12-10T08:00:00.1234567Z", datetime(2026, 12, 10, 8, 0, 0, 123456, tzinfo=UTC)),
    ("2026-12-10T09:00:00+01:00", datetime(2026, 12, 10, 8, tzinfo=UTC)),
    ("2026-12-10 08:00", datetime(2026, 12, 10, 8, tzinfo=UTC)),
    ("Thu, 10 Dec 2026 08:00:00 GMT", datetime(2026, 12, 10, 8, tzinfo=UTC)),
    ("", None), ("tomorrow", None), (None, None), (12, None),
])
def test_times_as_azure_writes_them(text, expected):
    assert parse_time(text) == expected


def test_deadlines_ignore_key_case():
    assert deadlines({"RedeployDeadline": "2026-12-10T08:00:00Z"}) == {"redeploy_deadline": DEADLINE}
    assert deadlines({}, "no deadline here", "") == {}


@pytest.mark.parametrize(
    "details, facts, expected",
    [
        ({}, {"redeploy_deadline": "2026-12-09T08:00:00+00:00"}, datetime(2026, 12, 9, 8, tzinfo=UTC)),
        ({"redeploy_deadline": "2026-12-10T08:00:00Z"}, {"redeploy_deadline": "2026-12-09T08:00:00+00:00"},
         datetime(2026, 12, 9, 8, tzinfo=UTC)),  # the earlier of the event's and Resource Health's
        ({"redeploy_deadline": "2026-12-08T08:00:00Z"}, {"redeploy_deadline": "2026-12-09T08:00:00+00:00"},
         datetime(2026, 12, 8, 8, tzinfo=UTC)),
        ({}, {}, None),
    ],
)
def test_an_approval_expires_before_the_earliest_deadline_the_event_or_resource_health_gives(details, facts, expected):
    from types import SimpleNamespace

    from approvals.requests import deadline_of

    assert deadline_of(SimpleNamespace(details=details), facts) == expected
