"""Where the sweep stopped, in the SQLite ledger: one row per sweep (its name), kept by the sweep
between timer runs so each run continues after the last subscription the previous one swept.

Self-contained: the table is created on first use, so the ledger's schema does not change."""

from __future__ import annotations

from datetime import datetime

from rules.records import SweepCursor

from ..backend_state import SqliteState

CURSOR_FIELDS = ("name", "cycle", "after", "cycle_started", "updated_at")
CURSOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep_cursors (
    name TEXT PRIMARY KEY,
    cycle INTEGER NOT NULL,
    after TEXT NOT NULL,
    cycle_started TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


class SqliteSweepCursor(SqliteState):
    """Mixed into SqliteLedger: uses its connection and lock."""

    def sweep_cursor(self, name: str) -> SweepCursor | None:
        """{name, cycle, after, cycle_started, updated_at} of the sweep `name`, or None before its first run."""
        with self._lock:
            self._db.execute(CURSOR_SCHEMA)
            row = self._db.execute("SELECT * FROM sweep_cursors WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return SweepCursor(name=row["name"], cycle=int(row["cycle"]), after=row["after"],
                           cycle_started=datetime.fromisoformat(row["cycle_started"]),
                           updated_at=datetime.fromisoformat(row["updated_at"]))

    def save_sweep_cursor(self, name: str, cycle: int, after: str, cycle_started: datetime, at: datetime) -> None:
        """Keep where the sweep `name` stands: in cycle `cycle`, everything up to `after` swept."""
        with self._lock:
            self._db.execute(CURSOR_SCHEMA)
            self._db.execute(
                "INSERT OR REPLACE INTO sweep_cursors(name, cycle, after, cycle_started, updated_at) VALUES (?, ?, ?, ?, ?)",
                (name, int(cycle), after, cycle_started.isoformat(), at.isoformat()),
            )
