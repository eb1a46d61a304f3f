"""The notification outbox in SQLite (the standard sqlite3 module).

Shares the ledger's database file, in tables of its own (`outbox_*`, created IF NOT EXISTS).
Every write is one `BEGIN IMMEDIATE` transaction, so many workers (threads or processes) on
one file serialise on SQLite's write lock; the claim is a conditional UPDATE from pending to
sending, and only the worker whose UPDATE changed a row sends.

Times are stored as epoch seconds (REAL) so that comparisons are numeric.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast, overload

from notify.errors import OutboxError
from notify.outbox import DIGEST, FAILED, PENDING, SENDING, SENT, Allowance, Entry, Message, Placement, Window
from notify.recording import fold_window, record_entry
from notify.routes import Destination

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    route TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    incident_id TEXT,
    cause TEXT NOT NULL,
    state TEXT NOT NULL,
    sealed INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    due_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    last_error TEXT,
    payload TEXT,
    sent_at REAL,
    note TEXT,
    notices INTEGER NOT NULL DEFAULT 0,
    follows INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS outbox_messages_due ON outbox_messages (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_messages_open ON outbox_messages (destination, incident_id, sealed, state);
CREATE INDEX IF NOT EXISTS outbox_messages_scope ON outbox_messages (destination, cause, state);
CREATE TABLE IF NOT EXISTS outbox_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER,
    destination TEXT,
    route TEXT,
    incident_id TEXT NOT NULL,
    cause TEXT,
    state TEXT NOT NULL,
    why TEXT,
    body TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    notice_key TEXT
);
CREATE INDEX IF NOT EXISTS outbox_notices_message ON outbox_notices (message_id);
CREATE INDEX IF NOT EXISTS outbox_notices_incident ON outbox_notices (incident_id);
CREATE TABLE IF NOT EXISTS outbox_windows (
    destination TEXT NOT NULL,
    cause TEXT NOT NULL,
    opened_at REAL NOT NULL,
    closes_at REAL NOT NULL,
    individual TEXT NOT NULL,
    digest_message INTEGER,
    storm INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (destination, cause)
);
CREATE TABLE IF NOT EXISTS outbox_sends (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_sends_key ON outbox_sends (key, at);
"""


