"""A person's Suspend of a scale set's automatic repairs is held, and the sweep respects it.

Alerts built as Azure sends them: a Succeeded `setOrchestrationServiceState` Administrative event
with `"requestbody": ""` and the `caller` (tests/builders.py); the scale set's live state from
the simulated Azure through the real SDKs. Auto mode throughout: what is not resumed here is not
resumed because of the hold, not because the mode forbids it.
"""

from __future__ import annotations

import pytest

from intake.deliveries import parse_delivery
from sweep import sweep_into
from tests import builders as b

from .conftest import make_sweeper

SUB = "00000000-0000-0000-0000-0000000000c7"
SET = f"/subscriptions/{SUB}/resourceGroups/rg-held/providers/Microsoft.Compute/virtualMachineScaleSets/ss-held"
FLEET = {
    "defaults": {"subscriptionId": SUB, "resourceGroup": "rg-held"},
    "scaleSets": [{"name": "ss-held", "capacity": 20, "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"},
                   "orchestrationServiceState": "Suspended"}],
}


def alert(pipeline, payload):
    (outcome,) = pipeline.process(parse_delivery(b.body(payload), "alert.json"))
    return outcome


def resumes(sim) -> list:
    return [r for r in sim.requests if r["method"] == "POST" and r["path"].endswith("/setOrchestrationServiceState")]


def set_state(sim, state):
    from simulator.effects import set_orchestration

    with sim.fleet.lock:
        set_orchestration(sim.fleet.scale_set("ss-held"), "Resume" if state == "Running" else "Suspend")


@pytest.mark.parametrize(("caller", "request_action", "name", "held_by"), [
    ("alice@contoso.example", "Suspend", "RepairsSuspendedByUser", "alice@contoso.example"),
    ("alice@contoso.example", None, "RepairsChangedByUser", "alice@contoso.example"),
    ("9a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b", None, "RepairsChangedByUser", "9a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b"),
    ("", None, "RepairsSuspendedByUnknown", "an unknown caller"),
])
def test_a_suspension_not_the_platforms_is_held_until_a_person_resumes(sim_for, sweep_pipeline, now_clock, caller, request_action, name, held_by):
    sim = sim_for(FLEET)
    pipeline = sweep_pipeline(sim, mode="auto")
    told = alert(pipeline, b.orchestration_changed(target=SET, request_action=request_action, caller=caller))
    assert (told.name, told.action, told.status) == (name, "none", "noop")

    from sweep.holds import RepairHolds

    (finding,) = [s for s in make_sweeper(sim, (SUB,), clock=now_clock, holds=RepairHolds(pipeline.ledger)).signals()
                  if s.kind == "repair-state"]
    assert finding.name == "RepairsHeld" and f"suspended by {held_by} at {b._at('2026-11-20T08:05:00.000Z')[:19]}" in finding.summary
    swept = [o for o in sweep_into(pipeline, make_sweeper(sim, (SUB,), clock=now_clock)).outcomes if o.kind == "repair-state"]
    assert [(o.name, o.action, o.status) for o in swept] == [("RepairsHeld", "none", "noop")]
    assert resumes(sim) == []  # never resumed while held

    set_state(sim, "Running")  # a person resumes them
    now_clock.advance(minutes=15)
    swept = [o for o in sweep_into(pipeline, make_sweeper(sim, (SUB,), clock=now_clock)).outcomes if o.kind == "repair-state"]
    assert [(o.name, o.status) for o in swept] == [("RepairsResumed", "noop")]

    set_state(sim, "Suspended")  # later, the platform suspends: no hold any more, so it is resumed
    now_clock.advance(minutes=15)
    swept = [o for o in sweep_into(pipeline, make_sweeper(sim, (SUB,), clock=now_clock)).outcomes if o.kind == "repair-state"]
    assert [(o.name, o.action, o.status) for o in swept] == [("RepairsSuspended", "resume-automatic-repairs", "started")]
    assert len(resumes(sim)) == 1


def test_the_platforms_own_suspension_is_resumed(sim_for, sweep_pipeline):
    sim = sim_for(FLEET)
    pipeline = sweep_pipeline(sim, mode="auto")
    told = alert(pipeline, b.orchestration_changed(target=SET, caller="Microsoft.Compute"))
    assert (told.name, told.action, told.status) == ("RepairsSuspended", "resume-automatic-repairs", "started")
    assert len(resumes(sim)) == 1


def test_a_resume_alert_lifts_the_hold(sim_for, sweep_pipeline, now_clock):
    from sweep.holds import RepairHolds

    sim = sim_for(FLEET)
    pipeline = sweep_pipeline(sim, mode="auto")
    alert(pipeline, b.orchestration_changed(target=SET, request_action="Suspend", caller="alice@contoso.example"))
    holds = RepairHolds(pipeline.ledger)
    assert holds.held(SET).by == "alice@contoso.example"
    alert(pipeline, b.orchestration_changed(target=SET, request_action="Resume", caller="bob@contoso.example"))
    assert holds.held(SET) is None
