"""One finding of the sweep as a `rules.Signal`, with the delivery key that makes it a duplicate.

The key names the condition and the mark of its occurrence (a window's start, the time the
repairs service changed state, the failed instance ids, the day): while the condition stays
the same every sweep makes the same key, so the ledger records the next sweep as a duplicate
instead of a new decision; a new occurrence makes a new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules import Signal, resource_key

SOURCE = "sweep"

VM = "Microsoft.Compute/virtualMachines"
SCALE_SET = "Microsoft.Compute/virtualMachineScaleSets"
SCALE_SET_VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def day(at: datetime) -> str:
    return at.date().isoformat()


def finding(
    kind: str,
    name: str,
    resource_id: str,
    resource_type: str,
    *,
    mark: str,
    occurred: datetime,
    summary: str,
    details: Mapping[str, Any] | None = None,
    initiator: str = "",
    resolved: bool = False,
) -> Signal:
    key = f"{SOURCE}:{kind}:{name}:{resource_key(resource_id)}:{mark}".lower()
    return Signal(
        source=SOURCE,
        event_id=f"sweep/{name}/{short_name(resource_id)}/{mark}",
        kind=kind,
        name=name,
        resource_id=resource_id,
        occurred=occurred,
        resource_type=resource_type,
        initiator=initiator,
        summary=summary,
        resolved=resolved,
        details=dict(details or {}),
        input="sweep",
        delivery_key=key,
    )


def short_name(resource_id: str) -> str:
    """vm-name, or scale-set/instance for a scale-set VM: enough for an event id a person reads."""
    parts = resource_id.strip("/").split("/")
    if len(parts) >= 4 and parts[-2].lower() == "virtualmachines" and parts[-4].lower() == "virtualmachinescalesets":
        return f"{parts[-3]}/{parts[-1]}"
    return parts[-1] if parts else ""


def text(value: Any) -> str:
    """A wire value as text: the SDK hands some back as str-based enums, whose str() is their Python name."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))
