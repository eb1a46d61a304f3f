"""The embedded ledger: one SQLite file (or memory), zero set-up. For the command line and tests.

Writes go through one connection under a lock; a conditional insert (INSERT OR IGNORE on a
primary key) is the claim that makes a second delivery a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from rules import Decision, Signal
from rules.engine import recorded_reading
from rules.ports import IncidentRef
from rules.records import HeldAction, HistoryRow, IncidentRow, SignalRow
from rules.signals import recorded_facts

from ..claims import CLAIMED, EXISTS, ClaimBook, ClaimLost, DeliveryClaims, StoredClaim
from ..errors import LedgerError
from .approvals import APPROVALS_SCHEMA, SqliteApprovals, add_approver_columns
from .checkpoint import Checkpointer
from .operations import OPERATIONS_SCHEMA, SqliteOperations, signal_row
from .retention import SqliteRetention
from .safety import SAFETY_SCHEMA, SqliteSafety
from .sweep_cursor import SqliteSweepCursor
from .waves import WAVES_SCHEMA, SqliteWaves

# Every signal's commit writes the pages its rows touch, about 5 us each (docs/performance.md),
# so: signals, decisions and rejections are never deleted, and a plain INTEGER PRIMARY KEY
# numbers them as AUTOINCREMENT would without writing sqlite_sequence each time; deliveries are
# keyed by their text key alone (WITHOUT ROWID: one B-tree, not a table and its index). Files
# made before keep their tables as they are: the same answers, a page or two more a commit.
SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    holder TEXT,
    lease_until TEXT,
    decided_at TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    last_signal_at TEXT NOT NULL,
    closed_at TEXT,
    close_reason TEXT
);
CREATE INDEX IF NOT EXISTS incidents_by_key ON incidents(key, closed_at);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY,
    delivery_key TEXT NOT NULL,
    incident_id TEXT,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    occurred TEXT NOT NULL,
    received TEXT NOT NULL,
    input TEXT NOT NULL,
    summary TEXT NOT NULL,
    facts TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS signals_by_resource ON signals(resource_key, name, occurred);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    signal_id INTEGER,
    incident_id TEXT,
    at TEXT NOT NULL,
    rule TEXT NOT NULL,
    action TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    brakes TEXT NOT NULL,
    reading TEXT NOT NULL DEFAULT '{}'
);
-- No index on decisions: every signal writes one, and no query reads them by incident (each
-- index is one more page in every signal's commit). Files from before lose the old one.
DROP INDEX IF EXISTS decisions_by_incident;
CREATE TABLE IF NOT EXISTS action_holds (
    incident_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    decision_ref TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    input TEXT NOT NULL,
    location TEXT NOT NULL,
    problem TEXT NOT NULL,
    excerpt TEXT NOT NULL
);
"""

# SQLite checkpoints inside a commit only if the log grows this long (pages; its default is 1,000).
BACKSTOP_CHECKPOINT_PAGES = 10_000


def _iso(at: datetime) -> str:
    return at.isoformat()


def _within(stamp: str, since: datetime | None, until: datetime | None) -> bool:
    at = datetime.fromisoformat(stamp)
    return (since is None or at >= since) and (until is None or at <= until)


