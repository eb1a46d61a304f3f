"""ARM ids of the resources the actions touch, parsed once into a small value.

ARM compares ids case-insensitively and events do not keep one casing, so the parse ignores
case; names keep the casing they were given (ARM preserves it in URLs and logs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidResourceIdError

VM = "Microsoft.Compute/virtualMachines"
SCALE_SET = "Microsoft.Compute/virtualMachineScaleSets"
SCALE_SET_VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
KIND_NAMES = {VM: "VM", SCALE_SET: "scale set", SCALE_SET_VM: "scale-set VM"}

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/"
    r"(?:virtualMachines/(?P<vm>[^/]+)"
    r"|virtualMachineScaleSets/(?P<ss>[^/]+)(?:/virtualMachines/(?P<inst>[^/]+))?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResourceRef:
    """One VM, scale set or scale-set VM: where it lives and what it is."""

    subscription: str
    resource_group: str
    provider_type: str  # VM, SCALE_SET or SCALE_SET_VM
    name: str  # the VM's name, or the scale set's name for a scale set and its instances
    instance_id: str | None = None  # only for a scale-set VM

    @classmethod
    def parse(cls, resource_id: str) -> ResourceRef:
        if not isinstance(resource_id, str):
            raise InvalidResourceIdError(repr(resource_id), "not a string")
        text = resource_id.strip().rstrip("/")
        match = _ID.match(text)
        if match is None:
            why = "not under Microsoft.Compute" if "/providers/" in text else "not an ARM resource id"
            raise InvalidResourceIdError(resource_id, why)
        if match["vm"]:
            return cls(match["sub"], match["rg"], VM, match["vm"])
        if match["inst"]:
            return cls(match["sub"], match["rg"], SCALE_SET_VM, match["ss"], match["inst"])
        return cls(match["sub"], match["rg"], SCALE_SET, match["ss"])

    @property
    def kind(self) -> str:
        """A word for messages: "VM", "scale set" or "scale-set VM"."""
        return KIND_NAMES[self.provider_type]

    @property
    def scale_set_id(self) -> str:
        """The id of the scale set itself (for a scale set or one of its instances)."""
        if self.provider_type == VM:
            raise InvalidResourceIdError(self.id, "a single VM has no scale set")
        return f"{self._prefix}/virtualMachineScaleSets/{self.name}"

    @property
    def id(self) -> str:
        """The canonical ARM id (canonical provider casing, names as given)."""
        if self.provider_type == VM:
            return f"{self._prefix}/virtualMachines/{self.name}"
        if self.provider_type == SCALE_SET_VM:
            return f"{self._prefix}/virtualMachineScaleSets/{self.name}/virtualMachines/{self.instance_id}"
        return f"{self._prefix}/virtualMachineScaleSets/{self.name}"

    @property
    def _prefix(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Compute"

    def same_resource(self, other: ResourceRef) -> bool:
        return self.id.lower() == other.id.lower()

    def __str__(self) -> str:
        return self.id
