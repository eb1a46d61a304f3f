"""Dedupe and incidents: a second delivery is a duplicate; two roads to one fact, one incident."""

from __future__ import annotations

import pytest

from intake.deliveries import parse_delivery
from rules import Decision
from tests import builders as b


def run(pipeline, payload):
    (outcome,) = pipeline.process(parse_delivery(b.body(payload), "t"))
    return outcome


def test_same_event_id_twice_is_a_duplicate(pipeline, ledger):
    event = b.annotated("AccelnetUnhealthy")
    first, second = run(pipeline, event), run(pipeline, event)
    assert (first.status, second.status) == ("planned", "duplicate")
    assert "already received" in second.reason
    assert [row["status"] for row in ledger.history()] == ["planned"]  # a duplicate is logged, not recorded


def test_same_event_in_both_envelopes_is_a_duplicate(pipeline):
    run(pipeline, b.annotated(event_id="e-1", schema="grid"))
    assert run(pipeline, b.annotated(event_id="e-1", schema="cloud")).status == "duplicate"


def test_annotation_and_alert_for_one_occurrence_are_one_incident(pipeline):
    annotation = run(pipeline, b.annotated("VirtualMachineHostCrashed"))
    alert = run(pipeline, b.resource_health("Unavailable", target=b.vm_id()))
    assert annotation.incident_id and annotation.incident_id == alert.incident_id


def test_two_signals_asking_the_same_action_act_once(pipeline):
    first = run(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure"))
    second = run(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing"))
    assert (first.status, second.status) == ("planned", "duplicate")
    assert first.incident_id == second.incident_id
    assert "one action per incident" in second.reason


def test_a_different_action_in_the_same_incident_is_skipped(pipeline):
    run(pipeline, b.annotated("AccelnetUnhealthy", target=b.instance_id()))
    other = run(pipeline, b.annotated("VirtualMachineProvisioningTimedOut", target=b.instance_id()))
    assert (other.action, other.status) == ("reimage", "skipped")


def test_resource_ids_compare_case_insensitively(pipeline):
    first = run(pipeline, b.annotated("AccelnetUnhealthy", target=b.vm_id()))
    second = run(pipeline, b.resource_health("Degraded", target=b.vm_id().upper().replace("/SUBSCRIPTIONS", "/subscriptions")))
    assert first.incident_id == second.incident_id


def test_available_again_resolves_the_incident_and_the_next_signal_opens_a_new_one(pipeline, ledger):
    opened = run(pipeline, b.annotated("AccelnetUnhealthy"))
    resolved = run(pipeline, b.availability("Available", previous="Degraded"))
    assert resolved.incident_id == opened.incident_id
    assert ledger.incident(opened.incident_id)["closed_at"] is not None
    again = run(pipeline, b.annotated("AccelnetUnhealthy"))
    assert again.incident_id != opened.incident_id and again.status == "planned"


def test_a_resolved_alert_closes_its_incident(pipeline, ledger):
    fired = run(pipeline, b.resource_health("Unavailable", alert_id="/a/1"))
    closed = run(pipeline, b.resource_health("Unavailable", condition="Resolved", alert_id="/a/1"))
    assert closed.incident_id == fired.incident_id and closed.rule == "resolution"
    assert ledger.incident(fired.incident_id)["close_reason"]


def test_a_quiet_incident_expires(pipeline, clock):
    first = run(pipeline, b.annotated("AccelnetUnhealthy"))
    clock.advance(days=2)
    second = run(pipeline, b.annotated("AccelnetUnhealthy", when=clock.now.isoformat()))
    assert second.incident_id != first.incident_id and second.status == "planned"


def test_service_health_notices_group_by_tracking_id(pipeline):
    planned = run(pipeline, b.service_health("Maintenance", "Planned", tracking_id="T-9"))
    active = run(pipeline, b.service_health("Maintenance", "Active", tracking_id="T-9"))
    other = run(pipeline, b.service_health("Maintenance", "Planned", tracking_id="T-10"))
    assert planned.incident_id == active.incident_id != other.incident_id


def test_the_sqlite_ledger_keeps_state_across_processes(tmp_path, clock):
    from ledger import open_ledger
    from pipeline import Settings
    from wiring import build_pipeline

    path = tmp_path / "state.sqlite"
    event = b.annotated("AccelnetUnhealthy")
    first = build_pipeline(Settings(), ledger=open_ledger(f"sqlite:{path}"), clock=clock)
    assert run(first, event).status == "planned"
    second = build_pipeline(Settings(), ledger=open_ledger(f"sqlite:{path}"), clock=clock)
    assert run(second, event).status == "duplicate"


# -- an attempt that fails mid-decision loses nothing ------------------------------------------

# (the ledger call that fails once, in the middle of deciding a redeploy)
FAILING_STEPS = ["open_incident", "record_signal", "hold_action", "update_hold", "record_decision"]


@pytest.mark.parametrize("step", FAILING_STEPS)
def test_a_delivery_whose_decision_failed_is_decided_when_delivered_again(ledger, clock, step):
    from ledger.errors import LedgerUnavailableError
    from pipeline import Settings
    from wiring import build_pipeline

    original, failures = getattr(ledger, step), []

    def fail_once(*args, **kwargs):
        if not failures:
            failures.append(step)
            raise LedgerUnavailableError(f"the store did not answer while {step}")
        return original(*args, **kwargs)

    setattr(ledger, step, fail_once)
    pipeline = build_pipeline(Settings(), ledger=ledger, clock=clock)
    event = b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure")
    with pytest.raises(LedgerUnavailableError):
        run(pipeline, event)  # the host answers 500: Event Grid delivers it again
    again = run(pipeline, event)
    assert (again.status, again.action) == ("planned", "redeploy"), again.reason
    assert run(pipeline, event).status == "duplicate"
    assert ledger.hold_action(again.incident_id, "redeploy", "someone else", clock())["status"] == "planned"


def test_a_hold_of_another_delivery_is_never_taken_over(pipeline, ledger):
    first = run(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", event_id="a"))
    ledger.update_hold(first.incident_id, "held")  # as if its attempt had stopped before acting
    second = run(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing", event_id="b"))
    assert second.status == "duplicate" and "one action per incident" in second.reason


def test_a_later_decision_is_told_with_the_facts_its_signal_carried(pipeline, ledger):
    """An approval settled or an operation ended hours later: the step listeners get carries the
    first signal's NotBefore, initiator and machine list, not a shell of it."""
    first = run(pipeline, b.scheduled("Reboot", "Scheduled"))
    (row,) = [r for r in ledger.history() if r["incident_id"] == first.incident_id]
    _, later = pipeline.outcome_later("tick", first.incident_id, row["signal_id"], first.resource_id,
                                      Decision(action="none", mode="observe", status="noop", reason="r", rule="tick"))
    assert later.details["not_before"] and later.details["event_status"] == "Scheduled"
    assert (later.initiator, later.details["resources"], later.details["duration_seconds"]) == ("platform", ["ss1_1"], 5)
