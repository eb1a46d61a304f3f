"""Row shapes both backends store, written once above them.

An operation is one row on either backend (rules.ports.OperationStore): `OperationRows` builds
its intent and its changes, and each backend stores them (`_store_intent`: an INSERT on SQLite,
an entity and its index rows on Table Storage; `_change_operation`: a conditional UPDATE, or a
replace with the ETag read). Operations, approvals and wave members keep their
`params` and `facts` as JSON text, read back as mappings; stored times are one UTC format, so
they compare as text (in SQL and in Table Storage filters alike).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

# JSON kept in one Table Storage property must stay under its 64 KiB (32K UTF-16 characters).
JSON_LIMIT = 30000
# What an operation, an approval and a wave member keep as JSON objects.
JSON_COLUMNS = ("params", "facts")
# Operation states after which nothing more happens to it: it is finished then.
FINISHED_STATES = ("succeeded", "failed", "canceled", "skipped")
# Free text kept in an operation (its token, its message).
TEXT_LIMIT = 8000


def utc_text(at: datetime) -> str:
    """A stored time: UTC, always with microseconds (`2026-11-20T09:00:00.000000+00:00`)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def json_text(value: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(value or {}), default=str)


def clipped_json(value: Mapping[str, Any] | None) -> str:
    """`json_text`, replaced by an excerpt when it would not fit a Table Storage property."""
    text = json_text(value)
    return text if len(text) <= JSON_LIMIT else json.dumps({"truncated": True, "excerpt": text[:2000]})


def decoded(row: Mapping[str, Any], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A stored row with its JSON read back: `params` and `facts` as mappings, `lists` as lists."""
    found = dict(row)
    for column in JSON_COLUMNS:
        found[column] = json.loads(found.get(column) or "{}")
    for column in lists:
        found[column] = json.loads(found.get(column) or "[]")
    return found


def intent_row(incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
               params: Mapping[str, Any], facts: Mapping[str, Any], at: datetime, state: str) -> dict[str, Any]:
    """An operation as first stored, before the ARM call: no token, no attempt, not finished."""
    return {"incident_id": incident_id, "signal_id": signal_id, "action": action, "resource_id": resource_id, "mode": mode,
            "params": clipped_json(params), "facts": clipped_json(facts), "state": state, "message": "",
            "attempts": 0, "created_at": at, "updated_at": at}


@dataclass(frozen=True, slots=True)
class OperationChange:
    """What update_operation changes: `fields` (state, token, message, facts as stored), the time,
    one more attempt, and whether the operation is finished by it."""

    at: datetime
    fields: dict[str, str]
    attempt: bool
    finished: bool


class OperationRows:
    """rules.ports.OperationStore's record_intent and update_operation over a backend's
    `_store_intent` and `_change_operation` (mixed into the backends' operations)."""

    if TYPE_CHECKING:

        def _store_intent(self, row: Mapping[str, Any]) -> int:
            """Store the intent row (`intent_row`); its id."""

        def _change_operation(self, operation_id: int, change: OperationChange, expect_state: str | None) -> bool:
            """Apply the change, only while the operation is in `expect_state` when given: True if applied."""

    def record_intent(self, incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
                      params: Mapping[str, Any], facts: Mapping[str, Any], at: datetime, state: str = "intent") -> int:
        return self._store_intent(intent_row(incident_id, signal_id, action, resource_id, mode, params, facts, at, state))

    def update_operation(self, operation_id: int, at: datetime, *, state: str | None = None, token: str | None = None,
                         message: str | None = None, facts: Mapping[str, Any] | None = None, attempt: bool = False,
                         expect_state: str | None = None) -> bool:
        """Change an operation; with `expect_state`, only if it is still in that state (a claim)."""
        fields = {name: value[:TEXT_LIMIT] for name, value in (("state", state), ("token", token), ("message", message))
                  if value is not None}
        if facts is not None:
            fields["facts"] = clipped_json(facts)
        change = OperationChange(at, fields, attempt, state in FINISHED_STATES)
        return self._change_operation(operation_id, change, expect_state)
