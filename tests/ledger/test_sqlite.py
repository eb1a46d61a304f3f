"""What only the SQLite ledger has: files written by earlier versions of the app."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from ledger import SqliteLedger
from rules.ports import CLAIMED, DECIDED

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
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
