"""Operations over time: success, failure, throttling and server errors, lost answers, tokens."""

from __future__ import annotations

import json
import time
from datetime import UTC

import pytest
from actions_testbed import calls, is_poll, judged, permit, ss_id, ssvm_id, vm_id

from actions import registry
from actions.errors import AzureCallError, ConditionGoneError, InvalidOperationTokenError, OutcomeUnknownError
from actions.results import Operation

WRITES = ("POST", "PATCH", "PUT", "DELETE")


def accepted_writes(sim) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sim.requests if r.method in WRITES and r.status in (200, 202)]


def all_writes(sim) -> list[tuple[str, str, int | None]]:
    return [(r.method, r.path, r.status) for r in sim.requests if r.method in WRITES]


def follow(executor, clients, op, limit: int = 5):
    """Poll to the end, storing the next step's operation when a poll hands one back."""
    for _ in range(limit):
        status = executor.poll(clients, op)
        if status.wants_write:  # the next step is a write of its own: the gate's permit, then proceed
            status = executor.proceed(clients, op, permit=permit(executor, op.resource_id))
        if status.finished:
            return status
        op = status.operation or op
    raise AssertionError(f"still {status.state} after {limit} polls: {status.message}")



@pytest.mark.parametrize(
    "action, rid, params",
    [
        ("redeploy", vm_id("vm-degraded"), {}),
        ("restart", ssvm_id("ss-web", 1), {}),
        ("perform-maintenance", vm_id("vm-maint"), {}),
        ("resume-automatic-repairs", ss_id("ss-web"), {}),
        ("enable-automatic-repairs", ss_id("ss-off"), {}),
    ],
)
def test_in_progress_then_succeeded(slow_sim, slow_clients, action, rid, params):
    executor = registry.get(action)
    started = time.monotonic()
    op = executor.start(slow_clients, rid, params, permit=permit(executor, rid))
    first = executor.poll(slow_clients, op)
    assert time.monotonic() - started < 5  # start and poll return at once, they do not wait
    assert first.state == "InProgress" and not first.finished
    assert slow_sim.finish_operations() >= 1
    last = executor.poll(slow_clients, op)
    assert last.state == "Succeeded" and last.finished
    assert judged(executor, slow_clients, rid, params)[0] is False  # the condition is gone now
    assert len(accepted_writes(slow_sim)) == 1


def test_redeploy_heals_the_vm(sim, clients):
    executor = registry.get("redeploy")
    op = executor.start(clients, vm_id("vm-degraded"), {}, permit=permit(executor, vm_id("vm-degraded")))
    assert executor.poll(clients, op).state == "Succeeded"
    holds, said, _facts = judged(executor, clients, vm_id("vm-degraded"), {})
    assert not holds and "already healthy" in said


@pytest.mark.parametrize(
    "action, rid, path",
    [
        ("redeploy", vm_id("vm-degraded"), r"/redeploy$"),
        ("reimage", ssvm_id("ss-web", 1), r"/reimage$"),
        ("perform-maintenance", vm_id("vm-maint"), r"/performMaintenance$"),
        ("resume-automatic-repairs", ss_id("ss-web"), r"/setOrchestrationServiceState$"),
        ("enable-automatic-repairs", ss_id("ss-off"), r"/ss-off$"),
        ("replace-failed-instance", ss_id("ss-api"), r"/delete$"),
    ],
)
def test_failed_operation_reports_azure_message(sim, clients, action, rid, path):
    sim.faults.add(method="*", path=path, kind="fail-operation", code="InternalExecutionError",
                   message="An internal execution error occurred (simulated).")  # fmt: skip
    executor = registry.get(action)
    op = executor.start(clients, rid, {}, permit=permit(executor, rid))
    status = executor.poll(clients, op)
    assert status.state == "Failed"
    assert "InternalExecutionError" in status.message and "internal execution error" in status.message
    assert status.operation is None  # a failed delete does not go on to restore capacity
    assert len(accepted_writes(sim)) == 1


@pytest.mark.parametrize("kind", ["429", "503"])
@pytest.mark.parametrize(
    "action, rid, method, path",
    [
        ("redeploy", vm_id("vm-degraded"), "POST", r"/redeploy$"),
        ("resume-automatic-repairs", ss_id("ss-web"), "POST", r"/setOrchestrationServiceState$"),
        ("enable-automatic-repairs", ss_id("ss-off"), "PATCH", r"/ss-off$"),
        ("replace-failed-instance", ss_id("ss-api"), "POST", r"/delete$"),
    ],
)
def test_throttled_write_is_retried_after_retry_after_and_sent_once(sim, clients, kind, action, rid, method, path):
    sim.faults.add(method=method, path=path, kind=kind, times=1, retry_after=0.4)
    executor = registry.get(action)
    started = time.monotonic()
    op = executor.start(clients, rid, {}, permit=permit(executor, rid))
    assert time.monotonic() - started >= 0.4  # the SDK waited as Retry-After said
    writes = all_writes(sim)
    assert [w[2] for w in writes][0] == int(kind) and len(writes) == 2  # one refused, one accepted
    assert writes[1][2] in (200, 202)  # no duplicate write
    assert follow(executor, clients, op).state == "Succeeded"


