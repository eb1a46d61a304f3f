"""Maintenance waves in the SQLite ledger: one row per wave, one per member.

Every move is a conditional update, so many workers advancing at once act once:

    wave:    open -> stopped -> closed            (stop_wave, close_wave: a person looked)
             open -> finished                     (finish_wave: nothing left to do)
             active_group NULL -> g -> NULL        (claim_group / release_group: one update domain at a
                                                   time in a scope, with the pause between them)
    member:  pending -> starting -> running -> recovering -> done
                     \\-> skipped     \\-> failed | skipped | pending (a brake that passes)

At most one wave is open or stopped per scope (a partial unique index), so two workers enrolling
VMs of one scope at once share one wave; a member is unique per wave and resource.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from rules.records import NewWaveMember, Wave, WaveMember, WaveOperation

from ..backend_state import SqliteState
from ..rows import decoded, json_text, utc_text

WAVES_SCHEMA = """
CREATE TABLE IF NOT EXISTS waves (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    active_group TEXT,
    activated_at TEXT,
    rest_until TEXT,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS waves_one_live_per_scope ON waves(scope) WHERE state IN ('open', 'stopped');
CREATE TABLE IF NOT EXISTS wave_members (
    wave_id TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    signal_id INTEGER,
    mode TEXT NOT NULL,
    params TEXT NOT NULL,
    facts TEXT NOT NULL,
    update_group TEXT NOT NULL,
    window_start TEXT,
    window_end TEXT,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    operation_id INTEGER,
    enrolled_at TEXT NOT NULL,
    claimed_at TEXT,
    started_at TEXT,
    available_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (wave_id, resource_key)
);
CREATE INDEX IF NOT EXISTS wave_members_by_resource ON wave_members(resource_key, state);
CREATE INDEX IF NOT EXISTS wave_members_by_state ON wave_members(state, wave_id);
"""

LIVE_WAVE_STATES = ("open", "stopped")
_MEMBER_COLUMNS = ("state", "reason", "operation_id", "claimed_at", "started_at", "available_at")


def _member(row: sqlite3.Row) -> WaveMember:
    return cast(WaveMember, decoded(dict(row)))


def _wave(row: sqlite3.Row) -> Wave:
    return cast(Wave, dict(row))


class SqliteWaves(SqliteState):
    """Mixed into SqliteLedger: uses its connection and lock."""

    # -- waves ----------------------------------------------------------------------------------

    def live_wave(self, scope: str, new_id: str, at: datetime) -> Wave:
        """The open (or stopped) wave of a scope; a new open one with `new_id` if there is none."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO waves(id, scope, state, created_at, updated_at) VALUES (?, ?, 'open', ?, ?)",
                (new_id, scope, utc_text(at), utc_text(at)),
            )
            row = self._db.execute("SELECT * FROM waves WHERE scope = ? AND state IN ('open', 'stopped')",
                                   (scope,)).fetchone()
        return _wave(row)

    def wave(self, wave_id: str) -> Wave | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM waves WHERE id = ?", (wave_id,)).fetchone()
        return _wave(row) if row else None

    def waves(self, states: Iterable[str] | None = None) -> list[Wave]:
        with self._lock:
            if states is None:
                rows = self._db.execute("SELECT * FROM waves ORDER BY created_at, id").fetchall()
            else:
                states = tuple(states)
                marks = ",".join("?" * len(states))
                rows = self._db.execute(f"SELECT * FROM waves WHERE state IN ({marks}) ORDER BY created_at, id",  # nosec B608 - IN (?, ...) marks only, values bound
                                        states).fetchall()
        return [_wave(r) for r in rows]

    def claim_group(self, wave_id: str, group: str, at: datetime, rested_since: datetime | None = None) -> bool:
        """Make `group` the wave's update domain in progress. Only if none is, the wave is open,
        no member of any wave of the same scope is starting, running or recovering, and (given
        `rested_since`) no member of another update domain of the scope became Available again
        after it (the pause between update domains). One statement: two workers cannot both win."""
        rested_since = rested_since or datetime.max.replace(tzinfo=UTC)
        with self._lock:
            cursor = self._db.execute(
                "UPDATE waves SET active_group = ?, activated_at = ?, updated_at = ?"
                " WHERE id = ? AND state = 'open' AND active_group IS NULL AND NOT EXISTS ("
                "  SELECT 1 FROM wave_members m JOIN waves o ON o.id = m.wave_id WHERE o.scope = waves.scope"
                "  AND (m.state IN ('starting', 'running', 'recovering')"
                "       OR (m.state = 'done' AND m.update_group != ? AND m.available_at > ?)))",
                (group, utc_text(at), utc_text(at), wave_id, group, utc_text(rested_since)),
            )
            return cursor.rowcount == 1

    def resting_groups(self, scope: str, rested_since: datetime) -> dict[str, str]:
        """Update domains of a scope with a member Available again after `rested_since`: group -> latest time."""
        with self._lock:
            rows = self._db.execute(
                "SELECT m.update_group, max(m.available_at) FROM wave_members m JOIN waves o ON o.id = m.wave_id"
                " WHERE o.scope = ? AND m.state = 'done' AND m.available_at > ? GROUP BY m.update_group",
                (scope, utc_text(rested_since)),
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def release_group(self, wave_id: str, group: str, at: datetime, rest_until: datetime | None = None) -> bool:
        """The group is over; `rest_until` (kept when None) says when another may start, for a
        person (claim_group enforces the pause). Refused while a member of the group is still
        starting, running or recovering (in the same statement, so a member another worker just
        claimed keeps its group in progress)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE waves SET active_group = NULL, activated_at = NULL, updated_at = ?,"
                " rest_until = COALESCE(?, rest_until)"
                " WHERE id = ? AND active_group = ? AND NOT EXISTS (SELECT 1 FROM wave_members WHERE wave_id = ?"
                " AND update_group = ? AND state IN ('starting', 'running', 'recovering'))",
                (utc_text(at), utc_text(rest_until) if rest_until else None, wave_id, group, wave_id, group),
            )
            return cursor.rowcount == 1

    def waves_in_progress(self) -> list[Wave]:
        """Open waves, and waves of any state with a member still starting, running or recovering."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM waves w WHERE state = 'open' OR EXISTS (SELECT 1 FROM wave_members m"
                " WHERE m.wave_id = w.id AND m.state IN ('starting', 'running', 'recovering'))"
                " ORDER BY created_at, id"
            ).fetchall()
        return [_wave(r) for r in rows]

    def stop_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE waves SET state = 'stopped', reason = ?, updated_at = ? WHERE id = ? AND state = 'open'",
                (reason, utc_text(at), wave_id),
            )
            return cursor.rowcount == 1

    def close_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        """A stopped wave a person has looked at: the scope's next enrolment opens a new wave."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE waves SET state = 'closed', reason = reason || '; ' || ?, updated_at = ?"
                " WHERE id = ? AND state = 'stopped'",
                (reason, utc_text(at), wave_id),
            )
            return cursor.rowcount == 1

    def finish_wave(self, wave_id: str, at: datetime) -> bool:
        """Finished when open with nothing left to start or follow (checked in the same statement)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE waves SET state = 'finished', updated_at = ? WHERE id = ? AND state = 'open'"
                " AND active_group IS NULL AND NOT EXISTS (SELECT 1 FROM wave_members WHERE wave_id = ?"
                " AND state IN ('pending', 'starting', 'running', 'recovering'))",
                (utc_text(at), wave_id, wave_id),
            )
            return cursor.rowcount == 1

    # -- members --------------------------------------------------------------------------------

    def add_wave_member(self, member: NewWaveMember) -> bool:
        """Add a member to a wave that is still open; False when the resource is already in it
        or the wave is no longer open (finished or stopped meanwhile)."""
        at = utc_text(member["enrolled_at"])
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO wave_members(wave_id, resource_key, resource_id, incident_id, signal_id, mode,"
                " params, facts, update_group, window_start, window_end, state, reason, enrolled_at, updated_at)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM waves WHERE id = ? AND state = 'open')",
                (
                    member["wave_id"], member["resource_key"], member["resource_id"], member["incident_id"],
                    member.get("signal_id"), member["mode"], json_text(member.get("params")),
                    json_text(member.get("facts")), member["update_group"],
                    member.get("window_start"), member.get("window_end"), member["state"], member.get("reason", ""),
                    at, at, member["wave_id"],
                ),
            )
            return cursor.rowcount == 1

    def wave_member(self, wave_id: str, resource_key: str) -> WaveMember | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM wave_members WHERE wave_id = ? AND resource_key = ?",
                                   (wave_id, resource_key)).fetchone()
        return _member(row) if row else None

    def wave_members(self, wave_id: str) -> list[WaveMember]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM wave_members WHERE wave_id = ? ORDER BY enrolled_at, resource_key",
                                    (wave_id,)).fetchall()
        return [_member(r) for r in rows]

    def live_membership(self, resource_key: str) -> WaveMember | None:
        """The resource's member row in a wave that is open or stopped, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT m.* FROM wave_members m JOIN waves w ON w.id = m.wave_id"
                " WHERE m.resource_key = ? AND w.state IN ('open', 'stopped') LIMIT 1",
                (resource_key,),
            ).fetchone()
        return _member(row) if row else None

    def update_wave_member(self, wave_id: str, resource_key: str, at: datetime, *, expect_state: str | None = None,
                           **changes: Any) -> bool:
        """Change a member; with `expect_state`, only if it is still in that state (the claim)."""
        unknown = set(changes) - set(_MEMBER_COLUMNS)
        if unknown:
            raise ValueError(f"not member columns: {', '.join(sorted(unknown))}")
        sets, values = ["updated_at = ?"], [utc_text(at)]
        for column, value in changes.items():
            sets.append(f"{column} = ?")
            values.append(utc_text(value) if isinstance(value, datetime) else value)
        where, tail = "wave_id = ? AND resource_key = ?", [wave_id, resource_key]
        if expect_state is not None:
            where += " AND state = ?"
            tail.append(expect_state)
        with self._lock:
            cursor = self._db.execute(f"UPDATE wave_members SET {', '.join(sets)} WHERE {where}", (*values, *tail))  # nosec B608 - column names checked against _MEMBER_COLUMNS, values bound
            return cursor.rowcount == 1

    def claim_wave_member(self, wave_id: str, resource_key: str, at: datetime) -> bool:
        """pending -> starting, only while the wave is open with the member's update domain in
        progress: the one worker that wins starts it, and never beside another update domain."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE wave_members SET state = 'starting', claimed_at = ?, updated_at = ?"
                " WHERE wave_id = ? AND resource_key = ? AND state = 'pending' AND EXISTS (SELECT 1 FROM waves"
                " WHERE id = ? AND state = 'open' AND active_group = wave_members.update_group)",
                (utc_text(at), utc_text(at), wave_id, resource_key, wave_id),
            )
            return cursor.rowcount == 1

    def last_operation_of(self, incident_id: str, resource_key: str, action: str) -> WaveOperation | None:
        """The newest operation of an action on a resource within an incident (the one a wave started)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, message, created_at, finished_at FROM operations WHERE incident_id = ?"
                " AND lower(resource_id) = ? AND action = ? ORDER BY id DESC LIMIT 1",
                (incident_id, resource_key, action),
            ).fetchone()
        return cast(WaveOperation, dict(row)) if row else None
