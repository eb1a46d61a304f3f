"""Remediation operations in the Table Storage ledger (rules.ports.OperationStore).

One partition per operation (PartitionKey = the zero-padded id), so reading and updating one is a
point operation, and an update is a replace with the ETag that was read: `expect_state` is then a
real claim across workers (the tick on two instances cannot both move an operation on).

Keyed index rows in the same table, so no brake and no tick scans it (it grows with every action
a tenant ever took): one partition per resource (`r-<sha256 of its id>`, a row per operation,
RowKey `<created>|<id>`) for the cooldown, the attempt cap and a wave's last operation, and one
partition of the operations still open (`open`, a row per id) for the tick. An index row names
its operation and nothing else: the operation's own row stays the one truth of its state. Index
rows are written before the operation (a worker stopped between them leaves a row pointing at
nothing, which readers skip), and an operation's `open` row is removed once it has finished.
Ledgers written before the index are indexed once, by the first worker that needs it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from arm import resource_key
from rules.records import Operation, SignalRow

from ..backend_state import TableState
from ..errors import LedgerContentionError
from ..rows import OperationChange, OperationRows
from . import keys
from .service import ATTEMPTS, backoff, sdk_errors

OPEN_STATES = ("verifying", "intent", "running")
OPERATION_FIELDS = (
    "id", "incident_id", "signal_id", "action", "resource_id", "mode", "params", "facts", "state", "token",
    "message", "attempts", "created_at", "updated_at", "finished_at",
)
SIGNAL_ROW_FIELDS = (
    "id", "delivery_key", "incident_id", "source", "event_id", "kind", "name", "resource_key", "resource_id",
    "occurred", "received", "input", "summary", "facts",
)
# Operation partitions are zero-padded ids (digits); index partitions start with a letter.
OPEN_INDEX = "open"
INDEX_MARK = "index-v1"  # one entity in the `meta` partition: this table's operations are indexed
OPERATION_PARTITIONS = "PartitionKey lt ':'"  # ':' sorts right after the digits


def by_resource(resource_key: str) -> str:
    """The index partition of one resource's operations."""
    return "r-" + keys.hashed(resource_key.strip().lower())


def _operation_row(entity: Mapping[str, Any]) -> Operation:
    row = {name: entity.get(name) for name in OPERATION_FIELDS}
    row["id"] = int(entity["id"])
    row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
    row["params"] = json.loads(entity.get("params") or "{}")
    row["facts"] = json.loads(entity.get("facts") or "{}")
    row["token"] = entity.get("token") or None
    row["message"] = entity.get("message") or ""
    row["attempts"] = int(entity.get("attempts") or 0)
    row["finished_at"] = entity.get("finished_at") or None
    return cast(Operation, row)


def signal_row(entity: Mapping[str, Any]) -> SignalRow:
    """A signal's entity (an IncidentLog `sig|` row, or one of the earlier Signals table) as the ports answer it."""
    row = {name: entity.get(name) for name in SIGNAL_ROW_FIELDS}
    row["id"] = int(entity["id"])
    row["incident_id"] = row["incident_id"] or None
    row["facts"] = row["facts"] or "{}"  # recorded before signals kept their facts, as SQLite reads them
    return cast(SignalRow, row)


