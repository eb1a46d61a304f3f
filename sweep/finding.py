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

from arm import resource_key, short_name
from rules import Signal

SOURCE = "sweep"


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




def text(value: Any) -> str:
    """A wire value as text: the SDK hands some back as str-based enums, whose str() is their Python name."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))
