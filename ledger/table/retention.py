"""Rows past the audit trail's retention, removed from the Table Storage ledger (mixed into
TableLedger). The same kinds as retention_sqlite.py keep or go. A daily timer runs it, so it may
scan: each table is read once with a filter on its time property, and what goes is deleted in
transactions of up to 100 entities of one partition (one request each)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rules.records import PurgeCounts

from ..backend_state import TableState
from . import keys
from .operations import OPERATION_PARTITIONS, by_resource
from .service import sdk_errors

BATCH = 100  # Table Storage's limit of entities in one transaction

def _rows(prefix: str) -> str:
    """The IncidentLog rows of one kind (table_unit.py): RowKeys from `prefix|` up to `prefix}`."""
    return f"RowKey ge '{prefix}|' and RowKey lt '{prefix}}}'"


# (kind, table role, filter on @cut): the IncidentLog's rows, and those of the earlier layout's tables.
PURGES = (
    ("decisions", "log", f"{_rows('dec')} and at lt @cut"),
    ("decisions", "decisions", "at lt @cut"),
    ("signals", "log", f"{_rows('sig')} and received lt @cut"),
    ("signals", "signals", "received lt @cut"),
    ("rejections", "rejections", "at lt @cut"),
    ("deliveries", "log", f"{_rows('claim')} and decided eq true and decided_at lt @cut"),
    ("deliveries", "deliveries", "decided eq true and decided_at lt @cut"),
    ("unhealthy marks", "log", f"{_rows('mark')} and at lt @cut"),
    ("unhealthy marks", "unhealthy", "RowKey lt 'n|' and at lt @cut"),  # marks of the earlier layout
    ("", "unhealthy", f"{_rows('n')} and at lt @cut"),  # the storm counters' minutes: not an audit record
)


class TableRetention(TableState):
    def purge(self, before: datetime) -> PurgeCounts:
        """Remove what the retention no longer keeps; how many entities of each kind went."""
        cut = keys.stamp(before)
        removed: dict[str, int] = defaultdict(int)
        with sdk_errors("purging the ledger"):
            for kind, role, query in PURGES:
                table = self._table(role)
                found = table.query_entities(query, parameters={"cut": cut}, select=["PartitionKey", "RowKey"])
                gone = self._delete(table, ((row["PartitionKey"], row["RowKey"]) for row in found))
                if kind:
                    removed[kind] += gone
            self._counters.forget_before(keys.minute(before))
            operations = self._table("operations")
            finished = list(operations.query_entities(f"{OPERATION_PARTITIONS} and finished_at lt @cut", parameters={"cut": cut},
                                                      select=["PartitionKey", "RowKey", "id", "resource_key", "created_at"]))
            # The index row first: an operation never outlives the row that finds it.
            self._delete(operations, ((by_resource(row.get("resource_key") or ""), f"{row['created_at']}|{row['id']}")
                                      for row in finished))
            removed["operations"] = self._delete(operations, ((row["PartitionKey"], row["RowKey"]) for row in finished))
            log = self._table("log")
            closed = [(row["PartitionKey"], row["id"]) for row in log.query_entities(
                f"{_rows('inc')} and closed_at lt @cut", parameters={"cut": cut}, select=["PartitionKey", "id"])]
            removed["action holds"] = self._delete(log, ((p, f"hold|{incident}") for p, incident in closed))
            removed["incidents"] = self._delete(log, ((p, f"inc|{incident}") for p, incident in closed))
            incidents = self._table("incidents")
            closed_earlier = [row["PartitionKey"] for row in incidents.query_entities(
                "RowKey eq @row and closed_at lt @cut", parameters={"row": keys.INCIDENT_ROW, "cut": cut},
                select=["PartitionKey"])]
            removed["action holds"] += self._delete(incidents, ((p, keys.HOLD_ROW) for p in closed_earlier))
            removed["incidents"] += self._delete(incidents, ((p, keys.INCIDENT_ROW) for p in closed_earlier))
        return dict(removed)

    def _delete(self, table: Any, keys_: Iterable[tuple[str, str]]) -> int:
        """Delete entities by (PartitionKey, RowKey), a transaction per partition and 100; entities
        already gone (another worker's purge, a hold never taken) are not counted."""
        by_partition: dict[str, list[str]] = defaultdict(list)
        for partition, row in keys_:
            by_partition[partition].append(row)
        gone = 0
        for partition, rows in by_partition.items():
            for start in range(0, len(rows), BATCH):
                chunk = rows[start:start + BATCH]
                try:
                    table.submit_transaction([("delete", {"PartitionKey": partition, "RowKey": row}) for row in chunk])
                    gone += len(chunk)
                except self._transaction_error:  # one of them was gone already: one by one
                    for row in chunk:
                        try:
                            table.delete_entity(partition, row)
                            gone += 1
                        except self._missing:
                            pass
        return gone
