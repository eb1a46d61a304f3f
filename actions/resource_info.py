"""What the safety checks need to know of a resource before acting: its tags (the responder-mode
and owner tags), its region (the storm breaker's scope), for a scale set or one of its machines
the set's id and capacity (its in-flight cap and storm share), how it is billed (Spot), and who
manages it (its managedBy, its resource group's managedBy and tags, its extensions:
rules/ownership.py). Two GETs: the VM or scale set, and its resource group; a VM of a Flexible
scale set (its model names the set in `virtualMachineScaleSet.id`) costs a third, of its set's
capacity."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from arm import VM, ResourceId
from rules.ownership import Extension, OwnerFacts

from .live_state import READ_SCALE_SET
from .lro import azure_errors
from .targets import target

READ_VM = "Microsoft.Compute/virtualMachines/read"
READ_RESOURCE_GROUP = "Microsoft.Resources/subscriptions/resourceGroups/read"
# The reads read_resource makes; required_permissions() includes them.
READS = (READ_VM, READ_SCALE_SET, READ_RESOURCE_GROUP)
# ResourceGroups_Get: a stable version every ARM cloud serves.
RESOURCE_GROUPS_API = "2021-04-01"


@dataclass(frozen=True)
class ResourceInfo:
    tags: dict[str, str] = field(default_factory=dict)
    location: str = ""
    capacity: int | None = None  # the scale set's, for a scale set or one of its machines
    # The scale set the resource is or belongs to: a scale set's own id, a Uniform instance's set
    # (from its id), or a Flexible set's VM's set (from the VM model's virtualMachineScaleSet.id).
    # None for a VM in no scale set. The brakes count machines of one set together by it.
    scale_set_id: str | None = None
    managed_by: str = ""  # the VM's or scale set's own managedBy
    group_managed_by: str = ""
    group_tags: dict[str, str] = field(default_factory=dict)
    extensions: tuple[Extension, ...] = ()  # the VM's, or those in the scale set's model
    priority: str | None = None  # Regular | Low | Spot (the scale set's profile, for a set or an instance)
    eviction_policy: str | None = None  # Deallocate | Delete, for Spot

    def owner_facts(self, resource_id: ResourceId | str) -> OwnerFacts:
        """What rules.ownership.platform_owner reads, for the resource this info was read for."""
        group = (resource_id.resource_group or "") if isinstance(resource_id, ResourceId) else ""
        return OwnerFacts(resource_id=str(resource_id), resource_group=group, managed_by=self.managed_by, tags=dict(self.tags),
                          group_managed_by=self.group_managed_by, group_tags=dict(self.group_tags),
                          extensions=self.extensions)


def read_resource(clients: Any, resource_id: ResourceId | str) -> ResourceInfo:
    ref = target(resource_id)
    compute = clients.compute(ref.subscription)
    group_managed_by, group_tags = _read_group(compute, ref)
    if ref.provider_type == VM:
        with azure_errors(f"reading {ref.id}", write=False):
            model = compute.virtual_machines.get(ref.resource_group, ref.name)
        props = model.properties
        extensions = tuple(_extension(e.properties) for e in (model.resources or []) if e.properties is not None)
        info = ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower(),
                            managed_by=model.managed_by or "", group_managed_by=group_managed_by, group_tags=group_tags,
                            extensions=extensions, priority=_text(props and props.priority),
                            eviction_policy=_text(props and props.eviction_policy))
        member_of = getattr(getattr(model, "virtual_machine_scale_set", None), "id", None)
        if not member_of:
            return info
        scale_set = target(member_of)
        return replace(info, scale_set_id=scale_set.id, capacity=_capacity(compute, scale_set))
    with azure_errors(f"reading scale set {ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(ref.resource_group, ref.scale_set_name)
    capacity = int(model.sku.capacity) if model.sku and model.sku.capacity is not None else None
    profile = model.properties.virtual_machine_profile if model.properties else None
    ext_profile = profile.extension_profile if profile else None
    extensions = tuple(_extension(e.properties) for e in (ext_profile.extensions or []) if e.properties is not None) if ext_profile else ()
    return ResourceInfo(tags=dict(model.tags or {}), location=(model.location or "").lower(), capacity=capacity,
                        scale_set_id=ref.scale_set_id,
                        managed_by=str(model.get("managedBy") or ""),  # ARM's, though the scale set's model does not declare it
                        group_managed_by=group_managed_by, group_tags=group_tags, extensions=extensions,
                        priority=_text(profile and profile.priority), eviction_policy=_text(profile and profile.eviction_policy))


def _read_group(compute: Any, ref: ResourceId) -> tuple[str, dict[str, str]]:
    """The resource group's managedBy and tags, through the compute client's own pipeline (its
    credential, retries and shared session): azure-mgmt-resource is not needed for one GET."""
    from azure.core.rest import HttpRequest

    request = HttpRequest("GET", f"/subscriptions/{ref.subscription}/resourcegroups/{ref.resource_group}",
                          params={"api-version": RESOURCE_GROUPS_API}, headers={"Accept": "application/json"})
    with azure_errors(f"reading resource group {ref.resource_group}", write=False):
        response = compute.send_request(request)
        response.raise_for_status()
        body = response.json()
    return str(body.get("managedBy") or ""), {str(k): str(v) for k, v in (body.get("tags") or {}).items()}


def _extension(props: Any) -> Extension:
    return Extension(publisher=str(props.publisher or ""), type=str(props.type or ""))


def _text(value: Any) -> str | None:
    """An SDK enum or string as its plain value ('Spot'), None when absent."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _capacity(compute: Any, set_ref: ResourceId) -> int | None:
    with azure_errors(f"reading scale set {set_ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(set_ref.resource_group, set_ref.scale_set_name)
    return int(model.sku.capacity) if model.sku and model.sku.capacity is not None else None
