"""What the actions act on: a VM, a scale set or a Uniform scale-set VM, named in messages.

The id itself is taken apart by arm/; this says which of its kinds an action may touch and how
a message names them.
"""

from __future__ import annotations

from arm import SCALE_SET, SCALE_SET_VM, VM, ArmIdError, ResourceId

from .errors import InvalidResourceIdError

KIND_NAMES = {VM: "VM", SCALE_SET: "scale set", SCALE_SET_VM: "scale-set VM"}


def target(resource: ResourceId | str) -> ResourceId:
    """The id of a VM, scale set or scale-set VM (parsed once: a parsed id passes through), or
    InvalidResourceIdError."""
    try:
        ref = ResourceId.of(resource)
    except ArmIdError as exc:
        raise InvalidResourceIdError(resource if isinstance(resource, str) else repr(resource), f"{exc.part} {exc.why}") from exc
    if ref.provider_type not in KIND_NAMES:
        raise InvalidResourceIdError(ref.text, "not under Microsoft.Compute" if ref.namespace else "not an ARM resource id")
    return ref


def kind_of(ref: ResourceId) -> str:
    """A word for messages: "VM", "scale set" or "scale-set VM"."""
    return KIND_NAMES[ref.provider_type]
