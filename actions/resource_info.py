"""What the brakes need to know of a resource before acting: its tags (the responder-mode and
owner tags), its region (the storm breaker's scope) and, for a scale set or one of its
machines, the set's id and capacity (its in-flight cap and storm share). One GET of the VM or
set; a VM of a Flexible scale set (its model names the set in `virtualMachineScaleSet.id`) costs
a second GET, of its set's capacity."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .live_state import READ_SCALE_SET
from .lro import azure_errors
from .resource_ids import VM, ResourceRef

READ_VM = "Microsoft.Compute/virtualMachines/read"
# The reads read_resource makes; required_permissions() includes them.
READS = (READ_VM, READ_SCALE_SET)


@dataclass(frozen=True)
class ResourceInfo:
    tags: dict[str, str] = field(default_factory=dict)
    location: str = ""
    capacity: int | None = None  # the scale set's, for a scale set or one of its machines
    # The scale set the resource is or belongs to: a scale set's own id, a Uniform instance's set
    # (from its id), or a Flexible set's VM's set (from the VM model's virtualMachineScaleSet.id).
    # None for a VM in no scale set. The brakes count machines of one set together by it.
    scale_set_id: str | None = None


def read_resource(clients: Any, resource_id: str) -> ResourceInfo:
    ref = ResourceRef.parse(resource_id)
    compute = clients.compute(ref.subscription)
    if ref.provider_type == VM:
        with azure_errors(f"reading {ref.id}", write=False):
            model = compute.virtual_machines.get(ref.resource_group, ref.name)
        member_of = getattr(getattr(model, "virtual_machine_scale_set", None), "id", None)
        info = ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower())
        if not member_of:
            return info
        return replace(info, scale_set_id=ResourceRef.parse(member_of).scale_set_id,
                       capacity=_capacity(compute, ResourceRef.parse(member_of)))
    with azure_errors(f"reading scale set {ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(ref.resource_group, ref.name)
    capacity = int(model.sku.capacity) if model.sku and model.sku.capacity is not None else None
    return ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower(), capacity=capacity,
                        scale_set_id=ref.scale_set_id)


def _capacity(compute: Any, set_ref: ResourceRef) -> int | None:
    with azure_errors(f"reading scale set {set_ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(set_ref.resource_group, set_ref.name)
    return int(model.sku.capacity) if model.sku and model.sku.capacity is not None else None
