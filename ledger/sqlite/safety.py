"""What the brakes count, in the SQLite ledger: remediations per resource and subscription,
unhealthy resources per scope (the storm breaker's marks), open storms, and switches (pause)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import cast

from rules.records import LastOperation, Storm, Switch

from ..backend_state import SqliteState
from ..slots import SlotClaims, StoredSlot

# unhealthy_marks is written by most signals: WITHOUT ROWID keeps it one B-tree (see ledger/sqlite/ledger.py).
SAFETY_SCHEMA = """
CREATE TABLE IF NOT EXISTS unhealthy_marks (
    scope TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (scope, resource_key, at)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS storms (
    scope TEXT PRIMARY KEY,
    tripped_at TEXT NOT NULL,
    last_over_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slots (
    scope TEXT NOT NULL,
    slot INTEGER NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (scope, slot)
);
CREATE TABLE IF NOT EXISTS switches (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"""

# Operation states that count as a remediation made (for cooldown, attempts and write caps).
MADE = ("intent", "running", "succeeded", "failed")
UNDER_WAY = ("verifying", "intent", "running")


class SqliteSafety(SlotClaims, SqliteState):
    """Mixed into SqliteLedger: uses its connection and lock."""

    def count_operations(self, resource: str, since: datetime | None = None, states: tuple[str, ...] = MADE) -> int:
        """Operations in `states` created since a time, on one resource (an id, matched exactly)
        or on every resource under a prefix ending in "/" (a subscription, a scale set's instances)."""
        marks = ",".join("?" * len(states))
        key = resource.strip().lower()
        if key.endswith("/"):
            where, values = "substr(lower(resource_id), 1, ?) = ?", [len(key), key]
        else:
            where, values = "lower(resource_id) = ?", [key]
        sql = f"SELECT count(*) FROM operations WHERE {where} AND state IN ({marks})"  # nosec B608 - WHERE is one of two fixed clauses, values bound
        values += list(states)
        if since is not None:
            sql += " AND created_at >= ?"
            values.append(since.isoformat())
        with self._lock:
            return int(self._db.execute(sql, values).fetchone()[0])

    def last_operation(self, resource_key: str, states: tuple[str, ...] = MADE) -> LastOperation | None:
        marks = ",".join("?" * len(states))
        with self._lock:
            row = self._db.execute(
                f"SELECT action, state, created_at FROM operations WHERE lower(resource_id) = ? AND state IN ({marks})"  # nosec B608 - IN (?, ...) marks only, values bound
                " ORDER BY created_at DESC LIMIT 1",
                (resource_key, *states),
            ).fetchone()
        return cast(LastOperation, dict(row)) if row else None

    def mark_unhealthy(self, scope: str, resource_key: str, at: datetime) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO unhealthy_marks(scope, resource_key, at) VALUES (?, ?, ?)",
                             (scope, resource_key, at.isoformat()))

    def unmark_unhealthy(self, scope: str, resource_key: str, since: datetime) -> None:
        """The resource's marks since a time were its owner's doing after all (a deallocation's
        annotation came after its Unavailable): the storm breaker no longer counts them."""
        with self._lock:
            self._db.execute("DELETE FROM unhealthy_marks WHERE scope = ? AND resource_key = ? AND at >= ?",
                             (scope, resource_key, since.isoformat()))

    def marked(self, scope: str, resource_key: str, since: datetime) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM unhealthy_marks WHERE scope = ? AND resource_key = ? AND at >= ? LIMIT 1",
                                   (scope, resource_key, since.isoformat())).fetchone()
        return row is not None

    def count_unhealthy(self, scope: str, since: datetime) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(DISTINCT resource_key) FROM unhealthy_marks WHERE scope = ? AND at >= ?",
                                   (scope, since.isoformat())).fetchone()
        return int(row[0])

    def storm(self, scope: str) -> Storm | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM storms WHERE scope = ?", (scope,)).fetchone()
        return cast(Storm, dict(row)) if row else None

    def open_storm(self, scope: str, at: datetime, reason: str) -> bool:
        """True when this call tripped the breaker (the storm was not open yet)."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO storms(scope, tripped_at, last_over_at, reason) VALUES (?, ?, ?, ?)",
                                      (scope, at.isoformat(), at.isoformat(), reason))
            if cursor.rowcount == 0:
                self._db.execute("UPDATE storms SET last_over_at = ? WHERE scope = ?", (at.isoformat(), scope))
            return cursor.rowcount == 1

    def close_storm(self, scope: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM storms WHERE scope = ?", (scope,)).rowcount == 1

    # The slots' algorithm is ledger/slots.py's; these are its rows.

    def _slot_claiming(self) -> AbstractContextManager[None]:
        return self._transaction()

    def _read_slots(self, scope: str) -> dict[int, StoredSlot]:
        rows = self._db.execute("SELECT slot, holder, expires_at FROM slots WHERE scope = ?", (scope,)).fetchall()
        return {row[0]: StoredSlot(row[1], datetime.fromisoformat(row[2]), (row[1], row[2])) for row in rows}

    def _insert_slot(self, scope: str, slot: int, holder: str, until: datetime) -> bool:
        return self._db.execute("INSERT OR IGNORE INTO slots(scope, slot, holder, expires_at) VALUES (?, ?, ?, ?)",
                                (scope, slot, holder, until.isoformat())).rowcount == 1

    def _take_slot(self, scope: str, slot: int, read: StoredSlot, holder: str, until: datetime) -> bool:
        was_held_by, was_until = read.version
        return self._db.execute("UPDATE slots SET holder = ?, expires_at = ? WHERE scope = ? AND slot = ? AND holder = ?"
                                " AND expires_at = ?", (holder, until.isoformat(), scope, slot, was_held_by, was_until)).rowcount == 1

    def release_slot(self, scope: str, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM slots WHERE scope = ? AND holder = ?", (scope, holder))

    def set_switch(self, name: str, value: str, by: str, at: datetime) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO switches(name, value, set_by, set_at) VALUES (?, ?, ?, ?)",
                             (name, value, by, at.isoformat()))

    def switch(self, name: str) -> Switch | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM switches WHERE name = ?", (name,)).fetchone()
        return cast(Switch, dict(row)) if row else None
