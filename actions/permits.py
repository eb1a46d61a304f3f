"""Permits: the only way an executor is allowed to write to ARM.

The gate (pipeline/gate.py) checks pause, scope, ownership, the mode in force, the brakes and
the signal's claim at the moment of a write, and only then issues a permit for that one action
on that one resource. An executor's write (`start`, `proceed`) spends the permit first and
refuses without one, so a road to ARM that does not pass the gate cannot write at all, and a
permit cannot be used twice or for another resource.

There is one `PermitOffice` per gate; a permit is honoured only while the office that issued it
still holds it outstanding (issued, not spent, not taken back).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from arm import resource_key

from .errors import UnpermittedWriteError


@dataclass(frozen=True)
class Permit:
    """Leave to make one write: `action` on `resource_id`, for `holder` (incident and action)."""

    action: str
    resource_id: str
    holder: str
    reason: str  # why the gate let it through, for the audit trail
    office: PermitOffice = field(repr=False, compare=False)
    serial: str = field(default_factory=lambda: secrets.token_hex(8))


class PermitOffice:
    """Issues permits and takes each back once. Only the gate holds one."""

    def __init__(self) -> None:
        self._outstanding: dict[str, Permit] = {}
        self._lock = threading.Lock()

    def issue(self, action: str, resource_id: str, holder: str, reason: str) -> Permit:
        permit = Permit(action=action, resource_id=resource_id, holder=holder, reason=reason, office=self)
        with self._lock:
            self._outstanding[permit.serial] = permit
        return permit

    def take_back(self, permit: Permit) -> None:
        """A permit not used (the write was not sent): it can never be spent."""
        with self._lock:
            self._outstanding.pop(permit.serial, None)

    def _spend(self, permit: Permit) -> bool:
        with self._lock:
            return self._outstanding.pop(permit.serial, None) is permit


def spend(permit: object, action: str, resource_id: str) -> None:
    """Spend `permit` for `action` on `resource_id`, or raise UnpermittedWriteError."""
    if not isinstance(permit, Permit):
        raise UnpermittedWriteError(f"{action} of {resource_id}: no permit from the gate; nothing was sent")
    if permit.action != action or resource_key(permit.resource_id) != resource_key(resource_id):
        raise UnpermittedWriteError(f"{action} of {resource_id}: the permit is for {permit.action} of "
                                    f"{permit.resource_id}; nothing was sent")
    if not permit.office._spend(permit):
        raise UnpermittedWriteError(f"{action} of {resource_id}: the permit was not issued by the gate, or was "
                                    "already used; nothing was sent")
