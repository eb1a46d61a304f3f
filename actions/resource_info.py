"""What the brakes need to know of a resource before acting: its tags (the responder-mode and
owner tags), its region (the storm breaker's scope) and, for a scale set or one of its
instances, the set's capacity (its in-flight cap and storm share). One GET of the VM or set."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    capacity: int | None = None  # the scale set's, for a scale set or one of its instances
    scale_set_id: str | None = None


def read_resource(clients: Any, resource_id: str) -> ResourceInfo:
    ref = ResourceRef.parse(resource_id)
    compute = clients.compute(ref.subscription)
    if ref.provider_type == VM:
        with azure_errors(f"reading {ref.id}", write=False):
            model = compute.virtual_machines.get(ref.resource_group, ref.name)
        return ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower())
    with azure_errors(f"reading scale set {ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(ref.resource_group, ref.name)
    capacity = int(model.sku.capacity) if model.sku and model.sku.capacity is not None else None
    return ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower(), capacity=capacity,
                        scale_set_id=ref.scale_set_id)
