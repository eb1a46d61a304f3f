"""Azure's instance-view status codes, read in one place.

Azure writes a machine's statuses as `<Kind>/<state>[/<errorCode>]`:
`ProvisioningState/succeeded`, `ProvisioningState/failed/OSProvisioningTimedOut`,
`ProvisioningState/updating`, `PowerState/running`, `HealthState/unhealthy` (Application Health
extension). A failed state that carries an error code is failed, not an operation in progress:
only creating, updating, deleting and migrating (and the power transitions) are busy.

Verification, polling, crash recovery and the sweep all read statuses through `status_code` and
`find_status`, so they cannot disagree on what a string means. Pure: no SDK, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PROVISIONING = "provisioningstate"
POWER = "powerstate"
HEALTH = "healthstate"

# Provisioning states in which an operation is running on the resource (Azure's states-billing
# page: Creating, Updating, Deleting, Migrating; the rest are settled).
BUSY_PROVISIONING = frozenset({"creating", "updating", "deleting", "migrating"})
# Power states on the way from one state to another.
MOVING_POWER = frozenset({"starting", "stopping", "deallocating"})


@dataclass(frozen=True)
class StatusCode:
    """One status code split into its parts; `kind` and `state` lower-cased, `error` as written."""

    kind: str  # provisioningstate | powerstate | healthstate | ...
    state: str  # succeeded, failed, updating, running, deallocated, healthy, ...
    error: str | None = None  # the error code after a failed state, e.g. OSProvisioningTimedOut

    @property
    def failed(self) -> bool:
        return self.kind == PROVISIONING and self.state == "failed"

    @property
    def busy(self) -> bool:
        """An operation is under way: a transitional provisioning state or a moving power state."""
        if self.kind == PROVISIONING:
            return self.state in BUSY_PROVISIONING
        if self.kind == POWER:
            return self.state in MOVING_POWER
        return False

    def __str__(self) -> str:
        return self.state if self.error is None else f"{self.state} ({self.error})"


def status_code(code: Any) -> StatusCode | None:
    """`ProvisioningState/failed/InternalOperationError` -> StatusCode(provisioningstate, failed,
    InternalOperationError); None for an empty code or one without a state."""
    text = str(code or "").strip()
    kind, sep, rest = text.partition("/")
    if not sep or not kind or not rest:
        return None
    state, _, error = rest.partition("/")
    if not state:
        return None
    return StatusCode(kind.lower(), state.lower(), error or None)


def field(item: Any, name: str) -> Any:
    """A status' field, from the wire JSON (`code`, `time`) or from an SDK model (same names)."""
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)


def find_status(statuses: Iterable[Any] | None, kind: str) -> tuple[StatusCode | None, datetime | str | None]:
    """The first status of `kind` (e.g. PROVISIONING) in an instance view's statuses, and its time.

    Takes the wire JSON's dicts or the SDK's InstanceViewStatus models alike.
    """
    wanted = kind.lower()
    for item in statuses or []:
        parsed = status_code(field(item, "code"))
        if parsed is not None and parsed.kind == wanted:
            return parsed, field(item, "time")
    return None, None


def provisioning_busy(state: str | None) -> bool:
    """ARM's model-level provisioningState ("Updating", "Succeeded", "Failed"...) is busy."""
    return (state or "").strip().lower() in BUSY_PROVISIONING
