"""The opt-in scale-set write role: who needs it, what it grants, and the skip without it.

Two actions change a scale set itself with a PATCH: enable-automatic-repairs
(`properties.automaticRepairsPolicy`) and replace-failed-instance (`sku.capacity`, after its
delete). Both need `Microsoft.Compute/virtualMachineScaleSets/write`, and Azure checks a
scale-set write against the resources the scale set's model links to (subnet, load-balancer
backend pool, user-assigned identity, gallery image): without those linked actions the PATCH
fails with LinkedAuthorizationFailed. Scale-set write at subscription scope also lets its
holder change any scale set's model (an extension that runs code on every instance), so it
lives in a second role that a deployment turns on (RESPONDER_SCALE_SET_WRITE_ROLE); the
app learns whether it has it from RESPONDER_SCALE_SET_WRITE. Without it the two actions are
skipped with "needs the scale-set write role", logged once per worker and action.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .errors import NotApplicableError

WRITE = "Microsoft.Compute/virtualMachineScaleSets/write"

# The linked actions a scale-set write is checked against when the model references them
# (LinkedAuthorizationFailed names each: subnet join, backend pool join, identity assign,
# gallery image version read). Granted with the write, in the same opt-in role.
LINKED = (
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
)

PERMISSIONS = tuple(sorted({WRITE, *LINKED}))
MISSING = "needs the scale-set write role"
HOW_TO_GRANT = "azd env set RESPONDER_SCALE_SET_WRITE_ROLE true, then azd provision"

log = logging.getLogger(__name__)
_told: set[str] = set()
_told_lock = threading.Lock()


class MissingRoleError(NotApplicableError):
    """The action needs the scale-set write role, which this deployment did not grant."""

    def __init__(self, action: str) -> None:
        ValueError.__init__(self, f"{action} {MISSING} ({HOW_TO_GRANT})")
        self.action = action
        self.kind = "scale set"


def needs_write(permissions: tuple[str, ...] | set[str]) -> bool:
    return WRITE in permissions


def missing_role(action: str, permissions: tuple[str, ...], clients: Any) -> str | None:
    """The reason an action cannot run here, or None: for a caller that checks before the brakes."""
    if needs_write(permissions) and not getattr(clients, "scale_set_write", True):
        return f"{action} {MISSING}"
    return None


def require(action: str, permissions: tuple[str, ...], clients: Any) -> None:
    """Raise MissingRoleError (a `skipped`, "not acting: ...") when the role is not granted.

    The first time per worker and action it is also logged as a warning with the way to grant
    it, so the log says it once rather than on every signal."""
    if missing_role(action, permissions, clients) is None:
        return
    with _told_lock:
        first = action not in _told
        _told.add(action)
    if first:
        log.warning("%s %s: the scale-set write role is not granted to this deployment; %s", action, MISSING, HOW_TO_GRANT)
    raise MissingRoleError(action)
