"""Flexible orchestration in the simulated Azure, as Azure's "Orchestration modes API comparison"
describes it: the set's machines are VMs carrying `virtualMachineScaleSet.id`, listed by the VM
list's `$filter`; no scale-set instance view, VM list, orchestration service state or set-wide
machine operation; the set's batch delete takes its VMs' names."""

from __future__ import annotations

import re

import pytest
from azure.core.exceptions import HttpResponseError

from pipeline.azure import LocalToken

SUB = "00000000-0000-0000-0000-0000000000f1"
RG = "rg-flex"
SET_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/flex"
FLEET = {
    "defaults": {"subscriptionId": SUB, "resourceGroup": RG},
    "vms": [{"name": "vm-alone"}],
    "scaleSets": [{"name": "flex", "orchestrationMode": "Flexible", "capacity": 3,
                   "automaticRepairsPolicy": {"enabled": True},
                   "instances": [{"provisioningState": "Failed", "provisioningError": "OSProvisioningTimedOut"}]}],
}  # fmt: skip


@pytest.fixture
def flex():
    from azure.mgmt.compute import ComputeManagementClient

    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=FLEET) as sim:
        yield sim, ComputeManagementClient(LocalToken(), SUB, base_url=sim.base_url, connection_verify=sim.ca_bundle,
                                           retry_total=0)  # fmt: skip


def members(compute) -> list:
    return list(compute.virtual_machines.list(RG, filter=f"'virtualMachineScaleSet/id' eq '{SET_ID}'", expand="instanceView"))


def test_the_set_and_its_vms_have_azure_shape(flex):
    _, compute = flex
    ss = compute.virtual_machine_scale_sets.get(RG, "flex")
    assert ss.orchestration_mode == "Flexible" and ss.sku.capacity == 3
    vms = members(compute)
    assert len(vms) == 3
    assert all(re.fullmatch(r"flex_[0-9a-f]{8}", vm.name) for vm in vms)
    assert {vm.virtual_machine_scale_set.id for vm in vms} == {SET_ID}
    failed = [vm for vm in vms if any(s.code == "ProvisioningState/failed/OSProvisioningTimedOut" for s in vm.instance_view.statuses)]
    assert len(failed) == 1
    alone = compute.virtual_machines.get(RG, "vm-alone")
    assert alone.virtual_machine_scale_set is None


@pytest.mark.parametrize("call", [
    lambda c: c.virtual_machine_scale_sets.get_instance_view(RG, "flex"),
    lambda c: list(c.virtual_machine_scale_set_vms.list(RG, "flex")),
    lambda c: c.virtual_machine_scale_sets.begin_set_orchestration_service_state(
        RG, "flex", {"serviceName": "AutomaticRepairs", "action": "Resume"}).result(),
    lambda c: c.virtual_machine_scale_sets.begin_restart(RG, "flex").result(),
])  # fmt: skip
def test_uniform_only_apis_are_refused(flex, call):
    _, compute = flex
    with pytest.raises(HttpResponseError) as caught:
        call(compute)
    assert caught.value.status_code == 400 and "Flexible" in str(caught.value)


def test_expand_instance_view_needs_the_filter(flex):
    _, compute = flex
    with pytest.raises(HttpResponseError):
        list(compute.virtual_machines.list(RG, expand="instanceView"))


def test_batch_delete_takes_vm_names_and_scale_out_adds_vms(flex):
    sim, compute = flex
    doomed = members(compute)[0].name
    compute.virtual_machine_scale_sets.begin_delete_instances(RG, "flex", {"instanceIds": [doomed]}).result()
    assert doomed not in {vm.name for vm in members(compute)}
    assert compute.virtual_machine_scale_sets.get(RG, "flex").sku.capacity == 2
    compute.virtual_machine_scale_sets.begin_update(RG, "flex", {"sku": {"capacity": 4}}).result()
    assert len(members(compute)) == 4
