"""Scale sets in Flexible orchestration: their machines are plain VMs that name their set.

What Azure does ("Orchestration modes API comparison"): a Flexible set has no scale-set instance
view, no scale-set VM list and no scale-set-wide machine operations (the alternative is the
single-VM API on each machine); its VMs carry `properties.virtualMachineScaleSet.id`, are listed
by the VM list (filterable with `$filter=virtualMachineScaleSet/id eq '<id>'`) and deleted in a
batch by the set's `delete` with the VMs' names as `instanceIds`. Its machines are named
`<set>_<8 hex characters>`.

In a fleet file a Flexible set is `{"orchestrationMode": "Flexible", "capacity": n,
"instances": [<VM fields>, ...]}`: the instances listed are VMs (any VM field, `name` optional),
and the rest up to the capacity are healthy VMs.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .effects import ArmError
from .resources import ScaleSet, VirtualMachine

FLEXIBLE = "Flexible"
UNIFORM = "Uniform"
ORCHESTRATION_MODES = (UNIFORM, FLEXIBLE)
_FILTER = re.compile(r"^\s*'?virtualMachineScaleSet/id'?\s+eq\s+'?(?P<id>[^']+?)'?\s*$", re.IGNORECASE)


def is_flexible(ss: ScaleSet) -> bool:
    return ss.orchestration_mode == FLEXIBLE


def machine_name(ss: ScaleSet, n: int) -> str:
    """`<set>_<8 hex>`, the same for the same set and number (fleets load the same every time)."""
    return f"{ss.name}_{hashlib.sha256(f'{ss.id.lower()}#{n}'.encode()).hexdigest()[:8]}"


def member_specs(ss: ScaleSet, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The VM fleet-file specs of a Flexible set's machines: those listed, then fresh ones."""
    listed = [dict(s) for s in spec.get("instances") or []]
    for s in listed:
        s.pop("instanceId", None)  # a Flexible machine is known by its VM name
    out, n = [], 0
    for s in listed:
        while "name" not in s and any(o.get("name") == machine_name(ss, n) for o in listed):
            n += 1
        s.setdefault("name", machine_name(ss, n))
        n += 1
        out.append(s)
    while len(out) < ss.capacity:
        out.append({"name": machine_name(ss, n)})
        n += 1
    # Flexible sets that use automatic repairs run the Application Health extension on their VMs.
    base = {"subscriptionId": ss.subscription_id, "resourceGroup": ss.resource_group, "location": ss.location,
            "tags": dict(ss.tags), "zones": list(ss.zones), "healthState": "Healthy"}  # fmt: skip
    if ss.health_probe_broken:
        base["healthState"] = "Unhealthy"
        for s in out:
            s["healthState"] = "Unhealthy"
    return [{**base, **s} for s in out]


def members(fleet: Any, ss: ScaleSet) -> list[VirtualMachine]:
    wanted = ss.id.lower()
    return [vm for vm in fleet.vms_in(ss.subscription_id) if (vm.scale_set_id or "").lower() == wanted]


def refuse_uniform_only(ss: ScaleSet, what: str) -> None:
    """Azure's answer to a scale-set-wide API a Flexible set does not have."""
    if is_flexible(ss):
        raise ArmError(
            400, "OperationNotAllowed",
            f"{what} is not supported for Virtual Machine Scale Set '{ss.name}' with orchestration mode Flexible; "
            "use the virtual machine APIs on its VMs.",
        )  # fmt: skip


def scale_set_filter(text: str | None) -> str | None:
    """The scale-set id of the VM list's `$filter=virtualMachineScaleSet/id eq '<id>'`, or None."""
    if not text:
        return None
    match = _FILTER.match(text)
    if match is None:
        raise ArmError(400, "InvalidParameter", f"The $filter '{text}' is not supported; the VM list filters only on "
                       "'virtualMachineScaleSet/id' eq '<scale set id>'.")  # fmt: skip
    return match["id"].lower()


def check_member_names(fleet: Any, ss: ScaleSet, body: Any) -> list[VirtualMachine]:
    ids = body.get("instanceIds") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        raise ArmError(400, "InvalidParameter", "Required parameter 'instanceIds' is missing (null).")
    by_name = {vm.name.lower(): vm for vm in members(fleet, ss)}
    unknown = [i for i in ids if str(i).lower() not in by_name]
    if unknown:
        raise ArmError(400, "InvalidParameter", f"The provided instanceId(s) {unknown} are not VMs of Virtual Machine "
                       f"Scale Set '{ss.name}'.")  # fmt: skip
    return [by_name[str(i).lower()] for i in ids]


def delete_members(fleet: Any, ss: ScaleSet, vms: list[VirtualMachine]) -> None:
    for vm in vms:
        fleet.remove_vm(vm)
    ss.capacity = len(members(fleet, ss))


def scale_to(fleet: Any, ss: ScaleSet, capacity: int) -> None:
    """Add healthy VMs, or remove the newest, until the Flexible set has `capacity` machines."""
    current = members(fleet, ss)
    n = 0
    taken = {vm.name.lower() for vm in current}
    while len(current) < capacity:
        while machine_name(ss, n).lower() in taken:
            n += 1
        vm = fleet.add_vm_spec({"name": machine_name(ss, n), "subscriptionId": ss.subscription_id,
                                "resourceGroup": ss.resource_group, "location": ss.location, "tags": dict(ss.tags),
                                "timeCreated": "now", "stateChanged": "now"}, where=f"{ss.name} scale-out")  # fmt: skip
        vm.scale_set_id = ss.id
        taken.add(vm.name.lower())
        current.append(vm)
    for vm in current[capacity:][::-1]:
        fleet.remove_vm(vm)
    ss.capacity = len(members(fleet, ss))