class SqliteLedger(DeliveryClaims, SqliteOperations, SqliteSafety, SqliteApprovals, SqliteWaves, SqliteRetention, SqliteSweepCursor):
    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                # With WAL, NORMAL never corrupts the file; only the last commits may be lost on a
                # power cut (the next delivery or sweep brings them back). FULL syncs every commit.
                self._db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints run in a thread of their own (ledger/sqlite/checkpoint.py); SQLite's
                # own stays as a backstop, far enough off that it seldom runs in a commit.
                self._db.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
            self._db.executescript(SCHEMA + OPERATIONS_SCHEMA + SAFETY_SCHEMA + APPROVALS_SCHEMA + WAVES_SCHEMA)
            self._add_claim_columns()
            self._add_signal_facts()
            add_approver_columns(self._db)
            self._add_decision_reading()
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the SQLite ledger at {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        self._in_transaction = False
        self._claims = ClaimBook()
        self._checkpointer = Checkpointer(self.path) if self.path != ":memory:" else None

    def _add_claim_columns(self) -> None:
        """A ledger file written before claims had leases: its deliveries were all decided."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(deliveries)")}
        if "decided_at" in columns:
            return
        for column in ("holder", "lease_until", "decided_at"):
            if column not in columns:
                self._db.execute(f"ALTER TABLE deliveries ADD COLUMN {column} TEXT")
        self._db.execute("UPDATE deliveries SET decided_at = first_seen WHERE decided_at IS NULL")

    def _add_signal_facts(self) -> None:
        """A ledger file written before signals kept their facts: they read as none."""
        if "facts" not in {row[1] for row in self._db.execute("PRAGMA table_info(signals)")}:
            self._db.execute("ALTER TABLE signals ADD COLUMN facts TEXT NOT NULL DEFAULT '{}'")

    def _add_decision_reading(self) -> None:
        """A ledger file written before decisions kept their reading: they read as none (what-if
        says so for each, rather than guess)."""
        if "reading" not in {row[1] for row in self._db.execute("PRAGMA table_info(decisions)")}:
            self._db.execute("ALTER TABLE decisions ADD COLUMN reading TEXT NOT NULL DEFAULT '{}'")

    # -- deliveries: claimed under a lease, settled once decided ----------------------------------

    # The claim's algorithm is ledger/claims.py's; these are its reads and writes on one row.

    def _claiming(self) -> AbstractContextManager[None]:
        return self._locked_transaction()

    @contextmanager
    def _locked_transaction(self) -> Iterator[None]:
        with self._lock, self._transaction():
            yield

    def _insert_claim(self, key: str, incident_key: str, holder: str, at: datetime, until: datetime) -> str:
        inserted = self._db.execute("INSERT OR IGNORE INTO deliveries(key, first_seen, holder, lease_until) VALUES (?, ?, ?, ?)",
                                    (key, _iso(at), holder, _iso(until))).rowcount == 1
        return CLAIMED if inserted else EXISTS

    def _read_claim(self, key: str, incident_key: str) -> StoredClaim | None:
        row = self._db.execute("SELECT holder, lease_until, decided_at FROM deliveries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        lease_until = datetime.fromisoformat(row["lease_until"]) if row["lease_until"] else None
        return StoredClaim(row["holder"], lease_until, row["decided_at"] is not None, (row["holder"], row["lease_until"]))

    def _take_claim(self, key: str, incident_key: str, read: StoredClaim, holder: str, until: datetime) -> bool:
        was_held_by, was_until = read.version
        return self._db.execute(
            "UPDATE deliveries SET holder = ?, lease_until = ? WHERE key = ? AND holder IS ? AND lease_until IS ?"
            " AND decided_at IS NULL", (holder, _iso(until), key, was_held_by, was_until)).rowcount == 1

    def _settle_claim(self, key: str, incident_key: str, holder: str | None, at: datetime) -> None:
        with self._lock:
            if holder is None:  # a claim this instance does not remember: settled as it stands
                self._db.execute("UPDATE deliveries SET decided_at = ? WHERE key = ? AND decided_at IS NULL", (_iso(at), key))
                return
            settled = self._db.execute("UPDATE deliveries SET decided_at = ? WHERE key = ? AND holder = ? AND decided_at IS NULL",
                                       (_iso(at), key, holder)).rowcount == 1
        if not settled:
            raise ClaimLost(f"the claim of delivery {key!r} is gone (purged, or taken over once its lease ran out)")

    def _release_claim(self, key: str, incident_key: str, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE key = ? AND holder = ? AND decided_at IS NULL", (key, holder))

    # -- writes -------------------------------------------------------------------------------

    def open_incident(self, key: str, resource_id: str, at: datetime, ttl: timedelta) -> IncidentRef:
        with self._lock, self._transaction():
            row = self._db.execute(
                "SELECT * FROM incidents WHERE key = ? AND closed_at IS NULL ORDER BY opened_at DESC LIMIT 1", (key,)
            ).fetchone()
            if row is not None and datetime.fromisoformat(row["last_signal_at"]) + ttl >= at:
                self._db.execute(
                    "UPDATE incidents SET last_signal_at = max(last_signal_at, ?) WHERE id = ?", (_iso(at), row["id"])
                )
                return IncidentRef(row["id"], key, row["resource_id"], datetime.fromisoformat(row["opened_at"]), False)
            if row is not None:
                self._db.execute(
                    "UPDATE incidents SET closed_at = ?, close_reason = ? WHERE id = ?",
                    (_iso(at), "quiet for longer than the incident time-to-live", row["id"]),
                )
            incident_id = "INC-" + uuid.uuid4().hex[:10]
            self._db.execute(
                "INSERT INTO incidents(id, key, resource_id, opened_at, last_signal_at) VALUES (?, ?, ?, ?, ?)",
                (incident_id, key, resource_id, _iso(at), _iso(at)),
            )
            return IncidentRef(incident_id, key, resource_id, at, True)

    def close_incident(self, incident_id: str, at: datetime, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE incidents SET closed_at = ?, close_reason = ? WHERE id = ? AND closed_at IS NULL",
                (_iso(at), reason, incident_id),
            )

    def record_signal(self, signal: Signal, incident_id: str | None, at: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO signals(delivery_key, incident_id, source, event_id, kind, name, resource_key, resource_id,"
                " occurred, received, input, summary, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    signal.delivery_key, incident_id, signal.source, signal.event_id, signal.kind, signal.name,
                    signal.resource_key, signal.resource_id, _iso(signal.occurred), _iso(at), signal.input,
                    signal.summary[:1000], recorded_facts(signal),
                ),
            )
            return cast(int, cursor.lastrowid)  # an INSERT sets it

    def record_decision(self, signal_id: int | None, incident_id: str | None, decision: Decision, at: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO decisions(signal_id, incident_id, at, rule, action, mode, status, reason, brakes, reading)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    signal_id, incident_id, _iso(at), decision.rule, decision.action, decision.mode, decision.status,
                    decision.reason, json.dumps(list(decision.brakes)), recorded_reading(decision.reading),
                ),
            )
            return cast(int, cursor.lastrowid)  # an INSERT sets it

    def record_rejection(self, input_name: str, where: str, problem: str, excerpt: str, at: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO rejections(at, input, location, problem, excerpt) VALUES (?, ?, ?, ?, ?)",
                (_iso(at), input_name, where, problem, excerpt[:1000]),
            )
            return cast(int, cursor.lastrowid)  # an INSERT sets it

    # -- the one action per incident: a conditional insert on the incident id is the hold ------

    def hold_action(self, incident_id: str, action: str, decision_ref: str, at: datetime, status: str = "held") -> HeldAction | None:
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO action_holds(incident_id, action, status, decision_ref, at) VALUES (?, ?, ?, ?, ?)",
                (incident_id, action, status, str(decision_ref), _iso(at)),
            )
            if cursor.rowcount == 1:
                return None
            row = self._db.execute(
                "SELECT action, status, decision_ref, at FROM action_holds WHERE incident_id = ?", (incident_id,)
            ).fetchone()
            return cast(HeldAction, dict(row))

    def update_hold(self, incident_id: str, status: str) -> None:
        with self._lock:
            self._db.execute("UPDATE action_holds SET status = ? WHERE incident_id = ?", (status, incident_id))

    def release_action(self, incident_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM action_holds WHERE incident_id = ?", (incident_id,))

    # -- reads --------------------------------------------------------------------------------

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(DISTINCT occurred) FROM signals WHERE resource_key = ? AND name = ? AND occurred >= ?"
                " AND occurred <= ?",
                (resource_key, name, _iso(since), _iso(until)),
            ).fetchone()
            return int(row[0])

    def incident(self, incident_id: str) -> IncidentRow | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
            return cast(IncidentRow, dict(row)) if row else None

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[HistoryRow]:
        clauses, values = [], []
        if since is not None:
            clauses.append("d.at >= ?")
            values.append(_iso(since))
        if resource:
            clauses.append("(s.resource_key = ? OR s.resource_key LIKE ?)")
            values += [resource.lower(), f"%/{resource.lower()}"]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._db.execute(
                "SELECT d.*, s.kind, s.name, s.resource_id, s.event_id, s.source, s.input, s.occurred"  # nosec B608 - WHERE joins fixed clauses, values bound
                f" FROM decisions d LEFT JOIN signals s ON s.id = d.signal_id {where} ORDER BY d.id",
                values,
            ).fetchall()
        return [cast(HistoryRow, dict(row)) for row in rows]

    def recorded_signals(self, since: datetime | None = None, until: datetime | None = None) -> list[SignalRow]:
        """The signals received in a period (both ends included), in the order they arrived, with
        their facts: what responder/whatif re-decides."""
        with self._lock:
            rows = [signal_row(row) for row in self._db.execute("SELECT * FROM signals ORDER BY id").fetchall()]
        return [row for row in rows if _within(row["received"], since, until)]

    def rejections(self) -> list[Mapping[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM rejections ORDER BY id").fetchall()]

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._db.close()

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def atomically(self) -> Iterator[None]:
        """Everything inside is one transaction: a signal's writes cost one commit, and a worker
        stopped half-way leaves none of them. Nested calls join the transaction under way."""
        with self._lock:
            if self._in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
            try:
                yield
            except BaseException:
                self._in_transaction = False
                self._db.execute("ROLLBACK")
                raise
            self._in_transaction = False
            self._db.execute("COMMIT")
            if self._checkpointer is not None:
                self._checkpointer.committed()

    def _transaction(self) -> AbstractContextManager[None]:
        return self.atomically()
