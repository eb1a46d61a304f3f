"""Scale sets in Flexible orchestration, remediated through the single-VM APIs Azure offers for
them ("Orchestration modes API comparison"): their machines are VMs that name their set in
`virtualMachineScaleSet.id`; the set has no instance view, no scale-set VM list and no
orchestration service state; its batch delete takes the VMs' names."""

from __future__ import annotations

import pytest
from actions_testbed import RG, SUB, judged, permit, ss_id, vm_id

from actions import registry
from actions.resource_info import read_resource

FAILED = "flex_0000dead"
DEGRADED = "flex_0000beef"


@pytest.fixture
def fleet_doc():
    return {
        "defaults": {"subscriptionId": SUB, "resourceGroup": RG, "location": "westeurope"},
        "vms": [{"name": "vm-alone"}],
        "scaleSets": [
            {"name": "flex", "orchestrationMode": "Flexible", "capacity": 4,
             "instances": [{"name": FAILED, "provisioningState": "Failed", "provisioningError": "OSProvisioningTimedOut"},
                           {"name": DEGRADED, "availabilityState": "Degraded",
                            "annotation": "VirtualMachinePossiblyDegradedDueToHardwareFailure"}]},
            {"name": "flex-suspended", "orchestrationMode": "Flexible", "capacity": 2,
             "automaticRepairsPolicy": {"enabled": True}, "orchestrationServiceState": "Suspended"},
        ],
    }  # fmt: skip


def test_a_flexible_vm_knows_its_scale_set_for_the_brakes(sim, clients):
    info = read_resource(clients, vm_id(DEGRADED))
    assert info.scale_set_id == ss_id("flex")
    assert info.capacity == 4
    alone = read_resource(clients, vm_id("vm-alone"))
    assert alone.scale_set_id is None and alone.capacity is None


def test_a_flexible_vm_is_redeployed_as_a_vm(sim, clients):
    executor = registry.get("redeploy")
    assert judged(executor, clients, vm_id(DEGRADED), {})[0]
    executor.start(clients, vm_id(DEGRADED), {}, permit=permit(executor, vm_id(DEGRADED)))
    posts = [r.path for r in sim.requests if r.method == "POST"]
    assert posts == [f"{vm_id(DEGRADED)}/redeploy"]


def test_failed_vms_of_a_flexible_set_are_replaced_by_name(sim, clients):
    executor = registry.get("replace-failed-instance")
    verdict = executor.verify(clients, ss_id("flex"), {})
    assert verdict.holds, verdict.reason
    assert verdict.facts["failed_instance_ids"] == [FAILED]
    op = executor.start(clients, ss_id("flex"), {}, permit=permit(executor, ss_id("flex")))
    while True:
        status = executor.poll(clients, op)
        if status.wants_write:
            status = executor.proceed(clients, op, permit=permit(executor, ss_id("flex")))
        if status.operation is None:
            break
        op = status.operation
    assert status.state == "Succeeded", status.message
    names = {vm.name for vm in sim.fleet.vms}
    assert FAILED not in names
    assert sim.fleet.scale_set("flex").capacity == 4  # the capacity is back
    deletes = [r.body for r in sim.requests if r.method == "POST" and r.path.endswith("/delete")]
    assert deletes == [{"instanceIds": [FAILED]}]


def test_repairs_can_be_enabled_on_a_flexible_set(sim, clients):
    verdict = registry.get("enable-automatic-repairs").verify(clients, ss_id("flex"), {})
    assert verdict.holds, verdict.reason
    assert verdict.facts["instances"] == 4


def test_resume_on_a_flexible_set_is_refused_with_the_reason(sim, clients):
    verdict = registry.get("resume-automatic-repairs").verify(clients, ss_id("flex-suspended"), {})
    assert not verdict.holds
    assert "Flexible" in verdict.reason and "Uniform" in verdict.reason
