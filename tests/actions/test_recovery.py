"""Recovery after a crash between recording the intent and recording the operation.

The test starts an operation and throws the token away, as a crash would; recover() must
tell from the live state alone whether it happened, is under way or never started, and must
never write.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from actions_testbed import permit, ss_id, ssvm_id, vm_id

from actions import registry
from actions.errors import OutcomeUnknownError

WRITES = ("POST", "PATCH", "PUT", "DELETE")

CASES = [
    # action, resource, whether the live state shows the operation while it runs
    ("redeploy", vm_id("vm-degraded"), True),
    ("restart", ssvm_id("ss-web", 1), True),
    ("reimage", vm_id("vm-unavailable"), True),
    ("perform-maintenance", vm_id("vm-maint"), True),
    ("perform-maintenance", ssvm_id("ss-web", 2), True),
    ("enable-automatic-repairs", ss_id("ss-off"), True),
    ("replace-failed-instance", ss_id("ss-api"), True),
    ("resume-automatic-repairs", ss_id("ss-web"), False),
]


def writes(sim, since: int = 0) -> list:
    return [r for r in list(sim.requests)[since:] if r.method in WRITES]


def intent_for(clients, action, rid):
    """What the pipeline records before start: the time and the verdict's facts."""
    verdict = registry.get(action).verify(clients, rid, {})
    assert verdict.holds, verdict.reason
    return datetime.now(UTC), verdict.facts


@pytest.mark.parametrize("action, rid, visible", CASES)
def test_not_started(sim, clients, action, rid, visible):
    since, facts = intent_for(clients, action, rid)
    recovery = registry.get(action).recover(clients, rid, {}, since, facts)
    assert recovery.state == "not-started", recovery.reason
    assert recovery.operation is None
    assert writes(sim) == []


@pytest.mark.parametrize("action, rid, visible", CASES)
def test_done(sim, clients, action, rid, visible):
    executor = registry.get(action)
    since, facts = intent_for(clients, action, rid)
    op = executor.start(clients, rid, {}, permit=permit(executor, rid))
    while True:  # the crash comes after the work
        status = executor.poll(clients, op)
        if status.wants_write:
            status = executor.proceed(clients, op, permit=permit(executor, rid))
        if status.operation is None:
            break
        op = status.operation
    assert status.state == "Succeeded"
    del op  # the token is lost
    mark = len(sim.requests)
    recovery = executor.recover(clients, rid, {}, since, facts)
    assert recovery.state == "done", recovery.reason
    assert writes(sim, mark) == []



@pytest.mark.parametrize("action, rid, visible", [c for c in CASES if c[2]])
def test_in_progress_then_followed_from_the_state(slow_sim, slow_clients, action, rid, visible):
    executor = registry.get(action)
    since, facts = intent_for(slow_clients, action, rid)
    executor.start(slow_clients, rid, {}, permit=permit(executor, rid))  # the token is lost
    mark = len(slow_sim.requests)
    recovery = executor.recover(slow_clients, rid, {}, since, facts)
    assert recovery.state == "in-progress", recovery.reason
    assert writes(slow_sim, mark) == []
    op = recovery.operation
    assert op is not None and op.action == action
    assert executor.poll(slow_clients, op).state == "InProgress"
    for _ in range(4):
        slow_sim.finish_operations()
        status = executor.poll(slow_clients, op)
        if status.wants_write:
            status = executor.proceed(slow_clients, op, permit=permit(executor, rid))
        if status.finished:
            break
        op = status.operation or op
    assert status.state == "Succeeded", status.message
    assert len([w for w in writes(slow_sim) if w.status in (200, 202)]) == (2 if action == "replace-failed-instance" else 1)


def test_resume_recovered_while_running_reads_as_not_started(slow_sim, slow_clients):
    # setOrchestrationServiceState shows nothing until it ends; Resume is idempotent, and ARM
    # refuses a second one while the first runs, so "not-started" cannot resume twice.
    executor = registry.get("resume-automatic-repairs")
    since, facts = intent_for(slow_clients, "resume-automatic-repairs", ss_id("ss-web"))
    executor.start(slow_clients, ss_id("ss-web"), {}, permit=permit(executor, ss_id("ss-web")))
    assert executor.recover(slow_clients, ss_id("ss-web"), {}, since, facts).state == "not-started"


def test_replace_failed_after_delete_before_resize(slow_sim, slow_clients):
    """Crash after the delete finished and before the capacity PATCH was sent."""
    executor = registry.get("replace-failed-instance")
    since, facts = intent_for(slow_clients, "replace-failed-instance", ss_id("ss-two-failed"))
    executor.start(slow_clients, ss_id("ss-two-failed"), {}, permit=permit(executor, ss_id("ss-two-failed")))
    slow_sim.finish_operations()  # the delete ends: capacity 3
    recovery = executor.recover(slow_clients, ss_id("ss-two-failed"), {}, since, facts)
    assert recovery.state == "in-progress" and "below 5" in recovery.reason
    assert executor.poll(slow_clients, recovery.operation).wants_write  # the PATCH waits for the gate
    status = executor.proceed(slow_clients, recovery.operation, permit=permit(executor, ss_id("ss-two-failed")))
    assert status.state == "InProgress" and status.operation is not None
    slow_sim.finish_operations()
    assert executor.poll(slow_clients, status.operation).state == "Succeeded"
    assert slow_sim.fleet.scale_set("ss-two-failed").capacity == 5
    assert [w.method for w in writes(slow_sim)] == ["POST", "PATCH"]


def test_lost_answer_then_recover(sim, clients):
    executor = registry.get("redeploy")
    since, facts = intent_for(clients, "redeploy", vm_id("vm-degraded"))
    sim.faults.add(method="POST", path=r"/redeploy$", kind="drop", times=1)
    with pytest.raises(OutcomeUnknownError):
        executor.start(clients, vm_id("vm-degraded"), {}, permit=permit(executor, vm_id("vm-degraded")))
    recovery = executor.recover(clients, vm_id("vm-degraded"), {}, since, facts)
    assert recovery.state == "not-started"  # the dropped request never reached ARM
    op = executor.start(clients, vm_id("vm-degraded"), {}, permit=permit(executor, vm_id("vm-degraded")))
    assert executor.poll(clients, op).state == "Succeeded"
