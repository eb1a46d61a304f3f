"""What only the SQLite ledger has: files written by earlier versions of the app."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from ledger import SqliteLedger
from rules import Decision
from rules.ports import CLAIMED, DECIDED

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def test_a_ledger_file_from_before_claim_leases_keeps_its_deliveries_decided(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE deliveries (key TEXT PRIMARY KEY, first_seen TEXT NOT NULL)")
    old.execute("INSERT INTO deliveries VALUES ('grid:seen-before', ?)", (T0.isoformat(),))
    old.commit()
    old.close()
    ledger = SqliteLedger(path)
    try:
        assert ledger.claim_delivery("grid:seen-before", T0 + 2 * LEASE, LEASE) == DECIDED
        assert ledger.claim_delivery("grid:new", T0, LEASE) == CLAIMED
    finally:
        ledger.close()
    assert SqliteLedger(path).claim_delivery("grid:new", T0 + 2 * LEASE, LEASE) == CLAIMED, "unsettled: lapsed, taken again"


def _claims(ledger: SqliteLedger, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        with ledger.atomically():
            ledger.claim_delivery(f"grid:e-{n}", T0, LEASE)
            ledger.settle_delivery(f"grid:e-{n}", T0)


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_checkpoints_run_in_the_ledgers_own_thread_not_in_a_commit(tmp_path):
    from ledger.sqlite.ledger import BACKSTOP_CHECKPOINT_PAGES

    ledger = SqliteLedger(tmp_path / "wal.sqlite")
    try:
        (pages,) = ledger._db.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert pages == BACKSTOP_CHECKPOINT_PAGES, "SQLite's own checkpoint is only the backstop"
        every = ledger._checkpointer.every
        _claims(ledger, every - 1)
        assert ledger._checkpointer.checkpoints == 0 and ledger._checkpointer._thread is None, "no thread until one is due"
        _claims(ledger, 1, start=every - 1)
        assert _wait_for(lambda: ledger._checkpointer.checkpoints == 1), "the commit that made it due nudged the thread"
        # What was checkpointed is in the database file itself: a reader that ignores the log sees it.
        assert _wait_for(lambda: _rows_in_the_file_alone(tmp_path / "wal.sqlite") >= every)
    finally:
        ledger.close()
    assert SqliteLedger(tmp_path / "wal.sqlite").claim_delivery("grid:e-0", T0, LEASE) == DECIDED


def _rows_in_the_file_alone(path) -> int:
    """Rows of `deliveries` in a copy of the database file without its -wal: what checkpoints copied."""
    import shutil

    copy = path.with_name("copy-" + path.name)
    shutil.copyfile(path, copy)
    db = sqlite3.connect(copy)
    try:
        return db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    except sqlite3.DatabaseError:
        return 0
    finally:
        db.close()
        copy.unlink()


def test_a_checkpointer_that_cannot_connect_leaves_the_ledger_working(tmp_path, caplog, monkeypatch):
    import ledger.sqlite.checkpoint as checkpoint

    def refused(path):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(checkpoint, "connect", refused)
    ledger = SqliteLedger(tmp_path / "alone.sqlite")
    try:
        _claims(ledger, ledger._checkpointer.every)
        assert _wait_for(lambda: "ledger checkpoints left to SQLite" in caplog.text)
        _claims(ledger, ledger._checkpointer.every * 2, start=ledger._checkpointer.every)
        assert ledger.claim_delivery("grid:e-1", T0, LEASE) == DECIDED
    finally:
        ledger.close()


def test_a_memory_ledger_has_no_checkpoint_thread():
    ledger = SqliteLedger(":memory:")
    assert ledger._checkpointer is None
    ledger.close()


def test_a_signal_s_rows_write_no_sequence_table_in_its_commit(tmp_path):
    from rules import Decision

    ledger = SqliteLedger(tmp_path / "new.sqlite")
    try:
        ids = [ledger.record_decision(None, None, Decision("none", "observe", "duplicate", "again"), T0) for _ in range(3)]
        ledger.record_rejection("t", "body", "is empty", "", T0)
        assert ids == [1, 2, 3], "numbered in order, as before"
        tables = {row[0] for row in ledger._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        sequenced = {row[0] for row in ledger._db.execute("SELECT name FROM sqlite_sequence")} if "sqlite_sequence" in tables else set()
        assert not sequenced & {"signals", "decisions", "rejections"}
    finally:
        ledger.close()


def test_decisions_carry_no_index_a_signal_would_pay_for_in_every_commit(tmp_path):
    path = tmp_path / "indexed.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, signal_id INTEGER, incident_id TEXT, at TEXT NOT NULL,"
                " rule TEXT NOT NULL, action TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, brakes TEXT NOT NULL)")
    old.execute("CREATE INDEX decisions_by_incident ON decisions(incident_id, action)")  # as files written before had
    old.commit()
    old.close()
    ledger = SqliteLedger(path)
    try:
        indexes = [row[0] for row in ledger._db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decisions'")]
        assert indexes == []
    finally:
        ledger.close()


def test_a_ledger_file_from_before_approvers_gets_their_columns(tmp_path):
    """A file whose approvals table predates who-decided columns is opened, and decides with them."""
    import sqlite3
    from datetime import UTC, datetime

    from ledger import SqliteLedger
    from ledger.sqlite.approvals import APPROVER_COLUMNS

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE approvals (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, signal_id INTEGER, action TEXT NOT NULL,"
        " resource_id TEXT NOT NULL, mode TEXT NOT NULL, params TEXT NOT NULL, facts TEXT NOT NULL, reason TEXT NOT NULL,"
        " created_at TEXT NOT NULL, expires_at TEXT NOT NULL, state TEXT NOT NULL, decided_by TEXT, decided_at TEXT,"
        " outcome_status TEXT, outcome_reason TEXT, settled_at TEXT);"
        "INSERT INTO approvals VALUES ('APR-00000000000000aa', 'INC-1', NULL, 'redeploy', '/x', 'approve', '{}', '{}', '',"
        " '2026-12-01T00:00:00.000000+00:00', '2099-01-01T00:00:00.000000+00:00', 'pending', NULL, NULL, NULL, NULL, NULL);")
    old.commit()
    old.close()
    ledger = SqliteLedger(str(path))
    try:
        columns = {row[1] for row in ledger._db.execute("PRAGMA table_info(approvals)")}
        assert set(APPROVER_COLUMNS) <= columns
        at = datetime(2026, 12, 4, 2, 14, tzinfo=UTC)
        assert ledger.decide_approval("APR-00000000000000aa", "approved", "ana", at, by_id="oid-1", via="link")
        row = ledger.approval("APR-00000000000000aa")
        assert (row["decided_by_id"], row["decided_via"], row["approvers"]) == ("oid-1", "link", [])
    finally:
        ledger.close()


def test_a_file_written_before_decisions_kept_their_reading_opens_and_reads_them_as_none(tmp_path):
    path = tmp_path / "before-readings.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE decisions (id INTEGER PRIMARY KEY, signal_id INTEGER, incident_id TEXT, at TEXT NOT NULL,"
                " rule TEXT NOT NULL, action TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, brakes TEXT NOT NULL)")
    old.execute("INSERT INTO decisions VALUES (1, NULL, NULL, ?, 'r', 'none', 'observe', 'noop', 'why', '[]')", (T0.isoformat(),))
    old.commit()
    old.close()
    ledger = SqliteLedger(path)
    try:
        ledger.record_decision(None, None, Decision("redeploy", "auto", "started", "now", reading={"start": "started"}), T0)
        assert [row["reading"] for row in ledger.history()] == ["{}", '{"start": "started"}']
    finally:
        ledger.close()
