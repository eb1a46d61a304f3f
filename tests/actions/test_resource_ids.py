"""Parsing ARM ids into ResourceRef: the kinds, case-insensitivity, and refusals."""

from __future__ import annotations

import pytest

from actions.errors import InvalidResourceIdError
from actions.resource_ids import SCALE_SET, SCALE_SET_VM, VM, ResourceRef

S = "/subscriptions/00000000-0000-0000-0000-00000000d3e0/resourceGroups/rg-demo/providers/Microsoft.Compute"


@pytest.mark.parametrize(
    "text, provider_type, name, instance_id, canonical",
    [
        (f"{S}/virtualMachines/vm-1", VM, "vm-1", None, f"{S}/virtualMachines/vm-1"),
        (f"{S}/virtualMachineScaleSets/ss-1", SCALE_SET, "ss-1", None, f"{S}/virtualMachineScaleSets/ss-1"),
        (f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/7", SCALE_SET_VM, "ss-1", "7",
         f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/7"),
        (f"{S}/VIRTUALMACHINES/vm-1".replace("Microsoft.Compute", "MICROSOFT.COMPUTE")
         .replace("resourceGroups", "RESOURCEGROUPS").replace("subscriptions", "Subscriptions"),
         VM, "vm-1", None, f"{S}/virtualMachines/vm-1"),
        (f"{S}/virtualmachinescalesets/ss-1/virtualmachines/0/", SCALE_SET_VM, "ss-1", "0",
         f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/0"),
    ],
)  # fmt: skip
def test_parse(text, provider_type, name, instance_id, canonical):
    ref = ResourceRef.parse(text)
    assert (ref.provider_type, ref.name, ref.instance_id) == (provider_type, name, instance_id)
    assert ref.subscription == "00000000-0000-0000-0000-00000000d3e0"
    assert ref.resource_group.lower() == "rg-demo"
    assert ref.id.lower() == canonical.lower()
    assert ref.same_resource(ResourceRef.parse(canonical))


def test_scale_set_id_of_an_instance():
    ref = ResourceRef.parse(f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/3")
    assert ref.scale_set_id == f"{S}/virtualMachineScaleSets/ss-1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "vm-1",
        f"{S}/disks/d-1",
        f"{S}/virtualMachines",
        f"{S}/virtualMachines/vm-1/extensions/x",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic",
        None,
    ],
)
def test_refuses(text):
    with pytest.raises(InvalidResourceIdError):
        ResourceRef.parse(text)