class TableOperations(OperationRows, TableState):
    """Mixed into TableLedger: uses its tables, ids and conditional-write helpers."""

    _operations_indexed = False  # this worker has seen the index mark (or written it)

    def _store_intent(self, row: Mapping[str, Any]) -> int:
        """The operation's entity, after its index rows (see above), under a fresh id."""
        operations = self._table("operations")
        self._ensure_operation_index()
        resource = row["resource_id"].strip().lower()  # for the brakes' counts by resource and by prefix (safety.py)
        created = keys.stamp(row["created_at"])
        with sdk_errors("recording an operation"):
            while True:
                operation_id = self._ids.next()
                index = self._index_rows(operation_id, resource, created, row["state"])
                for index_row in index:
                    operations.upsert_entity(index_row)
                entity = {
                    **row, "PartitionKey": keys.id_key(operation_id), "RowKey": "", "id": keys.id_key(operation_id),
                    "signal_id": keys.id_key(row["signal_id"]) if row["signal_id"] is not None else "",
                    "resource_key": resource, "created_at": created, "updated_at": keys.stamp(row["updated_at"]),
                }
                if self._insert(operations, entity):
                    return operation_id
                for index_row in index:  # another worker's operation has this id (a 1-in-a-million clash): try another
                    operations.delete_entity(index_row["PartitionKey"], index_row["RowKey"])

    @staticmethod
    def _index_rows(operation_id: int, resource_key: str, created: str, state: str) -> list[dict[str, Any]]:
        ref = keys.id_key(operation_id)
        rows = [{"PartitionKey": by_resource(resource_key), "RowKey": f"{created}|{ref}", "operation_id": ref}]
        if state in OPEN_STATES:
            rows.append({"PartitionKey": OPEN_INDEX, "RowKey": ref, "operation_id": ref})
        return rows

    def _change_operation(self, operation_id: int, change: OperationChange, expect_state: str | None) -> bool:
        """A replace with the ETag read, so `expect_state` is a claim across workers."""
        operations, partition = self._table("operations"), keys.id_key(operation_id)
        with sdk_errors("updating an operation"):
            for attempt_number in range(ATTEMPTS):
                entity = self._get(operations, partition, "")
                if entity is None or (expect_state is not None and entity.get("state") != expect_state):
                    return False
                changed = {**entity, **change.fields, "updated_at": keys.stamp(change.at)}
                if change.attempt:
                    changed["attempts"] = int(entity.get("attempts") or 0) + 1
                if change.finished:
                    changed["finished_at"] = keys.stamp(change.at)
                if self._replace_if_unchanged(operations, changed, entity):
                    self._move_open_index(operations, partition, entity.get("state"), changed.get("state"))
                    return True
                backoff(attempt_number)
        raise LedgerContentionError(f"updating operation {operation_id}: lost {ATTEMPTS} conditional writes in a row")

    def _move_open_index(self, operations: Any, ref: str, before: str | None, after: str | None) -> None:
        if after in OPEN_STATES and before not in OPEN_STATES:
            operations.upsert_entity({"PartitionKey": OPEN_INDEX, "RowKey": ref, "operation_id": ref})
        elif before in OPEN_STATES and after not in OPEN_STATES:
            try:
                operations.delete_entity(OPEN_INDEX, ref)
            except self._missing:
                pass  # removed by the reader that found it finished

    def indexed_operations(self, partition: str, since: str = "", newest_first: bool = False) -> list[dict[str, Any]]:
        """The operations an index partition names (from `since`, a RowKey), each read from its
        own row; rows naming no operation (a worker stopped between the two writes) are skipped."""
        self._ensure_operation_index()
        operations = self._table("operations")
        refs = [row["operation_id"] for row in operations.query_entities(
            "PartitionKey eq @pk and RowKey ge @since", parameters={"pk": partition, "since": since},
            select=["operation_id"])]
        found: list[dict[str, Any]] = []
        for ref in (reversed(refs) if newest_first else refs):
            entity = self._get(operations, ref, "")
            if entity is not None:
                found.append(entity)
        return found

    def _ensure_operation_index(self) -> None:
        """Index a table written before the index existed, once (idempotent: workers may race)."""
        if self._operations_indexed:
            return
        operations = self._table("operations")
        with sdk_errors("indexing operations"):
            if self._get(operations, "meta", INDEX_MARK) is None:
                for entity in operations.query_entities(OPERATION_PARTITIONS):
                    for row in self._index_rows(int(entity["id"]), entity.get("resource_key") or "", entity["created_at"],
                                                entity.get("state") or ""):
                        operations.upsert_entity(row)
                operations.upsert_entity({"PartitionKey": "meta", "RowKey": INDEX_MARK})
        self._operations_indexed = True

    def operation(self, operation_id: int) -> Operation | None:
        with sdk_errors("reading an operation"):
            entity = self._get(self._table("operations"), keys.id_key(operation_id), "")
        return _operation_row(entity) if entity is not None else None

    def open_operations(self) -> list[Operation]:
        """The `open` index partition, each operation read from its row; one found finished (its
        index row outlived it) is left out and its row removed."""
        with sdk_errors("listing open operations"):
            entities = self.indexed_operations(OPEN_INDEX)
            for entity in entities:
                if entity.get("state") not in OPEN_STATES:
                    self._move_open_index(self._table("operations"), entity["PartitionKey"], "intent", entity.get("state"))
        return [_operation_row(e) for e in entities if e.get("state") in OPEN_STATES]

    def operations(self, incident_id: str | None = None) -> list[Operation]:
        table = self._table("operations")
        with sdk_errors("listing operations"):
            if incident_id is None:
                entities = list(table.query_entities(OPERATION_PARTITIONS))
            else:
                entities = list(table.query_entities(f"{OPERATION_PARTITIONS} and incident_id eq @incident",
                                                     parameters={"incident": incident_id}))
        return [_operation_row(e) for e in sorted(entities, key=lambda e: e["PartitionKey"])]

    def signal(self, signal_id: int, resource_id: str | None = None) -> SignalRow | None:
        """A recorded signal by id: one query of its resource's partition when the resource is
        known (a follow-up names it), else across the resource partitions (rare)."""
        parameters = {"id": keys.id_key(signal_id)}
        self._flush()  # a signal waiting in this thread's transaction is read as stored
        with sdk_errors("reading a signal"):
            found = []
            if resource_id:
                found = list(self._table("log").query_entities(
                    "PartitionKey eq @pk and RowKey ge 'sig|' and RowKey lt 'sig}' and id eq @id",
                    parameters={**parameters, "pk": keys.resource_log_partition(resource_key(resource_id))}))
            if not found:  # recorded under another resource than the follow-up's (a scale set's instance)
                found = list(self._table("log").query_entities("RowKey ge 'sig|' and RowKey lt 'sig}' and id eq @id",
                                                               parameters=parameters))
            if not found:  # recorded before signals moved to the IncidentLog: the Signals table
                found = list(self._table("signals").query_entities("id eq @id", parameters=parameters))
        if not found:
            return None
        return signal_row(found[0])
