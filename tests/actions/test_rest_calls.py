"""For every action: the exact REST calls verify, start and poll send, and no others."""

from __future__ import annotations

import pytest
from actions_testbed import COMPUTE_API, HEALTH_API, calls, is_poll, permit, ss_id, ssvm_id, vm_id

from actions import registry

HEALTH = "/providers/Microsoft.ResourceHealth/availabilityStatuses/current"


def machine_reads(rid: str) -> list[tuple]:
    return [("GET", f"{rid}/instanceView", COMPUTE_API, None), ("GET", rid + HEALTH, HEALTH_API, None)]


CASES = [
    # action, resource, params, verify calls, start calls
    *[
        (action, rid, {}, machine_reads(rid), [("POST", f"{rid}/{verb}", COMPUTE_API, None)])
        for action, verb in (("redeploy", "redeploy"), ("restart", "restart"), ("reimage", "reimage"))
        for rid in (vm_id("vm-degraded"), ssvm_id("ss-web", 1))
    ],
    ("perform-maintenance", vm_id("vm-maint"), {},
     [("GET", f"{vm_id('vm-maint')}/instanceView", COMPUTE_API, None),
      # its auto-shutdown schedule (none: 404), then its model (the availability set)
      ("GET", vm_id("vm-maint").split("/providers/")[0] + "/providers/Microsoft.DevTestLab/schedules/shutdown-computevm-vm-maint",
       "2018-09-15", None),
      ("GET", vm_id("vm-maint"), COMPUTE_API, None)],
     [("POST", f"{vm_id('vm-maint')}/performMaintenance", COMPUTE_API, None)]),
    ("perform-maintenance", ssvm_id("ss-web", 2), {},
     [("GET", f"{ssvm_id('ss-web', 2)}/instanceView", COMPUTE_API, None)],
     [("POST", f"{ssvm_id('ss-web', 2)}/performMaintenance", COMPUTE_API, None)]),
    ("resume-automatic-repairs", ss_id("ss-web"), {},
     [("GET", f"{ss_id('ss-web')}/instanceView", COMPUTE_API, None),
      ("GET", f"{ss_id('ss-web')}/virtualMachines?$expand=instanceView", COMPUTE_API, None)],
     [("POST", f"{ss_id('ss-web')}/setOrchestrationServiceState", COMPUTE_API,
       {"serviceName": "AutomaticRepairs", "action": "Resume"})]),
    ("enable-automatic-repairs", ss_id("ss-off"), {},
     [("GET", ss_id("ss-off"), COMPUTE_API, None),
      ("GET", f"{ss_id('ss-off')}/virtualMachines?$expand=instanceView", COMPUTE_API, None)],
     [("PATCH", ss_id("ss-off"), COMPUTE_API,
       {"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"}}})]),
    ("enable-automatic-repairs", ss_id("ss-off"), {"grace_period": "PT45M"},
     [("GET", ss_id("ss-off"), COMPUTE_API, None),
      ("GET", f"{ss_id('ss-off')}/virtualMachines?$expand=instanceView", COMPUTE_API, None)],
     [("PATCH", ss_id("ss-off"), COMPUTE_API,
       {"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT45M"}}})]),
    ("replace-failed-instance", ss_id("ss-api"), {},
     [("GET", ss_id("ss-api"), COMPUTE_API, None), ("GET", f"{ss_id('ss-api')}/virtualMachines", COMPUTE_API, None)],
     [("GET", ss_id("ss-api"), COMPUTE_API, None), ("GET", f"{ss_id('ss-api')}/virtualMachines", COMPUTE_API, None),
      ("POST", f"{ss_id('ss-api')}/delete", COMPUTE_API, {"instanceIds": ["2"]})]),
]  # fmt: skip


@pytest.mark.parametrize("action, rid, params, verify_calls, start_calls", CASES,
                         ids=[f"{c[0]}:{c[1].rsplit('/', 3)[-3:]}" for c in CASES])  # fmt: skip
def test_exact_calls(sim, clients, action, rid, params, verify_calls, start_calls):
    executor = registry.get(action)

    verdict = executor.verify(clients, rid, params)
    assert verdict.holds, verdict.reason
    assert calls(sim) == verify_calls

    mark = len(sim.requests)
    op = executor.start(clients, rid, params, permit=permit(executor, rid))
    assert isinstance(op.token, str) and op.action == action
    assert calls(sim, mark) == start_calls

    mark = len(sim.requests)
    status = executor.poll(clients, op)
    polled = calls(sim, mark)
    if action == "replace-failed-instance":
        assert status.wants_write and status.operation is None  # step 2 is a write of its own
        assert polled[0][0] == "GET" and is_poll(polled[0])
        assert polled[1:] == [("GET", rid, COMPUTE_API, None)]
        mark = len(sim.requests)
        status = executor.proceed(clients, op, permit=permit(executor, rid))
        assert status.state == "InProgress" and status.operation is not None  # moved on to step 2
        assert calls(sim, mark) == [("GET", rid, COMPUTE_API, None),
                                    ("PATCH", rid, COMPUTE_API, {"sku": {"capacity": 4}})]  # fmt: skip
        mark = len(sim.requests)
        status = executor.poll(clients, status.operation)
        polled = calls(sim, mark)
    assert status.state == "Succeeded", status.message
    assert len(polled) == 1 and is_poll(polled[0]), polled
    assert polled[0][2] == COMPUTE_API
