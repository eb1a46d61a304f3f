"""The Table Storage ledger: one store shared by every Function instance (Azurite locally).

Every decision that must be taken once across workers is a conditional write, never a
read-then-write:

- a delivery is claimed by inserting its entity (`create_entity`): a 409 means a duplicate;
- the open incident of an incident key lives in one pointer entity, replaced only with the ETag
  that was read (`IfNotModified`): a 412 means another worker moved it first, so re-read and agree;
- an incident's one action is held by inserting its `action-hold` entity: the first insert wins.

The layout (tables, keys, properties) is described in docs/ledger.md; key and time encodings are
in table_keys.py, client building and error mapping in table_service.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from rules import Decision, Signal
from rules.ports import IncidentRef

from . import table_keys as keys
from .errors import LedgerContentionError
from .operations_table import TableOperations
from .table_service import ATTEMPTS, backoff, sdk_errors, service_client, setting

# Decisions that hold an incident's one action (same list as the SQLite ledger).
HOLDING_STATUSES = ("planned", "awaiting-approval", "started", "succeeded")

# Free text is clipped well below Table Storage's 64 KiB per property (strings are UTF-16).
TEXT_LIMIT = 8000

DECISION_FIELDS = ("id", "signal_id", "incident_id", "at", "rule", "action", "mode", "status", "reason", "brakes")
SIGNAL_FIELDS = ("kind", "name", "resource_id", "event_id", "source", "input", "occurred")
INCIDENT_FIELDS = ("id", "key", "resource_id", "opened_at", "last_signal_at", "closed_at", "close_reason")
REJECTION_FIELDS = ("id", "at", "input", "location", "problem", "excerpt")
TTL_REASON = "quiet for longer than the incident time-to-live"


def _clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    return (text or "")[:limit]


class TableLedger(TableOperations):
    """rules.ports.Ledger on Azure Table Storage. Safe to share across threads and processes."""

    def __init__(self, service: Any, prefix: str | None = None):
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        self._exists, self._modified, self._missing = ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        self._if_unchanged, self._replace, self._merge = MatchConditions.IfNotModified, UpdateMode.REPLACE, UpdateMode.MERGE
        self.service = service
        self.prefix = keys.DEFAULT_PREFIX if prefix is None else prefix
        self.tables = keys.table_names(self.prefix)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._ids = keys.Ids()
        # The signal a decision is about was almost always recorded by this worker a moment ago;
        # keeping the last few spares a cross-partition lookup when the decision is written.
        self._recent: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any = None, env: Mapping[str, str] | None = None, **client_options: Any) -> "TableLedger":
        """From app settings (a Settings object or a mapping), the environment filling the gaps."""
        service = service_client(
            connection_string=setting(settings, "table_connection_string", env),
            endpoint=setting(settings, "table_endpoint", env),
            **client_options,
        )
        return cls(service, setting(settings, "table_prefix", env) or None)

    # -- deliveries ----------------------------------------------------------------------------

    def claim_delivery(self, key: str, at: datetime) -> bool:
        entity = {"PartitionKey": keys.hashed(key), "RowKey": "", "key": _clip(key, 4000), "first_seen": keys.stamp(at)}
        with sdk_errors("claiming a delivery"):
            try:
                self._table("deliveries").create_entity(entity)
            except self._exists:
                return False
            return True

    # -- incidents -----------------------------------------------------------------------------

    def open_incident(self, key: str, resource_id: str, at: datetime, ttl: timedelta) -> IncidentRef:
        pointers, partition = self._table("open"), keys.hashed(key)
        with sdk_errors("opening an incident"):
            for attempt in range(ATTEMPTS):
                pointer = self._get(pointers, partition, keys.POINTER_ROW)
                current = pointer.get("incident_id") if pointer else ""
                if current:
                    last = keys.parse_stamp(pointer["last_signal_at"])
                    if last + ttl >= at:
                        if at > last and not self._replace_if_unchanged(pointers, {**pointer, "last_signal_at": keys.stamp(at)}, pointer):
                            backoff(attempt)
                            continue
                        return IncidentRef(current, key, pointer["resource_id"], keys.parse_stamp(pointer["opened_at"]), False)
                incident = self._new_incident(key, resource_id, at)
                moved = {
                    "PartitionKey": partition, "RowKey": keys.POINTER_ROW, "key": _clip(key, 4000),
                    "incident_id": incident.id, "resource_id": resource_id,
                    "opened_at": keys.stamp(at), "last_signal_at": keys.stamp(at),
                }
                won = self._insert(pointers, moved) if pointer is None else self._replace_if_unchanged(pointers, moved, pointer)
                if not won:
                    # Another worker opened (or extended) one first: ours was never seen, remove it.
                    self._table("incidents").delete_entity(incident.id, keys.INCIDENT_ROW)
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
                "PartitionKey": incident_id, "RowKey": keys.INCIDENT_ROW, "id": incident_id, "key": _clip(key, 4000),
                "resource_id": resource_id, "opened_at": keys.stamp(at), "last_signal_at": keys.stamp(at),
            }
            if self._insert(self._table("incidents"), entity):
                return IncidentRef(incident_id, key, resource_id, at, True)

    def close_incident(self, incident_id: str, at: datetime, reason: str) -> None:
        incidents = self._table("incidents")
        with sdk_errors("closing an incident"):
            for attempt in range(ATTEMPTS):
                entity = self._get(incidents, incident_id, keys.INCIDENT_ROW)
                if entity is None:
                    return
                if entity.get("closed_at"):
                    break  # closed already: the first close keeps its time and reason
                closed = {**entity, "closed_at": keys.stamp(at), "close_reason": _clip(reason)}
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
            entity = self._get(self._table("incidents"), incident_id, keys.INCIDENT_ROW)
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
            "PartitionKey": incident_id, "RowKey": keys.HOLD_ROW, "action": action, "status": status,
            "decision_ref": _clip(str(decision_ref), 4000), "at": keys.stamp(at),
        }
        holds = self._table("incidents")
        with sdk_errors("holding an incident's action"):
            for attempt in range(ATTEMPTS):
                if self._insert(holds, entity):
                    return None
                holder = self._get(holds, incident_id, keys.HOLD_ROW)
                if holder is not None:  # else released between our insert and read: try again
                    return {name: holder.get(name) for name in ("action", "status", "decision_ref", "at")}
                backoff(attempt)
        raise LedgerContentionError(f"holding the action of {incident_id}: lost {ATTEMPTS} conditional writes in a row")

    def update_hold(self, incident_id: str, status: str) -> None:
        with sdk_errors("updating an incident's action hold"):
            try:
                self._table("incidents").update_entity(
                    {"PartitionKey": incident_id, "RowKey": keys.HOLD_ROW, "status": status}, mode=self._merge
                )
            except self._missing:
                pass  # nothing held: nothing to update (same as the SQLite ledger)

    def release_action(self, incident_id: str) -> None:
        with sdk_errors("releasing an incident's action"):
            self._table("incidents").delete_entity(incident_id, keys.HOLD_ROW)

    def incident_action(self, incident_id: str) -> Mapping[str, Any] | None:
        with sdk_errors("reading an incident's decisions"):
            rows = self._table("decisions").query_entities(
                "PartitionKey eq @pk and action ne 'none'", parameters={"pk": incident_id}
            )
            held = [row for row in rows if row.get("status") in HOLDING_STATUSES]
        if not held:
            return None
        first = min(held, key=lambda row: row["RowKey"])
        return {"action": first["action"], "status": first["status"], "at": first["at"], "id": int(first["id"])}

    # -- signals -------------------------------------------------------------------------------

    def record_signal(self, signal: Signal, incident_id: str | None, at: datetime) -> int:
        occurred = keys.stamp(signal.occurred)
        row = {
            "delivery_key": _clip(signal.delivery_key, 4000), "incident_id": incident_id or "", "source": signal.source,
            "event_id": _clip(signal.event_id, 4000), "kind": signal.kind, "name": _clip(signal.name, 1000),
            "resource_key": _clip(signal.resource_key, 4000), "resource_id": _clip(signal.resource_id, 4000),
            "occurred": occurred, "received": keys.stamp(at), "input": _clip(signal.input, 4000),
            "summary": _clip(signal.summary, 1000),
        }
        signals, partition = self._table("signals"), keys.resource_partition(signal.resource_key)
        with sdk_errors("recording a signal"):
            while True:
                signal_id = self._ids.next()
                entity = {"PartitionKey": partition, "RowKey": f"{occurred}|{keys.id_key(signal_id)}", "id": keys.id_key(signal_id), **row}
                if self._insert(signals, entity):
                    break
        with self._recent_lock:
            self._recent[signal_id] = row
            while len(self._recent) > 256:
                self._recent.popitem(last=False)
        return signal_id

    def count_signals(self, resource_key: str, name: str, since: datetime) -> int:
        with sdk_errors("counting signals"):
            rows = self._table("signals").query_entities(
                "PartitionKey eq @pk and RowKey ge @since and name eq @name",
                parameters={"pk": keys.resource_partition(resource_key), "since": keys.stamp(since), "name": name},
                select=["delivery_key"],
            )
            return len({row["delivery_key"] for row in rows})

    def _signal(self, signal_id: int) -> Mapping[str, Any] | None:
        with self._recent_lock:
            if signal_id in self._recent:
                return self._recent[signal_id]
        return self.signal(signal_id)  # recorded by another worker: a query across partitions (rare)

    # -- decisions and rejections --------------------------------------------------------------

    def record_decision(self, signal_id: int | None, incident_id: str | None, decision: Decision, at: datetime) -> int:
        decisions = self._table("decisions")
        partition = incident_id or keys.NO_INCIDENT_PARTITION.format(day=keys.day(at))
        with sdk_errors("recording a decision"):
            signal = self._signal(signal_id) if signal_id is not None else None
            # The signal's fields are copied in, so history is one query and never a join.
            about = {name: signal[name] for name in (*SIGNAL_FIELDS, "resource_key")} if signal else {}
            while True:
                decision_id = self._ids.next()
                entity = {
                    "PartitionKey": partition, "RowKey": keys.id_key(decision_id), "id": keys.id_key(decision_id),
                    "signal_id": keys.id_key(signal_id) if signal_id is not None else "", "incident_id": incident_id or "",
                    "at": keys.stamp(at), "rule": decision.rule, "action": decision.action, "mode": decision.mode,
                    "status": decision.status, "reason": _clip(decision.reason), "brakes": _clip(json.dumps(list(decision.brakes))),
                    **about,
                }
                if self._insert(decisions, entity):
                    return decision_id

    def record_rejection(self, input_name: str, where: str, problem: str, excerpt: str, at: datetime) -> int:
        rejections = self._table("rejections")
        with sdk_errors("recording a rejection"):
            while True:
                rejection_id = self._ids.next()
                entity = {
                    "PartitionKey": keys.day(at), "RowKey": keys.id_key(rejection_id), "id": keys.id_key(rejection_id),
                    "at": keys.stamp(at), "input": _clip(input_name, 4000), "location": _clip(where, 4000),
                    "problem": _clip(problem), "excerpt": _clip(excerpt, 1000),
                }
                if self._insert(rejections, entity):
                    return rejection_id

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[Mapping[str, Any]]:
        """Decisions with their signals, oldest first. One query across partitions, filtered by time
        in the service and by resource here (Table Storage has no `ends with`): an audit read."""
        query, parameters = ("at ge @since", {"since": keys.stamp(since)}) if since is not None else ("", {})
        with sdk_errors("reading the history"):
            table = self._table("decisions")
            entities = list(table.query_entities(query, parameters=parameters) if query else table.list_entities())
        if resource:
            wanted = resource.lower()
            entities = [
                e for e in entities
                if e.get("resource_key") and (e["resource_key"] == wanted or e["resource_key"].endswith("/" + wanted))
            ]
        entities.sort(key=lambda e: e["RowKey"])
        return [self._history_row(e) for e in entities]

    @staticmethod
    def _history_row(entity: Mapping[str, Any]) -> dict[str, Any]:
        row = {name: entity.get(name) or None for name in (*DECISION_FIELDS, *SIGNAL_FIELDS)}
        row["id"] = int(entity["id"])
        row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
        row["brakes"] = entity.get("brakes") or "[]"
        for name in ("rule", "reason"):
            row[name] = entity.get(name) or ""
        return row

    def rejections(self) -> list[Mapping[str, Any]]:
        with sdk_errors("reading the rejections"):
            entities = sorted(self._table("rejections").list_entities(), key=lambda e: e["RowKey"])
        return [{**{name: e.get(name) or "" for name in REJECTION_FIELDS}, "id": int(e["id"])} for e in entities]

    def close(self) -> None:
        """Close the clients; safe to call twice."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            if self.service is not None:
                self.service.close()
            self.service = None

    # -- plumbing ------------------------------------------------------------------------------

    def _table(self, role: str):
        """The table client for a role, the table created on first use in this process."""
        client = self._clients.get(role)
        if client is not None:
            return client
        with self._clients_lock:
            if role not in self._clients:
                with sdk_errors(f"creating the table {self.tables[role]}"):
                    self._clients[role] = self.service.create_table_if_not_exists(self.tables[role])
            return self._clients[role]

    def _get(self, table: Any, partition: str, row: str) -> dict[str, Any] | None:
        try:
            return table.get_entity(partition, row)
        except self._missing:
            return None

    def _insert(self, table: Any, entity: Mapping[str, Any]) -> bool:
        """The conditional insert: True if this call created the entity, False if it existed."""
        try:
            table.create_entity(entity)
        except self._exists:
            return False
        return True

    def _replace_if_unchanged(self, table: Any, entity: Mapping[str, Any], read: Any) -> bool:
        """Replace the entity only if nobody wrote it since `read` was read (its ETag)."""
        etag = read.metadata["etag"]
        try:
            table.update_entity(dict(entity), mode=self._replace, etag=etag, match_condition=self._if_unchanged)
        except (self._modified, self._missing):
            return False
        return True
