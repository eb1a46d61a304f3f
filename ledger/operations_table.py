"""Remediation operations in the Table Storage ledger (rules.ports.OperationStore).

One partition per operation (PartitionKey = the zero-padded id), so reading and updating one is a
point operation, and an update is a replace with the ETag that was read: `expect_state` is then a
real claim across workers (the tick on two instances cannot both move an operation on). Listing
open operations scans the table, which stays small: only actions taken are in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import table_keys as keys
from .errors import LedgerContentionError
from .table_service import ATTEMPTS, backoff, sdk_errors

OPEN_STATES = ("verifying", "intent", "running")
FINISHED_STATES = ("succeeded", "failed", "canceled", "skipped")
OPERATION_FIELDS = (
    "id", "incident_id", "signal_id", "action", "resource_id", "mode", "params", "facts", "state", "token",
    "message", "attempts", "created_at", "updated_at", "finished_at",
)
SIGNAL_ROW_FIELDS = (
    "id", "delivery_key", "incident_id", "source", "event_id", "kind", "name", "resource_key", "resource_id",
    "occurred", "received", "input", "summary", "facts",
)
# JSON kept in one property must stay under its 64 KiB (32K UTF-16 characters).
JSON_LIMIT = 30000


def _json(value: Mapping[str, Any]) -> str:
    text = json.dumps(dict(value), default=str)
    if len(text) > JSON_LIMIT:
        text = json.dumps({"truncated": True, "excerpt": text[:2000]})
    return text


def _operation_row(entity: Mapping[str, Any]) -> dict[str, Any]:
    row = {name: entity.get(name) for name in OPERATION_FIELDS}
    row["id"] = int(entity["id"])
    row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
    row["params"] = json.loads(entity.get("params") or "{}")
    row["facts"] = json.loads(entity.get("facts") or "{}")
    row["token"] = entity.get("token") or None
    row["message"] = entity.get("message") or ""
    row["attempts"] = int(entity.get("attempts") or 0)
    row["finished_at"] = entity.get("finished_at") or None
    return row


class TableOperations:
    """Mixed into TableLedger: uses its tables, ids and conditional-write helpers."""

    def record_intent(
        self,
        incident_id: str,
        signal_id: int | None,
        action: str,
        resource_id: str,
        mode: str,
        params: Mapping[str, Any],
        facts: Mapping[str, Any],
        at: datetime,
        state: str = "intent",
    ) -> int:
        operations = self._table("operations")
        with sdk_errors("recording an operation"):
            while True:
                operation_id = self._ids.next()
                entity = {
                    "PartitionKey": keys.id_key(operation_id), "RowKey": "", "id": keys.id_key(operation_id),
                    "incident_id": incident_id, "signal_id": keys.id_key(signal_id) if signal_id is not None else "",
                    "action": action, "resource_id": resource_id, "mode": mode, "params": _json(params),
                    # lower-cased for the brakes' counts by resource and by prefix (safety_table.py)
                    "resource_key": resource_id.strip().lower(),
                    "facts": _json(facts), "state": state, "message": "", "attempts": 0,
                    "created_at": keys.stamp(at), "updated_at": keys.stamp(at),
                }
                if self._insert(operations, entity):
                    return operation_id

    def update_operation(
        self,
        operation_id: int,
        at: datetime,
        *,
        state: str | None = None,
        token: str | None = None,
        message: str | None = None,
        facts: Mapping[str, Any] | None = None,
        attempt: bool = False,
        expect_state: str | None = None,
    ) -> bool:
        """Change an operation; with `expect_state`, only if it is still in that state (a claim)."""
        operations, partition = self._table("operations"), keys.id_key(operation_id)
        with sdk_errors("updating an operation"):
            for attempt_number in range(ATTEMPTS):
                entity = self._get(operations, partition, "")
                if entity is None or (expect_state is not None and entity.get("state") != expect_state):
                    return False
                changed = {**entity, "updated_at": keys.stamp(at)}
                for name, value in (("state", state), ("token", token), ("message", message)):
                    if value is not None:
                        changed[name] = value[:8000]
                if facts is not None:
                    changed["facts"] = _json(facts)
                if attempt:
                    changed["attempts"] = int(entity.get("attempts") or 0) + 1
                if state in FINISHED_STATES:
                    changed["finished_at"] = keys.stamp(at)
                if self._replace_if_unchanged(operations, changed, entity):
                    return True
                backoff(attempt_number)
        raise LedgerContentionError(f"updating operation {operation_id}: lost {ATTEMPTS} conditional writes in a row")

    def operation(self, operation_id: int) -> Mapping[str, Any] | None:
        with sdk_errors("reading an operation"):
            entity = self._get(self._table("operations"), keys.id_key(operation_id), "")
        return _operation_row(entity) if entity is not None else None

    def open_operations(self) -> list[Mapping[str, Any]]:
        query = " or ".join(f"state eq '{state}'" for state in OPEN_STATES)
        with sdk_errors("listing open operations"):
            entities = list(self._table("operations").query_entities(query))
        return [_operation_row(e) for e in sorted(entities, key=lambda e: e["PartitionKey"])]

    def operations(self, incident_id: str | None = None) -> list[Mapping[str, Any]]:
        table = self._table("operations")
        with sdk_errors("listing operations"):
            if incident_id is None:
                entities = list(table.list_entities())
            else:
                entities = list(table.query_entities("incident_id eq @incident", parameters={"incident": incident_id}))
        return [_operation_row(e) for e in sorted(entities, key=lambda e: e["PartitionKey"])]

    def signal(self, signal_id: int) -> Mapping[str, Any] | None:
        """A recorded signal by id: one query across the resource partitions (the tick's follow-ups)."""
        with sdk_errors("reading a signal"):
            found = list(self._table("signals").query_entities("id eq @id", parameters={"id": keys.id_key(signal_id)}))
        if not found:
            return None
        row = {name: found[0].get(name) for name in SIGNAL_ROW_FIELDS}
        row["id"] = signal_id
        row["incident_id"] = row["incident_id"] or None
        return row
