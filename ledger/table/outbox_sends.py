"""The outbox's send slots on Table Storage (mixed into TableOutbox): one rate limit per channel key
(a Teams webhook, a mailbox), shared by every worker of every instance.

A limit of N sends per period is N slot entities in the key's partition of `OutboxSends`, each
holding when it last granted a send. A slot whose send is a period old is free; a worker takes it
by inserting it (never used) or replacing it with the ETag it read. Two workers after one slot:
one wins, the other reads the slots again. The same sliding window as the SQLite table of sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..backend_state import TableConditions
from ..errors import LedgerContentionError
from . import keys
from .keys import clip
from .service import ATTEMPTS, backoff, sdk_errors


class TableSendSlots(TableConditions):
    """Uses TableOutbox's tables and SDK condition types."""

    def reserve(self, key: str, now: datetime, limit: int, period_seconds: float) -> float:
        """A sliding window of `limit` sends per period, as `limit` slot entities per channel key:
        a slot is free when its last send is a period old; taking it is a conditional write."""
        table, partition = self._table("outbox_sends"), keys.hashed(key)
        at, free_before = keys.stamp(now), keys.stamp(now - timedelta(seconds=period_seconds))
        with sdk_errors("taking a send slot"):
            for attempt in range(ATTEMPTS):
                read = table.query_entities("PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey", "at"])
                slots = {row["RowKey"]: row for row in read}
                taken = []
                for number in range(limit):
                    row = f"{number:05d}"
                    slot = slots.get(row)
                    if slot is not None and slot["at"] > free_before:
                        taken.append(slot["at"])
                        continue
                    entity = {"PartitionKey": partition, "RowKey": row, "key": clip(key, 4000), "at": at}
                    if self._take_slot(table, entity, slot):
                        return 0.0
                    break  # another worker took it first: read the slots again
                else:
                    wait = keys.parse_stamp(min(taken)) - now
                    return max(0.001, wait.total_seconds() + period_seconds)
                backoff(attempt)
        raise LedgerContentionError(f"taking a send slot for {key}: lost {ATTEMPTS} conditional writes in a row")

    def available(self, key: str, now: datetime, limit: int, period_seconds: float) -> int:
        """Slots of a channel key free now: one read of its partition, nothing taken."""
        free_before = keys.stamp(now - timedelta(seconds=period_seconds))
        with sdk_errors("counting free send slots"):
            read = self._table("outbox_sends").query_entities("PartitionKey eq @pk", parameters={"pk": keys.hashed(key)},
                                                              select=["RowKey", "at"])
            busy = sum(1 for row in read if int(row["RowKey"]) < limit and row["at"] > free_before)
        return max(0, limit - busy)

    def _take_slot(self, table: Any, entity: dict[str, Any], read: Any) -> bool:
        try:
            if read is None:
                table.create_entity(entity)
            else:
                table.update_entity(entity, mode=self._replace, etag=read.metadata["etag"], match_condition=self._if_unchanged)
        except (self._exists, self._modified, self._missing):
            return False
        return True
