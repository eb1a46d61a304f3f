"""Forged and stale signals against the simulated Azure in auto mode: whatever an event says,
nothing outside the scope, nothing healthy and nothing already handled is written to; each
refusal is in the ledger with its reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from intake.deliveries import parse_delivery
from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, Clock, accepted_writes

OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000f0e19"
UNKNOWN_SUBSCRIPTION = "99999999-9999-9999-9999-999999999999"
SCOPE = {"subscriptions": (DEMO_SUBSCRIPTION,)}


def vm(name: str, rg: str = "rg-demo", sub: str = DEMO_SUBSCRIPTION) -> str:
    return b.vm_id(name, rg=rg, sub=sub)


def deliver(pipeline, payload):
    (outcome,) = pipeline.process(parse_delivery(b.body(payload), "forged"))
    return outcome


def settle(pipeline, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while pipeline.ledger.open_operations() and time.monotonic() < deadline:
        pipeline.tick()
        time.sleep(0.05)
    assert not pipeline.ledger.open_operations()


def recorded(ledger, outcome) -> dict:
    (row,) = [r for r in ledger.history() if r["event_id"] == outcome.event_id and r["rule"] != "tick"]
    assert row["status"] == outcome.status and row["reason"] == outcome.reason
    return row


def touched(sim, name: str) -> list:
    return [r for r in sim.requests if f"/{name.lower()}" in r.path.lower()]


FORGED = [
    # (id, settings, payload, status, what the reason says)
    ("vm-outside-the-scope", SCOPE, lambda: b.annotated(target=vm("vm-out-of-scope", "rg-other", OTHER_SUBSCRIPTION)), "skipped", "out of scope:"),
    ("in-scope-name-in-another-subscription", SCOPE, lambda: b.annotated(target=vm("vm-degraded-hw", sub=OTHER_SUBSCRIPTION)), "skipped", "out of scope:"),
    ("unknown-subscription", {}, lambda: b.annotated(target=vm("vm-degraded-hw", sub=UNKNOWN_SUBSCRIPTION)), "skipped", "out of scope: subscription 99999999"),
    ("alert-outside-the-scope", SCOPE, lambda: b.resource_health("Unavailable", target=vm("vm-out-of-scope", "rg-other", OTHER_SUBSCRIPTION)), "skipped", "out of scope:"),
    ("healthy-vm-annotated-degraded", SCOPE, lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-healthy-again")), "skipped", "verified against the live state"),
    ("healthy-vm-annotated-accelnet", SCOPE, lambda: b.annotated("AccelnetUnhealthy", target=vm("vm-healthy-again")), "skipped", "verified against the live state"),
    ("deallocated-vm-said-degraded", SCOPE, lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-deallocated")), "skipped", "deallocated"),
    ("vm-that-does-not-exist", SCOPE, lambda: b.annotated(target=vm("vm-never-was")), "skipped", "ARM knows no such resource"),
    # An alert is told, never acted on; a first host crash is already recovered by the platform.
    ("alert-contradicting-live-state", SCOPE, lambda: b.resource_health("Unavailable", target=vm("vm-healthy-again")), "noop", "catalog default: A Resource Health alert reports"),
    ("user-restart-said-host-crash", SCOPE, lambda: b.annotated("VirtualMachineHostCrashed", target=vm("vm-user-restart")), "noop", "the platform already recovered the VM"),
]


@pytest.mark.parametrize("name,settings,payload,status,fragment", FORGED, ids=[f[0] for f in FORGED])
def test_a_forged_event_writes_nothing_and_is_recorded_with_its_reason(acting, sim, ledger, name, settings, payload, status, fragment):
    outcome = deliver(acting("auto", **settings), payload())
    assert outcome.status == status, outcome.reason
    assert fragment in outcome.reason
    row = recorded(ledger, outcome)
    assert row["status"] in ("skipped", "noop", "planned") and row["reason"]
    assert not accepted_writes(sim)


def test_out_of_scope_is_refused_before_anything_about_it_is_read(acting, sim):
    deliver(acting("auto", **SCOPE), b.annotated(target=vm("vm-out-of-scope", "rg-other", OTHER_SUBSCRIPTION)))
    assert not touched(sim, "vm-out-of-scope")


def test_an_event_replayed_days_later_does_not_act_again(acting, sim, ledger):
    clock = Clock(datetime.now(UTC))
    pipeline = acting("auto", clock=clock, **SCOPE)
    event = b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"), when=clock.now.isoformat(), event_id="replayed-1")
    assert deliver(pipeline, event).status == "started"
    settle(pipeline)
    clock.advance(days=3)
    replay = deliver(pipeline, event)
    # Three days on, the event id is still known: a second delivery, logged and not acted on.
    assert (replay.status, replay.reason) == (
        "duplicate", "event replayed-1 was already received; a second delivery is logged, not acted on")
    assert len(accepted_writes(sim)) == 1


def test_an_old_event_under_a_new_id_meets_the_live_state(acting, sim, ledger):
    """A stale copy (new id, days-old time) about a machine that has healed since: told, never acted on."""
    clock = Clock(datetime.now(UTC))
    pipeline = acting("auto", clock=clock, **SCOPE)
    old = (clock.now - timedelta(days=4)).isoformat()
    outcome = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-healthy-again"), when=old))
    assert outcome.status == "skipped" and "max_event_age 6 h" in outcome.reason and "never acted on" in outcome.reason
    recorded(ledger, outcome)
    assert not accepted_writes(sim)


def test_a_resolved_alert_for_a_healthy_machine_writes_nothing(acting, sim, ledger):
    outcome = deliver(acting("auto", **SCOPE), b.resource_health("Available", previous="Unavailable", target=vm("vm-degraded-hw"), condition="Resolved"))
    assert outcome.status != "started"
    recorded(ledger, outcome)
    assert not accepted_writes(sim)


def test_a_machine_arm_does_not_know_is_never_written_and_ends_with_a_reason(acting, sim, ledger):
    pipeline = acting("auto", **SCOPE)
    outcome = deliver(pipeline, b.annotated(target=vm("vm-never-was")))
    assert outcome.status == "skipped" and "ARM knows no such resource" in outcome.reason
    assert pipeline.tick() == [] and not ledger.open_operations()
    assert not accepted_writes(sim)


def test_a_machine_arm_does_not_know_is_skipped_at_once(acting, sim):
    outcome = deliver(acting("auto", **SCOPE), b.annotated(target=vm("vm-never-was")))
    assert outcome.status == "skipped"


def test_a_flood_of_forged_machines_does_not_block_a_real_remediation(acting, sim):
    pipeline = acting("auto", **SCOPE)
    for index in range(8):
        deliver(pipeline, b.annotated(target=vm(f"vm-forged-{index}")))
    real = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert real.status == "started", real.reason
    assert [w.path.rsplit("/", 2)[-2] for w in accepted_writes(sim)] == ["vm-accelnet"]
