"""Rows past the audit trail's retention, removed from the SQLite ledger (mixed into SqliteLedger).

What goes: decisions, signals and rejections recorded before the cut-off, deliveries settled
before it, the storm breaker's marks, finished operations, and incidents closed before it (with
their action hold). What stays whatever its age: anything still open or pending (an incident
not closed, an operation not finished, a delivery still claimed), storms, switches, approvals
and waves (their own lifetimes end them).
"""

from __future__ import annotations

from datetime import datetime

from rules.records import PurgeCounts

from ..backend_state import SqliteState

# kind -> (statement, what it removes); each takes the cut-off once.
PURGES = {
    "decisions": "DELETE FROM decisions WHERE at < ?",
    "signals": "DELETE FROM signals WHERE received < ?",
    "rejections": "DELETE FROM rejections WHERE at < ?",
    "deliveries": "DELETE FROM deliveries WHERE decided_at IS NOT NULL AND decided_at < ?",
    "unhealthy marks": "DELETE FROM unhealthy_marks WHERE at < ?",
    "operations": "DELETE FROM operations WHERE finished_at IS NOT NULL AND finished_at < ?",
    "action holds": "DELETE FROM action_holds WHERE incident_id IN "
                    "(SELECT id FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?)",
    "incidents": "DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?",
}


class SqliteRetention(SqliteState):
    def purge(self, before: datetime) -> PurgeCounts:
        """Remove what the retention no longer keeps; how many rows of each kind went."""
        cut = before.isoformat()
        removed: dict[str, int] = {}
        with self._lock, self._transaction():
            for kind, statement in PURGES.items():
                removed[kind] = self._db.execute(statement, (cut,)).rowcount
        return removed
