"""What an action may act on: a VM, a scale set or a scale-set VM, in any casing; anything else
is refused before a call is made."""

from __future__ import annotations

import pytest

from actions.errors import InvalidResourceIdError
from actions.targets import kind_of, target
from arm import SCALE_SET, SCALE_SET_VM, VM, ResourceId

S = "/subscriptions/00000000-0000-0000-0000-00000000d3e0/resourceGroups/rg-demo/providers/Microsoft.Compute"


@pytest.mark.parametrize(
    "text, provider_type, name, instance_id, canonical, kind",
    [
        (f"{S}/virtualMachines/vm-1", VM, "vm-1", None, f"{S}/virtualMachines/vm-1", "VM"),
        (f"{S}/virtualMachineScaleSets/ss-1", SCALE_SET, "ss-1", None, f"{S}/virtualMachineScaleSets/ss-1", "scale set"),
        (f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/7", SCALE_SET_VM, "ss-1", "7",
         f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/7", "scale-set VM"),
        (f"{S}/VIRTUALMACHINES/vm-1".replace("Microsoft.Compute", "MICROSOFT.COMPUTE")
         .replace("resourceGroups", "RESOURCEGROUPS").replace("subscriptions", "Subscriptions"),
         VM, "vm-1", None, f"{S}/virtualMachines/vm-1", "VM"),
        (f"{S}/virtualmachinescalesets/ss-1/virtualmachines/0/", SCALE_SET_VM, "ss-1", "0",
         f"{S}/virtualMachineScaleSets/ss-1/virtualMachines/0", "scale-set VM"),
    ],
)  # fmt: skip
def test_target(text, provider_type, name, instance_id, canonical, kind):
    ref = target(text)
    assert (ref.provider_type, ref.scale_set_name or ref.name, ref.instance_id, kind_of(ref)) == (provider_type, name, instance_id, kind)
    assert ref.subscription == "00000000-0000-0000-0000-00000000d3e0"
    assert ref.resource_group.lower() == "rg-demo"
    assert ref.id.lower() == canonical.lower()
    assert ref == target(canonical)
    assert target(ref) is ref  # parsed once: a parsed id passes through


@pytest.mark.parametrize(
    "text",
    [
        "",
        "vm-1",
        f"{S}/disks/d-1",
        f"{S}/virtualMachines",
        f"{S}/virtualMachines/vm-1/extensions/x",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic",
        "/subscriptions/x/resourceGroups/rg",
        None,
    ],
)
def test_refuses(text):
    with pytest.raises(InvalidResourceIdError):
        target(text)
    if ResourceId.try_parse(text) is not None:
        with pytest.raises(InvalidResourceIdError):
            target(ResourceId.parse(text))
