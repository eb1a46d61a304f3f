"""Remediation through the pipeline against the simulated Azure, with the real SDKs over HTTPS:
verify before acting, one write per incident, operations followed to their end, faults and
crashes survived without a second write."""

from __future__ import annotations

import time

import pytest

from tests import builders as b
from tests.actions.actions_testbed import permit
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes, deliver, tick_until_done


def demo_vm(name: str) -> str:
    return b.vm_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def demo_scale_set(name: str) -> str:
    return b.scale_set_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)






def DEGRADED():
    return b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=demo_vm("vm-degraded-hw"))


@pytest.mark.parametrize(
    "payload,action,path",
    [
        (DEGRADED, "redeploy", "/virtualMachines/vm-degraded-hw/redeploy"),
        (lambda: b.annotated("AccelnetUnhealthy", target=demo_vm("vm-accelnet")), "redeploy", "/virtualMachines/vm-accelnet/redeploy"),
        (lambda: b.orchestration_changed(target=demo_scale_set("vmss-web")), "resume-automatic-repairs", "/vmss-web/setOrchestrationServiceState"),
    ],
)
def test_auto_mode_verifies_starts_and_follows_to_success(acting, sim, ledger, payload, action, path):
    pipeline = acting("auto")
    outcome = deliver(pipeline, payload())
    assert (outcome.action, outcome.status) == (action, "started")
    assert "verified:" in outcome.reason
    (ended,) = tick_until_done(pipeline)
    assert (ended.status, ended.incident_id) == ("succeeded", outcome.incident_id)
    assert len(accepted_writes(sim)) == 1 and accepted_writes(sim, path)
    (operation,) = ledger.operations(outcome.incident_id)
    assert operation["state"] == "succeeded" and operation["token"]
    assert [row["status"] for row in ledger.history()] == ["started", "succeeded"]


def test_observe_mode_verifies_but_never_writes(acting, sim):
    outcome = deliver(acting("observe"), DEGRADED())
    assert outcome.status == "planned" and "would redeploy now:" in outcome.reason, outcome.reason
    assert "(evidence: " in outcome.reason
    assert not accepted_writes(sim)
    assert any(r.counter == "reads" for r in sim.requests)


def test_approve_mode_waits_for_a_person(acting, sim):
    outcome = deliver(acting("approve"), DEGRADED())
    assert outcome.status == "awaiting-approval" and not accepted_writes(sim)


@pytest.mark.parametrize(
    "payload,reason",
    [
        (lambda: b.annotated("VirtualMachineScheduledForServiceHealing", target=demo_vm("vm-healthy-again")), "already healthy"),
        (lambda: b.annotated("AccelnetUnhealthy", target=demo_vm("vm-deallocated")), "deallocated"),
        (lambda: b.orchestration_changed(target=demo_scale_set("vmss-probe")), "too many unhealthy instances"),
    ],
)
def test_a_condition_gone_from_the_live_state_is_skipped(acting, sim, payload, reason):
    outcome = deliver(acting("auto"), payload())
    assert outcome.status == "skipped" and reason in outcome.reason
    assert not accepted_writes(sim)


def test_an_action_that_does_not_apply_is_skipped_with_its_reason(acting, sim):
    outcome = deliver(acting("auto"), b.annotated("AccelnetUnhealthy", target=demo_scale_set("vmss-web")))
    assert outcome.status == "skipped" and "does not apply to a scale set" in outcome.reason
    assert not accepted_writes(sim)


