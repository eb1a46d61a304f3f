"""Remediation operations in the SQLite ledger: the intent, the operation to poll, the outcome.

An operation row is written before the ARM call (state `intent`, no token) and completed
after it (`running` with the token), so a crash between the two leaves an intent the tick
recovers by reading the live state instead of writing again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any, cast

from rules.records import Operation, SignalRow

from ..backend_state import SqliteState
from ..rows import OperationChange, OperationRows, decoded

# What an operation and an approval both keep of the remediation they are about.
INTENT_COLUMNS = """
    incident_id TEXT NOT NULL,
    signal_id INTEGER,
    action TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    params TEXT NOT NULL,
    facts TEXT NOT NULL,"""

OPERATIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,""" + INTENT_COLUMNS + """
    state TEXT NOT NULL,
    token TEXT,
    message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS operations_open ON operations(state);
"""

# States an operation is still moving through; the tick visits these.
OPEN_STATES = ("verifying", "intent", "running")


def _operation(row: sqlite3.Row) -> Operation:
    return cast(Operation, decoded(dict(row)))


def signal_row(row: sqlite3.Row) -> SignalRow:
    """A row of the signals table as the ports answer it."""
    return cast(SignalRow, dict(row))


class SqliteOperations(OperationRows, SqliteState):
    """Mixed into SqliteLedger: uses its connection and lock."""

    def _store_intent(self, row: Mapping[str, Any]) -> int:
        columns = [name for name in row if name not in ("created_at", "updated_at")]
        with self._lock:
            cursor = self._db.execute(
                f"INSERT INTO operations({', '.join(columns)}, created_at, updated_at)"  # nosec B608 - the intent row's fixed names, values bound
                f" VALUES ({', '.join('?' * (len(columns) + 2))})",
                (*(row[name] for name in columns), row["created_at"].isoformat(), row["updated_at"].isoformat()),
            )
            return cast(int, cursor.lastrowid)  # an INSERT sets it

    def _change_operation(self, operation_id: int, change: OperationChange, expect_state: str | None) -> bool:
        sets, values = ["updated_at = ?"], [change.at.isoformat()]
        for column, value in change.fields.items():
            sets.append(f"{column} = ?")
            values.append(value)
        if change.attempt:
            sets.append("attempts = attempts + 1")
        if change.finished:
            sets.append("finished_at = ?")
            values.append(change.at.isoformat())
        where = "id = ?"
        tail: list[object] = [operation_id]  # the id, then the state expected
        if expect_state is not None:
            where += " AND state = ?"
            tail.append(expect_state)
        with self._lock:
            cursor = self._db.execute(f"UPDATE operations SET {', '.join(sets)} WHERE {where}", (*values, *tail))  # nosec B608 - fixed column names, values bound to ? marks
            return cursor.rowcount == 1

    def operation(self, operation_id: int) -> Operation | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM operations WHERE id = ?", (operation_id,)).fetchone()
        return _operation(row) if row else None

    def open_operations(self) -> list[Operation]:
        marks = ",".join("?" * len(OPEN_STATES))
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM operations WHERE state IN ({marks}) ORDER BY id", OPEN_STATES).fetchall()  # nosec B608 - IN (?, ...) marks only, values bound
        return [_operation(r) for r in rows]

    def operations(self, incident_id: str | None = None) -> list[Operation]:
        with self._lock:
            if incident_id is None:
                rows = self._db.execute("SELECT * FROM operations ORDER BY id").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM operations WHERE incident_id = ? ORDER BY id", (incident_id,)).fetchall()
        return [_operation(r) for r in rows]

    def signal(self, signal_id: int, resource_id: str | None = None) -> SignalRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM signals WHERE id = ?", (signal_id,)).fetchone()
        return signal_row(row) if row else None
