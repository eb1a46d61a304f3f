"""What the brakes count, in the Table Storage ledger (mixed into TableLedger): remediations per
resource and subscription (from the operations table), unhealthy resources per scope (the storm
breaker's marks), open storms, and switches (pause).

Marks are idempotent upserts in one partition per scope, RowKey sorted by time, so counting a
window is one single-partition range query. A storm opens and closes by conditional writes, so of
many workers seeing one storm exactly one is told it tripped it, and exactly one that it ended.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, cast

from rules.records import LastOperation, Storm, Switch

from ..backend_state import TableState
from ..errors import LedgerContentionError
from ..slots import SlotClaims, StoredSlot
from . import keys
from .keys import clip
from .operations import OPERATION_PARTITIONS, by_resource
from .service import ATTEMPTS, backoff, sdk_errors
from .unit import MARK_ROW

# Operation states that count as a remediation made (for cooldown, attempts and write caps).
MADE = ("intent", "running", "succeeded", "failed")
UNDER_WAY = ("verifying", "intent", "running")
STORM_FIELDS = ("scope", "tripped_at", "last_over_at", "reason")
SWITCH_FIELDS = ("name", "value", "set_by", "set_at")


# A storm still over its threshold moves its `last_over_at` at most this often: signals in a storm
# arrive many a second, and the cooldown it measures is minutes.
STORM_WRITES = timedelta(seconds=5)
COUNTER_ROW = "n|"


def _prefix_range(prefix: str) -> tuple[str, str]:
    """[low, high) holding every string that starts with `prefix` (ordinal order, as the service compares)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class TableSafety(SlotClaims, TableState):
    """Uses TableLedger's tables and its conditional-write helpers."""

    def count_operations(self, resource: str, since: datetime | None = None, states: tuple[str, ...] = MADE) -> int:
        """Operations in `states` created since a time, on one resource (an id, matched exactly)
        or on every resource under a prefix ending in "/" (a subscription, a scale set's instances)."""
        key = resource.strip().lower()
        if not key.endswith("/"):  # one resource: its index partition, not a scan
            with sdk_errors("counting operations"):
                since_key = keys.stamp(since) if since is not None else ""
                return sum(1 for row in self.indexed_operations(by_resource(key), since_key) if row.get("state") in states)
        # A prefix (a subscription, a scale set's instances): a scan, which no brake runs (reports do).
        clauses, parameters = [OPERATION_PARTITIONS, "resource_key ge @low and resource_key lt @high"], {}
        parameters["low"], parameters["high"] = _prefix_range(key)
        if since is not None:
            clauses.append("created_at ge @since")
            parameters["since"] = keys.stamp(since)
        with sdk_errors("counting operations"):
            rows = self._table("operations").query_entities(" and ".join(clauses), parameters=parameters, select=["state"])
            return sum(1 for row in rows if row.get("state") in states)

    def last_operation(self, resource_key: str, states: tuple[str, ...] = MADE) -> LastOperation | None:
        with sdk_errors("reading the last operation"):
            for row in self.indexed_operations(by_resource(resource_key), newest_first=True):
                if row.get("state") in states:
                    return LastOperation(action=row["action"], state=row["state"], created_at=row["created_at"])
        return None

    # -- the storm breaker's marks ------------------------------------------------------------

    def _last_mark(self, scope: str, resource_key: str) -> Any:
        """The resource's latest mark in a scope: from the partition read for the decision, else one point read."""
        partition, row = keys.resource_log_partition(resource_key), MARK_ROW + keys.hashed(scope)
        known = self._known(partition)
        if known is not None:
            return known.rows.get(row)
        return self._get(self._table("log"), partition, row)

    def marked(self, scope: str, resource_key: str, since: datetime) -> bool:
        with sdk_errors("reading a mark"):
            mark = self._last_mark(scope, resource_key)
        return bool(mark is not None and mark.get("at") and mark["at"] >= keys.stamp(since))

    def mark_unhealthy(self, scope: str, resource_key: str, at: datetime) -> None:
        """The resource's latest mark, kept in its own partition (in the decision's transaction),
        and one more in the scope's counter for that minute; a resource marked again moves its one
        count to the later minute, so the counters add up to distinct resources."""
        partition, row = keys.resource_log_partition(resource_key), MARK_ROW + keys.hashed(scope)
        entity = {"PartitionKey": partition, "RowKey": row, "scope": clip(scope, 4000),
                  "resource_key": clip(resource_key, 4000), "at": keys.stamp(at)}
        with sdk_errors("marking a resource unhealthy"):
            previous = self._last_mark(scope, resource_key)
            moved_from = previous.get("at") if previous is not None else None
            with self._writes() as unit:
                unit.add(partition, ("upsert", entity, {"mode": self._replace}))
                unit.after.append(lambda: self._count(scope, entity["at"], moved_from))
            known = self._known(partition)
            if known is not None:
                known.rows[row] = entity

    def _count(self, scope: str, at: str | None, moved_from: str | None) -> None:
        """Once the mark is stored: counted by this worker, stored if its counters are due."""
        self._counters.add(scope, at, moved_from)
        if self._counters.due():
            self._store_counters()

    def unmark_unhealthy(self, scope: str, resource_key: str, since: datetime) -> None:
        """The resource's marks since a time were its owner's doing after all: no longer counted."""
        partition, row = keys.resource_log_partition(resource_key), MARK_ROW + keys.hashed(scope)
        with sdk_errors("unmarking a resource"):
            mark = self._last_mark(scope, resource_key)
            if mark is None or not mark.get("at") or mark["at"] < keys.stamp(since):
                return
            try:
                self._table("log").delete_entity(partition, row, etag=mark.metadata["etag"], match_condition=self._if_unchanged)
            except (self._modified, self._missing):
                return  # marked again, or unmarked, by another worker meanwhile: theirs counts
            self._count(scope, None, mark["at"])
            known = self._known(partition)
            if known is not None:
                known.rows.pop(row, None)

    def count_unhealthy(self, scope: str, since: datetime) -> int:
        """Distinct resources marked since a time, by the minute: the scope's counter rows from that
        minute on (one per worker and minute, whatever the storm's size), this worker's own as it
        holds them now."""
        first = keys.minute(since)
        with sdk_errors("counting unhealthy resources"):
            rows = self._table("unhealthy").query_entities(
                "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                parameters={"pk": keys.hashed(scope), "low": f"{COUNTER_ROW}{first}", "high": "n}"}, select=["RowKey", "count"],
            )
            held = self._counters.held(scope, first)
            stored = 0
            for row in rows:
                _, minute, worker = row["RowKey"].split("|")
                if worker != self._counters.worker or minute not in held:
                    stored += int(row.get("count") or 0)
        return max(0, stored + sum(held.values()))

    def _store_counters(self) -> None:
        """This worker's counter rows that changed, one transaction per scope; at most every few seconds."""
        table = self._table("unhealthy")
        with sdk_errors("storing the storm breaker's counters"):
            for scope, rows in self._counters.take().items():
                operations = [("upsert", {"PartitionKey": keys.hashed(scope), "RowKey": f"{COUNTER_ROW}{minute}|{self._counters.worker}",
                                          "scope": clip(scope, 4000), "count": count, "at": f"{minute}:00.000000+00:00"},
                               {"mode": self._replace}) for minute, count in rows.items()]
                for start in range(0, len(operations), 100):
                    table.submit_transaction(operations[start:start + 100])

    # -- storms: one entity per scope; closed is a tombstone, so every change is conditional ----

    def storm(self, scope: str) -> Storm | None:
        with sdk_errors("reading a storm"):
            entity = self._get(self._table("storms"), keys.hashed(scope), "")
        if entity is None or entity.get("closed"):
            return None
        return cast(Storm, {name: entity.get(name) for name in STORM_FIELDS})

    def open_storm(self, scope: str, at: datetime, reason: str) -> bool:
        """True when this call tripped the breaker (the storm was not open yet)."""
        storms, partition = self._table("storms"), keys.hashed(scope)
        opened = {
            "PartitionKey": partition, "RowKey": "", "scope": clip(scope, 4000), "tripped_at": keys.stamp(at),
            "last_over_at": keys.stamp(at), "reason": clip(reason), "closed": False,
        }
        with sdk_errors("opening a storm"):
            for attempt in range(ATTEMPTS):
                entity = self._get(storms, partition, "")
                if entity is None:
                    if self._insert(storms, opened):
                        return True
                elif entity.get("closed"):
                    if self._replace_if_unchanged(storms, opened, entity):
                        return True
                elif entity["last_over_at"] >= keys.stamp(at - STORM_WRITES):
                    return False  # still over, and said so a moment ago: every signal need not write it
                elif self._replace_if_unchanged(storms, {**entity, "last_over_at": keys.stamp(at)}, entity):
                    return False
                backoff(attempt)
        raise LedgerContentionError(f"opening the storm of {scope}: lost {ATTEMPTS} conditional writes in a row")

    def close_storm(self, scope: str) -> bool:
        """True when this call ended the storm."""
        storms, partition = self._table("storms"), keys.hashed(scope)
        with sdk_errors("closing a storm"):
            for attempt in range(ATTEMPTS):
                entity = self._get(storms, partition, "")
                if entity is None or entity.get("closed"):
                    return False
                if self._replace_if_unchanged(storms, {**entity, "closed": True}, entity):
                    return True
                backoff(attempt)
        raise LedgerContentionError(f"closing the storm of {scope}: lost {ATTEMPTS} conditional writes in a row")

    # -- slots: the caps, race-free across workers ------------------------------------------

    # The slots' algorithm is ledger/slots.py's. A scope is one partition, a slot one row (RowKey 0000..).

    def _slot_claiming(self) -> AbstractContextManager[None]:
        return sdk_errors("claiming a slot")

    def _read_slots(self, scope: str) -> dict[int, StoredSlot]:
        rows = self._table("slots").query_entities("PartitionKey eq @p", parameters={"p": keys.hashed(scope)})
        return {int(row["RowKey"]): StoredSlot(row.get("holder") or "", keys.parse_stamp(row["expires_at"]), row)
                for row in rows if row.get("expires_at")}

    def _slot_row(self, scope: str, slot: int, holder: str, until: datetime) -> dict[str, Any]:
        return {"PartitionKey": keys.hashed(scope), "RowKey": f"{slot:04d}", "scope": clip(scope, 4000),
                "holder": clip(holder, 1000), "expires_at": keys.stamp(until)}

    def _insert_slot(self, scope: str, slot: int, holder: str, until: datetime) -> bool:
        return self._insert(self._table("slots"), self._slot_row(scope, slot, holder, until))

    def _take_slot(self, scope: str, slot: int, read: StoredSlot, holder: str, until: datetime) -> bool:
        return self._replace_if_unchanged(self._table("slots"), self._slot_row(scope, slot, holder, until), read.version)

    def release_slot(self, scope: str, holder: str) -> None:
        slots, partition = self._table("slots"), keys.hashed(scope)
        with sdk_errors("releasing a slot"):
            for row in slots.query_entities("PartitionKey eq @p", parameters={"p": partition}):
                if row.get("holder") == clip(holder, 1000):
                    try:
                        slots.delete_entity(row["PartitionKey"], row["RowKey"], etag=row.metadata["etag"], match_condition=self._if_unchanged)
                    except (self._modified, self._missing):
                        pass  # someone took over an expired slot, or it is gone already

    # -- switches -----------------------------------------------------------------------------

    def set_switch(self, name: str, value: str, by: str, at: datetime) -> None:
        entity = {
            "PartitionKey": keys.hashed(name), "RowKey": "", "name": clip(name, 4000), "value": clip(value),
            "set_by": clip(by, 4000), "set_at": keys.stamp(at),
        }
        with sdk_errors("setting a switch"):
            self._table("switches").upsert_entity(entity, mode=self._replace)

    def switch(self, name: str) -> Switch | None:
        with sdk_errors("reading a switch"):
            entity = self._get(self._table("switches"), keys.hashed(name), "")
        return cast(Switch, {field: entity.get(field) for field in SWITCH_FIELDS}) if entity is not None else None
