"""Incidents and their one action in the Table Storage ledger (mixed into TableLedger).

The open incident of an incident key is one pointer entity (`OpenIncidents`), moved only with the
ETag that was read; the incident itself is one entity in its own partition (`Incidents`), beside
the `action-hold` entity whose insert holds the incident's one action. Why and how: docs/ledger.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from rules.ports import IncidentRef

from . import table_keys as keys
from .backend_state import TableState
from .errors import LedgerContentionError
from .table_keys import clip
from .table_service import ATTEMPTS, backoff, sdk_errors

INCIDENT_FIELDS = ("id", "key", "resource_id", "opened_at", "last_signal_at", "closed_at", "close_reason")
TTL_REASON = "quiet for longer than the incident time-to-live"


class TableIncidents(TableState):
    """Uses TableLedger's tables and its conditional-write helpers (`_get`, `_insert`, `_replace_if_unchanged`)."""

    # -- incidents -----------------------------------------------------------------------------

    def open_incident(self, key: str, resource_id: str, at: datetime, ttl: timedelta) -> IncidentRef:
        pointers, partition = self._table("open"), keys.hashed(key)
        with sdk_errors("opening an incident"):
            for attempt in range(ATTEMPTS):
                pointer = self._get(pointers, partition, keys.POINTER_ROW)
                current = pointer.get("incident_id") if pointer else ""
                if pointer is not None and current:
                    last = keys.parse_stamp(pointer["last_signal_at"])
                    if last + ttl >= at:
                        extended = {**pointer, "last_signal_at": keys.stamp(at)}
                        if at > last and not self._replace_if_unchanged(pointers, extended, pointer):
                            backoff(attempt)
                            continue
                        return IncidentRef(current, key, pointer["resource_id"], keys.parse_stamp(pointer["opened_at"]), False)
                incident = self._new_incident(key, resource_id, at)
                moved = {
                    "PartitionKey": partition, "RowKey": keys.POINTER_ROW, "key": clip(key, 4000),
                    "incident_id": incident.id, "resource_id": resource_id,
                    "opened_at": keys.stamp(at), "last_signal_at": keys.stamp(at),
                }
                won = self._insert(pointers, moved) if pointer is None else self._replace_if_unchanged(pointers, moved, pointer)
                if not won:
                    # Another worker opened (or extended) one first: ours was never seen, remove it.
                    self._table("incidents").delete_entity(keys.incident_partition(incident.id), keys.INCIDENT_ROW)
                    backoff(attempt)
                    continue
                if current:
                    self.close_incident(current, at, TTL_REASON)
                return incident
        raise LedgerContentionError(f"opening the incident for {key}: lost {ATTEMPTS} conditional writes in a row")

    def _new_incident(self, key: str, resource_id: str, at: datetime) -> IncidentRef:
        while True:
            incident_id = "INC-" + uuid.uuid4().hex[:10]
            entity = {
                "PartitionKey": keys.incident_partition(incident_id), "RowKey": keys.INCIDENT_ROW, "id": incident_id,
                "key": clip(key, 4000),
                "resource_id": resource_id, "opened_at": keys.stamp(at), "last_signal_at": keys.stamp(at),
            }
            if self._insert(self._table("incidents"), entity):
                return IncidentRef(incident_id, key, resource_id, at, True)

    def close_incident(self, incident_id: str, at: datetime, reason: str) -> None:
        incidents = self._table("incidents")
        with sdk_errors("closing an incident"):
            for attempt in range(ATTEMPTS):
                entity = self._get(incidents, keys.incident_partition(incident_id), keys.INCIDENT_ROW)
                if entity is None:
                    return
                if entity.get("closed_at"):
                    break  # closed already: the first close keeps its time and reason
                closed = {**entity, "closed_at": keys.stamp(at), "close_reason": clip(reason)}
                if self._replace_if_unchanged(incidents, closed, entity):
                    break
                backoff(attempt)
            else:
                raise LedgerContentionError(f"closing {incident_id}: lost {ATTEMPTS} conditional writes in a row")
            self._clear_pointer(entity["key"], incident_id)

    def _clear_pointer(self, key: str, incident_id: str) -> None:
        """The next signal for this key opens a new incident; unless the pointer has moved on already."""
        pointers, partition = self._table("open"), keys.hashed(key)
        for attempt in range(ATTEMPTS):
            pointer = self._get(pointers, partition, keys.POINTER_ROW)
            if pointer is None or pointer.get("incident_id") != incident_id:
                return
            if self._replace_if_unchanged(pointers, {**pointer, "incident_id": ""}, pointer):
                return
            backoff(attempt)
        raise LedgerContentionError(f"closing {incident_id}: lost {ATTEMPTS} conditional writes in a row")

    def incident(self, incident_id: str) -> Mapping[str, Any] | None:
        with sdk_errors("reading an incident"):
            entity = self._get(self._table("incidents"), keys.incident_partition(incident_id), keys.INCIDENT_ROW)
            if entity is None:
                return None
            row = {name: entity.get(name) for name in INCIDENT_FIELDS}
            if not row["closed_at"]:
                # While it is open, the pointer holds the latest signal time (written with its ETag).
                pointer = self._get(self._table("open"), keys.hashed(entity["key"]), keys.POINTER_ROW)
                if pointer is not None and pointer.get("incident_id") == incident_id:
                    row["last_signal_at"] = pointer["last_signal_at"]
            return row

    # -- the one action per incident -----------------------------------------------------------

    def hold_action(self, incident_id: str, action: str, decision_ref: str, at: datetime, status: str = "held") -> Mapping[str, Any] | None:
        entity = {
            "PartitionKey": keys.incident_partition(incident_id), "RowKey": keys.HOLD_ROW, "action": action, "status": status,
            "decision_ref": clip(str(decision_ref), 4000), "at": keys.stamp(at),
        }
        holds = self._table("incidents")
        with sdk_errors("holding an incident's action"):
            for attempt in range(ATTEMPTS):
                if self._insert(holds, entity):
                    return None
                holder = self._get(holds, keys.incident_partition(incident_id), keys.HOLD_ROW)
                if holder is not None:  # else released between our insert and read: try again
                    return {name: holder.get(name) for name in ("action", "status", "decision_ref", "at")}
                backoff(attempt)
        raise LedgerContentionError(f"holding the action of {incident_id}: lost {ATTEMPTS} conditional writes in a row")

    def update_hold(self, incident_id: str, status: str) -> None:
        with sdk_errors("updating an incident's action hold"):
            try:
                self._table("incidents").update_entity(
                    {"PartitionKey": keys.incident_partition(incident_id), "RowKey": keys.HOLD_ROW, "status": status},
                    mode=self._merge,
                )
            except self._missing:
                pass  # nothing held: nothing to update (same as the SQLite ledger)

    def release_action(self, incident_id: str) -> None:
        with sdk_errors("releasing an incident's action"):
            self._table("incidents").delete_entity(keys.incident_partition(incident_id), keys.HOLD_ROW)
