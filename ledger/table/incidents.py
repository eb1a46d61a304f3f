"""Incidents and their one action in the Table Storage ledger (mixed into TableLedger).

The open incident of an incident key is one pointer entity (`OpenIncidents`), moved only with the
ETag that was read; the incident itself is one entity in its own partition (`Incidents`), beside
the `action-hold` entity whose insert holds the incident's one action. Why and how: docs/ledger.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from rules.ports import IncidentRef
from rules.records import HeldAction, IncidentRow

from ..backend_state import TableState
from ..errors import LedgerContentionError
from . import keys
from .keys import clip
from .service import ATTEMPTS, backoff, sdk_errors

INCIDENT_FIELDS = ("id", "key", "resource_id", "opened_at", "last_signal_at", "closed_at", "close_reason")
TTL_REASON = "quiet for longer than the incident time-to-live"
# RowKey prefixes of an incident and its action hold in its IncidentLog partition.
INCIDENT_ROW = "inc|"
HOLD_ROW = "hold|"


class TableIncidents(TableState):
    """Uses TableLedger's tables, its conditional-write helpers (`_get`, `_insert`,
    `_replace_if_unchanged`, `_transaction`) and its unit of writes (table_unit.py)."""

    # -- incidents -----------------------------------------------------------------------------

    def open_incident(self, key: str, resource_id: str, at: datetime, ttl: timedelta) -> IncidentRef:
        """The pointer, read with the partition (one query); a new incident and the pointer moved to
        it, or the pointer extended, written with the ETag read: inside `atomically()` in the
        decision's transaction (a lost race raises Superseded there), else at once."""
        partition, log = keys.log_partition(key), self._table("log")
        with sdk_errors("opening an incident"):
            for attempt in range(ATTEMPTS):
                unit = self._unit()
                pointer = self._snapshot(partition, at).rows.get(keys.POINTER_ROW)
                current = pointer.get("incident_id") if pointer else ""
                expired = ""
                if pointer is not None and current and keys.parse_stamp(pointer["last_signal_at"]) + ttl >= at:
                    incident = IncidentRef(current, key, pointer["resource_id"], keys.parse_stamp(pointer["opened_at"]), False)
                    last = keys.parse_stamp(pointer["last_signal_at"])
                    operations = [self._move_pointer(partition, pointer, current, pointer["resource_id"], pointer["opened_at"], at)] \
                        if at > last else []
                else:
                    incident_id = keys.new_incident_id(partition)
                    incident = IncidentRef(incident_id, key, resource_id, at, True)
                    operations = [
                        ("create", {"PartitionKey": partition, "RowKey": INCIDENT_ROW + incident_id, "id": incident_id,
                                    "key": clip(key, 4000), "resource_id": resource_id, "opened_at": keys.stamp(at),
                                    "last_signal_at": keys.stamp(at)}),
                        self._move_pointer(partition, pointer, incident_id, resource_id, keys.stamp(at), at, key),
                    ]
                    expired = current
                if unit is not None:
                    for operation in operations:
                        unit.add(partition, operation)
                    if expired:  # after the pointer has moved, never before
                        unit.after.append(partial(self.close_incident, expired, at, TTL_REASON))
                    return incident
                if not operations or self._transaction(log, operations) is None:
                    if expired:
                        self.close_incident(expired, at, TTL_REASON)
                    return incident
                backoff(attempt)  # another worker opened (or extended) one first: read again
        raise LedgerContentionError(f"opening the incident for {key}: lost {ATTEMPTS} conditional writes in a row")

    def _move_pointer(self, partition: str, pointer: Any, incident_id: str, resource_id: str, opened_at: str, at: datetime,
                      key: str = "") -> tuple[Any, ...]:
        entity = {"PartitionKey": partition, "RowKey": keys.POINTER_ROW, "key": clip(key or pointer["key"], 4000),
                  "incident_id": incident_id, "resource_id": resource_id, "opened_at": opened_at,
                  "last_signal_at": keys.stamp(at)}
        if pointer is None:
            return ("create", entity)
        return ("update", entity, {"mode": self._replace, "etag": pointer.metadata["etag"], "match_condition": self._if_unchanged})

    def _where(self, incident_id: str) -> tuple[Any, str, str, str]:
        """(table, partition, incident row, hold row): the IncidentLog for ids that name their
        partition, Incidents for ids of the earlier layout (read and written as they were)."""
        self._flush()  # what this thread's decision holds is stored before it is read or built on
        logged = keys.logged_incident(incident_id)
        if logged:
            return self._table("log"), logged, INCIDENT_ROW + incident_id, HOLD_ROW + incident_id
        return self._table("incidents"), keys.incident_partition(incident_id), keys.INCIDENT_ROW, keys.HOLD_ROW

    def _pointer_of(self, incident_id: str, key: str) -> tuple[Any, str]:
        logged = keys.logged_incident(incident_id)
        return (self._table("log"), logged) if logged else (self._table("open"), keys.hashed(key))

    def close_incident(self, incident_id: str, at: datetime, reason: str) -> None:
        incidents, partition, row, _ = self._where(incident_id)
        with sdk_errors("closing an incident"):
            for attempt in range(ATTEMPTS):
                entity = self._get(incidents, partition, row)
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
        pointers, partition = self._pointer_of(incident_id, key)
        for attempt in range(ATTEMPTS):
            pointer = self._get(pointers, partition, keys.POINTER_ROW)
            if pointer is None or pointer.get("incident_id") != incident_id:
                return
            if self._replace_if_unchanged(pointers, {**pointer, "incident_id": ""}, pointer):
                return
            backoff(attempt)
        raise LedgerContentionError(f"closing {incident_id}: lost {ATTEMPTS} conditional writes in a row")

    def incident(self, incident_id: str) -> IncidentRow | None:
        incidents, partition, row_key, _ = self._where(incident_id)
        with sdk_errors("reading an incident"):
            entity = self._get(incidents, partition, row_key)
            if entity is None:
                return None
            row = {name: entity.get(name) for name in INCIDENT_FIELDS}
            if not row["closed_at"]:
                # While it is open, the pointer holds the latest signal time (written with its ETag).
                pointers, pointer_partition = self._pointer_of(incident_id, entity["key"])
                pointer = self._get(pointers, pointer_partition, keys.POINTER_ROW)
                if pointer is not None and pointer.get("incident_id") == incident_id:
                    row["last_signal_at"] = pointer["last_signal_at"]
            row["closed_at"] = row["closed_at"] or None
            row["close_reason"] = row["close_reason"] or None
            return cast(IncidentRow, row)

    # -- the one action per incident -----------------------------------------------------------

    def hold_action(self, incident_id: str, action: str, decision_ref: str, at: datetime, status: str = "held") -> HeldAction | None:
        holds, partition, _, hold_row = self._where(incident_id)
        entity = {
            "PartitionKey": partition, "RowKey": hold_row, "action": action, "status": status,
            "decision_ref": clip(str(decision_ref), 4000), "at": keys.stamp(at),
        }
        with sdk_errors("holding an incident's action"):
            for attempt in range(ATTEMPTS):
                if self._insert(holds, entity):
                    return None
                holder = self._get(holds, partition, hold_row)
                if holder is not None:  # else released between our insert and read: try again
                    return HeldAction(action=holder["action"], status=holder["status"], decision_ref=holder["decision_ref"],
                                      at=holder["at"])
                backoff(attempt)
        raise LedgerContentionError(f"holding the action of {incident_id}: lost {ATTEMPTS} conditional writes in a row")

    def update_hold(self, incident_id: str, status: str) -> None:
        holds, partition, _, hold_row = self._where(incident_id)
        with sdk_errors("updating an incident's action hold"):
            try:
                holds.update_entity({"PartitionKey": partition, "RowKey": hold_row, "status": status}, mode=self._merge)
            except self._missing:
                pass  # nothing held: nothing to update (same as the SQLite ledger)

    def release_action(self, incident_id: str) -> None:
        holds, partition, _, hold_row = self._where(incident_id)
        with sdk_errors("releasing an incident's action"):
            holds.delete_entity(partition, hold_row)