# What `due` reads of a message: everything but its rendering.
DUE_COLUMNS = ("id, destination, route, channel, target, kind, incident_id, cause, state, created_at, due_at,"
               " next_attempt_at, attempts, uncertain, last_error, sent_at, note, notices")


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@overload
def _dt(value: float) -> datetime: ...
@overload
def _dt(value: None) -> None: ...
def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class SqliteScope:
    """`notify.recording.Scope` inside one write transaction: the outbox's storage primitives."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def seen(self, key: str) -> int | None:
        row = self.db.execute("SELECT message_id FROM outbox_notices WHERE notice_key = ?", (key,)).fetchone()
        return None if row is None else cast(int, row["message_id"] or 0)

    def window(self, destination: str, cause: str) -> Window | None:
        row = self.db.execute("SELECT * FROM outbox_windows WHERE destination = ? AND cause = ?", (destination, cause)).fetchone()
        if row is None:
            return None
        return Window(row["destination"], row["cause"], _dt(row["opened_at"]), _dt(row["closes_at"]),
                      tuple(json.loads(row["individual"])), row["digest_message"], bool(row["storm"]))

    def is_open(self, message_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM outbox_messages WHERE id = ? AND sealed = 0 AND state = ?",
                               (message_id, PENDING)).fetchone() is not None

    def open_message(self, destination: str, incident_id: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM outbox_messages WHERE destination = ? AND incident_id = ? AND kind = 'incident'"
            " AND sealed = 0 AND state = ? AND follows = 1 ORDER BY id DESC LIMIT 1",
            (destination, incident_id, PENDING),
        ).fetchone()
        return None if row is None else cast(int, row["id"])

    def new_message(self, entry: Entry, kind: str, incident_id: str | None, *, created: datetime, due: datetime,
                    follows: bool) -> int:
        dest = cast(Destination, entry.destination)  # only routed entries are recorded
        cur = self.db.execute(
            "INSERT INTO outbox_messages (destination, route, channel, target, kind, incident_id, cause, state,"
            " created_at, due_at, next_attempt_at, note, follows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (dest.key, dest.route, dest.channel, dest.target, kind, incident_id, entry.cause, PENDING, _ts(created), _ts(due),
             _ts(due), dest.note, int(follows)),
        )
        return cast(int, cur.lastrowid)  # an INSERT sets it

    def save_window(self, window: Window) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO outbox_windows (destination, cause, opened_at, closes_at, individual, digest_message, storm)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (window.destination, window.cause, _ts(window.opened_at), _ts(window.closes_at), json.dumps(list(window.individual)),
             window.digest_message, int(window.storm)),
        )

    def attach(self, message_id: int, entry: Entry) -> None:
        dest = cast(Destination, entry.destination)
        self.db.execute("UPDATE outbox_messages SET notices = notices + 1 WHERE id = ?", (message_id,))
        self.db.execute(
            "INSERT INTO outbox_notices (message_id, destination, route, incident_id, cause, state, why, body, submitted_at,"
            " notice_key) VALUES (?, ?, ?, ?, ?, 'queued', NULL, ?, ?, ?)",
            (message_id, dest.key, dest.route, entry.incident_id, entry.cause, entry.notice_json, _ts(entry.submitted_at), entry.key),
        )

    def held(self, destination: str, cause: str, incident_id: str, keep: int) -> int | None:
        row = self.db.execute(
            "SELECT id FROM outbox_messages WHERE destination = ? AND cause = ? AND kind = 'incident' AND sealed = 0"
            " AND state = ? AND id != ? AND incident_id = ? AND follows = 1 ORDER BY id DESC LIMIT 1",
            (destination, cause, PENDING, keep, incident_id),
        ).fetchone()
        return None if row is None else cast(int, row["id"])

    def move(self, message_id: int, digest_id: int) -> bool:
        moved = self.db.execute("UPDATE outbox_notices SET message_id = ? WHERE message_id = ?", (digest_id, message_id)).rowcount
        self.db.execute("DELETE FROM outbox_messages WHERE id = ?", (message_id,))
        self.db.execute("UPDATE outbox_messages SET notices = notices + ? WHERE id = ?", (moved, digest_id))
        return True


class SqliteOutbox:
    """`notify.outbox.OutboxStore` over one SQLite file (shared with the ledger)."""

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        # One connection per store, under a lock: threads of one worker take turns, and
        # processes on one file take turns on SQLite's own lock (busy_timeout). A single
        # connection also makes ":memory:" work like a file.
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.executescript(SCHEMA)
            columns = {row["name"] for row in self._conn.execute("PRAGMA table_info(outbox_windows)")}
            if "storm" not in columns:  # a ledger made before windows knew about storms
                self._conn.execute("ALTER TABLE outbox_windows ADD COLUMN storm INTEGER NOT NULL DEFAULT 0")
            if "follows" not in {row["name"] for row in self._conn.execute("PRAGMA table_info(outbox_messages)")}:
                # A ledger made before the storm notice was told in a message no follow-up joins.
                self._conn.execute("ALTER TABLE outbox_messages ADD COLUMN follows INTEGER NOT NULL DEFAULT 1")
            if "notice_key" not in {row["name"] for row in self._conn.execute("PRAGMA table_info(outbox_notices)")}:
                self._conn.execute("ALTER TABLE outbox_notices ADD COLUMN notice_key TEXT")  # a ledger made before notices had keys
            # A notice's identity (Entry.key) is recorded once: a redelivery's second recording adds nothing.
            self._conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS outbox_notices_key ON outbox_notices (notice_key)"
                               " WHERE notice_key IS NOT NULL")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot prepare the outbox tables in {self.path}: {exc}") from exc

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._conn
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox is locked or unavailable: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox read failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- recording --------------------------------------------------------------------------

    def enqueue(self, entries: Sequence[Entry], place: Callable[[Entry, Window | None], Placement]) -> list[int]:
        """Record notices and attach each to an incident message or its window's digest
        (notify/recording.py), in one transaction: a fold moves the window's held messages in it too."""
        ids: list[int] = []
        try:
            with self._write() as db:
                scope = SqliteScope(db)
                for entry in entries:
                    message, fold = record_entry(scope, entry, place)
                    if fold:
                        fold_window(scope, entry, keep=message)
                    ids.append(message)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox write failed: {exc}") from exc
        return ids

    def record(self, unsent: Sequence[tuple[Entry, str, str]]) -> None:
        rows = [
            (
                entry.destination.key if entry.destination else None,
                entry.destination.route if entry.destination else None,
                entry.incident_id, entry.cause, state, why, entry.notice_json, _ts(entry.submitted_at), entry.key,
            )
            for entry, state, why in unsent
        ]
        try:
            with self._write() as db:
                db.executemany(
                    "INSERT INTO outbox_notices (message_id, destination, route, incident_id, cause, state, why, body,"
                    " submitted_at, notice_key) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (notice_key) WHERE notice_key IS NOT NULL DO NOTHING",
                    rows,
                )
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox write failed: {exc}") from exc

    # -- sending ----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100, allowance: Allowance | None = None) -> list[Message]:
        # Without renderings, as on Table Storage: the claim reads the message whole.
        rows = self._read(
            f"SELECT {DUE_COLUMNS}, NULL AS payload FROM outbox_messages"  # nosec B608 - a constant
            " WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
            (PENDING, _ts(now), limit if allowance is None else -1),
        )
        found = []
        for row in rows:
            message = self._message(row)
            if allowance is not None:
                if allowance.left(message.channel, message.target) <= 0:
                    continue
                allowance.take(message.channel, message.target)
            found.append(message)
            if len(found) >= limit:
                break
        return found

    def next_due(self) -> datetime | None:
        rows = self._read("SELECT MIN(next_attempt_at) AS at FROM outbox_messages WHERE state = ?", (PENDING,))
        return _dt(rows[0]["at"]) if rows else None

    def claim(self, message_id: int, now: datetime, lease_until: datetime) -> Message | None:
        try:
            with self._write() as db:
                cur = db.execute(
                    "UPDATE outbox_messages SET state = ?, sealed = 1, attempts = attempts + 1, lease_until = ?"
                    " WHERE id = ? AND state = ? AND next_attempt_at <= ?",
                    (SENDING, _ts(lease_until), message_id, PENDING, _ts(now)),
                )
                if cur.rowcount != 1:
                    return None
                row = db.execute("SELECT * FROM outbox_messages WHERE id = ?", (message_id,)).fetchone()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox claim failed: {exc}") from exc
        return self._message(row)

    def told(self, incident_id: str) -> list[tuple[str, str]]:
        """(destination key, route) of every message that carries a notice of the incident."""
        rows = self._read("SELECT destination, route FROM outbox_notices WHERE incident_id = ? AND message_id IS NOT NULL"
                          " GROUP BY destination, route ORDER BY MIN(id)", (incident_id,))
        return [(r["destination"], r["route"] or "") for r in rows]

    def notices(self, message_id: int) -> list[str]:
        rows = self._read("SELECT body FROM outbox_notices WHERE message_id = ? ORDER BY id", (message_id,))
        return [r["body"] for r in rows]

    def _update(self, sql: str, args: Sequence[Any]) -> None:
        try:
            with self._write() as db:
                db.execute(sql, args)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox write failed: {exc}") from exc

    def save_payload(self, message_id: int, payload: dict[str, Any]) -> None:
        self._update("UPDATE outbox_messages SET payload = ? WHERE id = ?", (json.dumps(payload, ensure_ascii=False), message_id))

    def mark_sent(self, message_id: int, now: datetime, note: str | None = None) -> None:
        self._update(
            "UPDATE outbox_messages SET state = ?, sent_at = ?, lease_until = NULL, uncertain = 0, note = COALESCE(?, note) WHERE id = ?",
            (SENT, _ts(now), note, message_id),
        )

    def active_scopes(self) -> dict[str, dict[str, bool]]:
        rows = self._read("SELECT destination, cause, MAX(kind = ?) AS digest FROM outbox_messages WHERE state IN (?, ?)"
                          " GROUP BY destination, cause", (DIGEST, PENDING, SENDING))
        found: dict[str, dict[str, bool]] = {}
        for row in rows:
            found.setdefault(row["destination"], {})[row["cause"]] = bool(row["digest"])
        return found

    def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str, *, uncertain: bool) -> None:
        self._update(
            "UPDATE outbox_messages SET state = ?, next_attempt_at = ?, last_error = ?, uncertain = ?, lease_until = NULL WHERE id = ?",
            (PENDING, _ts(next_attempt_at), error, int(uncertain), message_id),
        )

    def mark_failed(self, message_id: int, now: datetime, error: str) -> None:
        self._update(
            "UPDATE outbox_messages SET state = ?, last_error = ?, lease_until = NULL, next_attempt_at = ? WHERE id = ?",
            (FAILED, error, _ts(now), message_id),
        )

    def reserve(self, key: str, now: datetime, limit: int, period_seconds: float) -> float:
        at = _ts(now)
        try:
            with self._write() as db:
                db.execute("DELETE FROM outbox_sends WHERE key = ? AND at <= ?", (key, at - period_seconds))
                rows = db.execute("SELECT at FROM outbox_sends WHERE key = ? ORDER BY at", (key,)).fetchall()
                if len(rows) < limit:
                    db.execute("INSERT INTO outbox_sends (key, at) VALUES (?, ?)", (key, at))
                    return 0.0
                return max(0.001, rows[len(rows) - limit]["at"] + period_seconds - at)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox rate limit failed: {exc}") from exc

    def available(self, key: str, now: datetime, limit: int, period_seconds: float) -> int:
        rows = self._read("SELECT COUNT(*) AS n FROM outbox_sends WHERE key = ? AND at > ?", (key, _ts(now) - period_seconds))
        return max(0, limit - (rows[0]["n"] if rows else 0))

    def recover(self, now: datetime) -> int:
        try:
            with self._write() as db:
                cur = db.execute(
                    "UPDATE outbox_messages SET state = ?, uncertain = 1, lease_until = NULL, next_attempt_at = ?,"
                    " last_error = COALESCE(last_error, 'worker stopped while sending')"
                    " WHERE state = ? AND lease_until < ?",
                    (PENDING, _ts(now), SENDING, _ts(now)),
                )
                return cur.rowcount
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox recovery failed: {exc}") from exc

    def purge(self, before: datetime) -> int:
        """Forget sent messages (and their notices) sent before `before`, notices recorded
        but not sent, and closed windows; failed and pending messages are kept whatever their age."""
        at = _ts(before)
        try:
            with self._write() as db:
                old = [r["id"] for r in db.execute("SELECT id FROM outbox_messages WHERE state = ? AND sent_at < ?", (SENT, at))]
                db.executemany("DELETE FROM outbox_notices WHERE message_id = ?", [(i,) for i in old])
                db.executemany("DELETE FROM outbox_messages WHERE id = ?", [(i,) for i in old])
                db.execute("DELETE FROM outbox_notices WHERE message_id IS NULL AND submitted_at < ?", (at,))
                db.execute("DELETE FROM outbox_windows WHERE closes_at < ?", (at,))
                return len(old)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox purge failed: {exc}") from exc

    # -- looking ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out = {state: 0 for state in (PENDING, SENDING, SENT, FAILED)}
        for r in self._read("SELECT state, COUNT(*) AS n FROM outbox_messages GROUP BY state"):
            out[r["state"]] = r["n"]
        for r in self._read("SELECT state, COUNT(*) AS n FROM outbox_notices WHERE message_id IS NULL GROUP BY state"):
            out[f"notices-{r['state']}"] = r["n"]
        return out

    def messages(self, state: str | None = None, limit: int = 1000) -> list[Message]:
        if state is None:
            rows = self._read("SELECT * FROM outbox_messages ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._read("SELECT * FROM outbox_messages WHERE state = ? ORDER BY id LIMIT ?", (state, limit))
        return [self._message(r) for r in rows]

    @staticmethod
    def _message(row: sqlite3.Row) -> Message:
        return Message(
            id=row["id"],
            destination=row["destination"],
            route=row["route"],
            channel=row["channel"],
            target=row["target"],
            kind=row["kind"],
            incident_id=row["incident_id"],
            cause=row["cause"],
            state=row["state"],
            created_at=_dt(row["created_at"]),
            due_at=_dt(row["due_at"]),
            next_attempt_at=_dt(row["next_attempt_at"]),
            attempts=row["attempts"],
            uncertain=bool(row["uncertain"]),
            last_error=row["last_error"],
            payload=json.loads(row["payload"]) if row["payload"] else None,
            sent_at=_dt(row["sent_at"]),
            note=row["note"],
            notices=row["notices"],
        )