@pytest.mark.parametrize("kind", ["429", "503", "500", "drop"])
def test_throttled_reads_and_polls_are_retried(sim, clients, kind):
    sim.faults.add(method="GET", path=r"/instanceView$", kind=kind, times=1, retry_after=0.3)
    sim.faults.add(method="GET", path=r"/operations/", kind=kind, times=1, retry_after=0.3)
    executor = registry.get("redeploy")
    assert executor.verify(clients, vm_id("vm-degraded"), {}).holds
    op = executor.start(clients, vm_id("vm-degraded"), {}, permit=permit(executor, vm_id("vm-degraded")))
    assert executor.poll(clients, op).state == "Succeeded"
    polls = [c for c in calls(sim) if is_poll(c)]
    assert len(polls) == 2  # the throttled one and its retry


def test_lost_answer_to_a_write_is_not_resent(sim, clients):
    sim.faults.add(method="POST", path=r"/redeploy$", kind="drop", times=1)
    executor = registry.get("redeploy")
    with pytest.raises(OutcomeUnknownError):
        executor.start(clients, vm_id("vm-degraded"), {}, permit=permit(executor, vm_id("vm-degraded")))
    # The server logs a request once it has answered (here: dropped) it, which may come just
    # after the client saw the drop: give the log a moment, then count.
    deadline = time.monotonic() + 2.0
    while not all_writes(sim) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert len([w for w in all_writes(sim)]) == 1  # the SDK did not send it a second time


def test_refused_maintenance_is_that_machines_answer_with_azures_words(sim, clients):
    # ARM itself refuses maintenance outside the window (409 OperationNotAllowed): nothing was
    # started on the machine, so it is the condition gone, carrying ARM's refusal as its cause.
    from actions.errors import ConditionGoneError

    with pytest.raises(ConditionGoneError, match="Azure refused maintenance of vm-maint-future") as caught:
        registry.get("perform-maintenance").start(clients, vm_id("vm-maint-future"), {},
                                                 permit=permit(registry.get("perform-maintenance"), vm_id("vm-maint-future")))
    refusal = caught.value.__cause__
    assert isinstance(refusal, AzureCallError) and (refusal.status, refusal.code) == (409, "OperationNotAllowed")


def test_replace_failed_restores_capacity_in_two_steps(sim, clients):
    executor = registry.get("replace-failed-instance")
    op = executor.start(clients, ss_id("ss-two-failed"), {}, permit=permit(executor, ss_id("ss-two-failed")))
    assert json.loads(op.token)["step"] == "delete"
    wanted = executor.poll(clients, op)
    assert wanted.wants_write and "capacity 3 is below 5: restoring it" in wanted.message
    assert not [c for c in calls(sim) if c[0] == "PATCH"], "the poll itself never writes"
    status = executor.proceed(clients, op, permit=permit(executor, ss_id("ss-two-failed")))
    assert status.state == "InProgress" and "restoring capacity from 3 to 5" in status.message
    step2 = status.operation
    assert json.loads(step2.token)["step"] == "resize" and json.loads(step2.token)["capacity"] == 5
    done = executor.poll(clients, step2)
    assert done.state == "Succeeded" and "capacity back to 5" in done.message
    ss = sim.fleet.scale_set("ss-two-failed")
    assert ss.capacity == 5 and not any(i.provisioning_state == "Failed" for i in ss.instances.values())
    assert executor.verify(clients, ss_id("ss-two-failed"), {}).holds is False


def test_the_capacity_restore_needs_a_permit_of_its_own(sim, clients):
    from actions.errors import UnpermittedWriteError

    executor = registry.get("replace-failed-instance")
    used = permit(executor, ss_id("ss-two-failed"))
    op = executor.start(clients, ss_id("ss-two-failed"), {}, permit=used)
    assert executor.poll(clients, op).wants_write
    for wrong in (None, used, permit(executor, ss_id("ss-api")), permit(registry.get("redeploy"), ss_id("ss-two-failed"))):
        with pytest.raises(UnpermittedWriteError):
            executor.proceed(clients, op, permit=wrong)
    assert not [c for c in calls(sim) if c[0] == "PATCH"]


def test_replace_failed_polled_again_with_the_old_token_does_not_scale_twice(sim, clients):
    executor = registry.get("replace-failed-instance")
    op = executor.start(clients, ss_id("ss-api"), {}, permit=permit(executor, ss_id("ss-api")))
    assert executor.poll(clients, op).wants_write
    step2 = executor.proceed(clients, op, permit=permit(executor, ss_id("ss-api"))).operation
    assert executor.poll(clients, step2).state == "Succeeded"
    # A crash lost step2: the pipeline polls the first token again; the capacity is back already.
    mark = len(sim.requests)
    again = executor.poll(clients, op)
    assert again.state == "Succeeded" and again.operation is None
    assert not [c for c in calls(sim, mark) if c[0] in WRITES]


def test_replace_failed_start_refuses_when_nothing_failed_any_more(sim, clients):
    with pytest.raises(ConditionGoneError):
        registry.get("replace-failed-instance").start(clients, ss_id("ss-off"), {}, permit=permit(registry.get("replace-failed-instance"), ss_id("ss-off")))
    assert all_writes(sim) == []


@pytest.mark.parametrize(
    "token",
    [
        "not json",
        json.dumps({"v": 99, "action": "redeploy"}),
        json.dumps({"v": 1, "action": "restart", "step": "x", "lro": "e30="}),
        json.dumps({"v": 1, "action": "redeploy", "step": "redeploy"}),
        json.dumps({"v": 1, "action": "redeploy", "step": "redeploy", "lro": "bm90IGEgdG9rZW4="}),
    ],
)
def test_unreadable_tokens(clients, token):
    from datetime import datetime

    op = Operation("redeploy", vm_id("vm-degraded"), token, datetime.now(UTC))
    with pytest.raises(InvalidOperationTokenError):
        registry.get("redeploy").poll(clients, op)
