"""Where the sweep stopped, in the Table Storage ledger: one entity per sweep (its name) in the
SweepCursors table. The sweep runs on a timer, which the Functions host runs on one instance at a
time, so the cursor is written without a condition: the last run's position wins."""

from __future__ import annotations

from datetime import datetime

from rules.records import SweepCursor

from ..backend_state import TableState
from . import keys
from .keys import clip
from .service import sdk_errors


class TableSweepCursor(TableState):
    """Uses TableLedger's tables."""

    def sweep_cursor(self, name: str) -> SweepCursor | None:
        """{name, cycle, after, cycle_started, updated_at} of the sweep `name`, or None before its first run."""
        with sdk_errors("reading the sweep cursor"):
            entity = self._get(self._table("sweep_cursors"), keys.hashed(name), "")
        if entity is None:
            return None
        return SweepCursor(name=entity.get("name") or name, cycle=int(entity.get("cycle") or 0), after=entity.get("after") or "",
                           cycle_started=keys.parse_stamp(entity["cycle_started"]),
                           updated_at=keys.parse_stamp(entity["updated_at"]))

    def save_sweep_cursor(self, name: str, cycle: int, after: str, cycle_started: datetime, at: datetime) -> None:
        """Keep where the sweep `name` stands: in cycle `cycle`, everything up to `after` swept."""
        entity = {
            "PartitionKey": keys.hashed(name), "RowKey": "", "name": clip(name, 4000), "cycle": int(cycle),
            "after": clip(after, 4000), "cycle_started": keys.stamp(cycle_started), "updated_at": keys.stamp(at),
        }
        with sdk_errors("saving the sweep cursor"):
            self._table("sweep_cursors").upsert_entity(entity, mode=self._replace)