def test_two_signals_for_one_incident_make_one_write(acting, sim):
    pipeline = acting("auto")
    first = deliver(pipeline, DEGRADED())
    second = deliver(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing", target=demo_vm("vm-degraded-hw")))
    alert = deliver(pipeline, b.resource_health("Degraded", target=demo_vm("vm-degraded-hw")))
    tick_until_done(pipeline)
    assert (first.status, second.status, alert.status) == ("started", "duplicate", "noop")
    assert len(accepted_writes(sim)) == 1


def test_an_operation_that_fails_is_recorded_failed(acting, sim, ledger):
    sim.faults.add(method="POST", path=r"/redeploy$", kind="fail-operation", message="Allocation failed in this cluster")
    pipeline = acting("auto")
    outcome = deliver(pipeline, DEGRADED())
    (ended,) = tick_until_done(pipeline)
    assert outcome.status == "started" and ended.status == "failed"
    assert "Allocation failed" in ended.reason
    assert ledger.operations()[0]["state"] == "failed"


@pytest.mark.parametrize("kind", ["429", "503"])
def test_throttled_or_unavailable_once_is_retried_per_retry_after_with_one_write(acting, sim, kind):
    sim.faults.add(method="POST", path=r"/redeploy$", kind=kind, times=1, retry_after=1)
    pipeline = acting("auto")
    outcome = deliver(pipeline, DEGRADED())
    tick_until_done(pipeline)
    posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/redeploy")]
    assert [r.status for r in posts] == [int(kind), 202]
    assert posts[1].time - posts[0].time >= 0.9  # waited as Retry-After asked
    assert outcome.status == "started" and len(accepted_writes(sim)) == 1


@pytest.mark.parametrize("kind", ["429", "503"])
def test_a_long_retry_after_is_left_to_the_tick_not_slept_through(acting, sim, ledger, kind):
    """The SDK would sleep for any Retry-After; a trigger has 10 minutes for its whole delivery."""
    sim.faults.add(method="POST", path=r"/redeploy$", kind=kind, times=1, retry_after=30)  # over the 10 s a call waits
    pipeline = acting("auto")
    began = time.monotonic()
    outcome = deliver(pipeline, DEGRADED())
    assert time.monotonic() - began < 10
    assert outcome.status == "started" and "the next tick reads the state" in outcome.reason
    assert not accepted_writes(sim) and ledger.open_operations()[0]["state"] == "intent"
    (ended,) = tick_until_done(pipeline)
    assert ended.status == "succeeded" and len(accepted_writes(sim)) == 1


def test_azure_refusing_for_long_leaves_an_intent_the_tick_retries_once_the_state_is_read(acting, sim, ledger):
    fault = sim.faults.add(method="POST", path=r"/redeploy$", kind="503", times=None, retry_after=0)
    pipeline = acting("auto")
    outcome = deliver(pipeline, DEGRADED())
    assert outcome.status == "started" and "the next tick reads the state" in outcome.reason
    assert not accepted_writes(sim)
    assert ledger.open_operations()[0]["state"] == "intent"
    sim.faults.remove(fault)
    (ended,) = tick_until_done(pipeline)
    assert ended.status == "succeeded" and len(accepted_writes(sim)) == 1


def test_unreadable_live_state_is_verified_again_by_the_tick(acting, sim, ledger):
    fault = sim.faults.add(method="GET", path=r"availabilityStatuses/current", kind="500", times=None)
    pipeline = acting("auto")
    outcome = deliver(pipeline, DEGRADED())
    assert outcome.status == "planned" and "the next tick verifies again" in outcome.reason
    assert ledger.open_operations()[0]["state"] == "verifying"
    sim.faults.remove(fault)
    (ended,) = tick_until_done(pipeline)
    assert ended.status == "succeeded" and len(accepted_writes(sim)) == 1


def _crash_after_intent(pipeline, ledger, incident_id: str, write_happened: bool, sim):
    """The worker recorded the intent, maybe sent the write, and died before recording it."""
    from actions import registry

    resource = demo_vm("vm-degraded-hw")
    clients = pipeline.remediator.connect(DEMO_SUBSCRIPTION)
    verdict = registry.get("redeploy").verify(clients, resource, {"signal_annotation": "VirtualMachinePossiblyDegradedDueToHardwareFailure"})
    ledger.record_intent(incident_id, None, "redeploy", resource, "auto", {}, verdict.facts, pipeline.clock())
    if write_happened:
        time.sleep(0.01)
        registry.get("redeploy").start(clients, resource, {}, permit=permit(registry.get("redeploy"), resource))  # its token is lost with the worker


@pytest.mark.parametrize("write_happened,writes", [(False, 1), (True, 1)])
def test_a_crash_between_intent_and_operation_is_recovered_from_the_state(acting, sim, ledger, write_happened, writes):
    pipeline = acting("auto")
    _crash_after_intent(pipeline, ledger, "INC-crashed", write_happened, sim)
    (ended,) = tick_until_done(pipeline)
    assert ended.status == "succeeded"
    assert len(accepted_writes(sim, "/redeploy")) == writes  # never a second, blind write
    if write_happened:
        assert ended.reason.startswith("found done in the live state: an operation on it ended at")


def test_without_azure_auto_mode_plans_and_says_nothing_was_started(make_pipeline):
    outcome = deliver(make_pipeline(mode="auto"), b.annotated("AccelnetUnhealthy"))
    assert outcome.status == "planned" and "nothing was started" in outcome.reason


def test_an_intent_whose_condition_went_away_during_the_crash_is_skipped(acting, sim, ledger):
    pipeline = acting("auto")
    _crash_after_intent(pipeline, ledger, "INC-crashed", write_happened=False, sim=sim)
    vm = sim.fleet.vm("vm-degraded-hw")
    vm.availability_state, vm.annotation = "Available", None  # the platform healed it meanwhile
    (ended,) = tick_until_done(pipeline)
    assert ended.status == "skipped" and "already healthy" in ended.reason
    assert not accepted_writes(sim)
