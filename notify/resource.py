"""An ARM resource as a person reads it in a message: its kind in words, its name, its group,
a link to it in the portal. The id is taken apart by arm/; anything that is no ARM id is shown
whole rather than refused (a notice must render)."""

from __future__ import annotations

from dataclasses import dataclass

from arm import PORTAL, ResourceId, short_name

_KINDS = {
    "microsoft.compute/virtualmachines": "virtual machine",
    "microsoft.compute/virtualmachinescalesets": "scale set",
    "microsoft.compute/virtualmachinescalesets/virtualmachines": "scale-set instance",
}


@dataclass(frozen=True)
class ResourceView:
    resource_id: str
    subscription: str | None
    resource_group: str | None
    kind: str  # "virtual machine", "scale set", "scale-set instance", "subscription", or the ARM type
    name: str  # the VM / scale set name; "scaleset / instance 3" for a scale-set VM

    @property
    def portal_url(self) -> str:
        return f"{PORTAL}{self.resource_id}"


def view_of(resource_id: str) -> ResourceView:
    """How a message names the resource of `resource_id`."""
    rid = ResourceId.try_parse(resource_id)
    if rid is None:
        return ResourceView("/" + resource_id.strip().strip("/"), None, None, "resource", short_name(resource_id))
    if rid.is_subscription:
        return ResourceView(rid.text, rid.subscription, None, "subscription", rid.subscription)
    if rid.is_resource_group:
        return ResourceView(rid.text, rid.subscription, rid.resource_group, "resource group", rid.name)
    arm_type = rid.provider_type.lower()
    name = f"{rid.scale_set_name} / instance {rid.instance_id}" if rid.is_instance else rid.name
    return ResourceView(rid.text, rid.subscription, rid.resource_group, _KINDS.get(arm_type, arm_type), name)
