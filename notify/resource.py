"""Reading an ARM resource id into the parts a person recognises."""

from __future__ import annotations

from dataclasses import dataclass

PORTAL = "https://portal.azure.com/#@/resource"


@dataclass(frozen=True)
class ResourceRef:
    resource_id: str
    subscription: str | None
    resource_group: str | None
    kind: str  # "virtual machine", "scale set", "scale-set instance", "subscription", or the ARM type
    name: str  # the VM / scale set name; "scaleset / instance 3" for a scale-set VM

    @property
    def portal_url(self) -> str:
        return f"{PORTAL}{self.resource_id}"


_KINDS = {
    "microsoft.compute/virtualmachines": "virtual machine",
    "microsoft.compute/virtualmachinescalesets": "scale set",
    "microsoft.compute/virtualmachinescalesets/virtualmachines": "scale-set instance",
}


def parse_resource(resource_id: str) -> ResourceRef:
    """Split an ARM id; anything unusual is kept whole rather than rejected (a notice must render)."""
    rid = "/" + resource_id.strip().strip("/")
    parts = rid.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    sub = parts[1] if len(parts) > 1 and lowered[0] == "subscriptions" else None
    group = parts[3] if len(parts) > 3 and lowered[2] == "resourcegroups" else None
    if "providers" not in lowered:
        if sub and group is None:
            return ResourceRef(rid, sub, None, "subscription", sub)
        if sub and group:
            return ResourceRef(rid, sub, group, "resource group", group)
        return ResourceRef(rid, sub, group, "resource", parts[-1] if parts else rid)
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    tail = parts[at + 1 :]
    if not tail:
        return ResourceRef(rid, sub, group, "resource", parts[-1])
    namespace, pairs = tail[0], tail[1:]
    types = pairs[0::2]
    names = pairs[1::2]
    arm_type = "/".join([namespace] + types).lower()
    kind = _KINDS.get(arm_type, arm_type or "resource")
    if arm_type.endswith("virtualmachinescalesets/virtualmachines") and len(names) >= 2:
        name = f"{names[0]} / instance {names[1]}"
    else:
        name = names[-1] if names else parts[-1]
    return ResourceRef(rid, sub, group, kind, name)


def scale_set_id(resource_id: str) -> str | None:
    """The scale set's ARM id for a scale set or one of its instances; None for anything else."""
    parts = resource_id.strip().strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "virtualmachinescalesets" not in lowered:
        return None
    at = lowered.index("virtualmachinescalesets")
    return "/" + "/".join(parts[: at + 2]) if len(parts) > at + 1 else None
