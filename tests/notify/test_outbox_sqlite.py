"""The SQLite outbox: shares the ledger's file, claims are exclusive, rate limits are shared."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest

from ledger.sqlite.outbox import SqliteOutbox
from notify.digest import DigestPolicy, place
from notify.outbox import Entry
from notify.routes import Destination

from .conftest import T0, notice

DEST = Destination("ops-teams", "teams", "ops")


def entry(incident="INC-1", at=T0) -> Entry:
    return Entry(DEST, "sub|westeurope|sig", incident, notice(incident_id=incident).to_json(), at)


def placer(policy=DigestPolicy(hold=timedelta(0))):  # the store's mechanics: messages due at once
    return lambda e, w: place(w, destination=e.destination.key, cause=e.cause, incident_id=e.incident_id, now=e.submitted_at,
                              policy=policy, trips_storm=e.trips_storm)


def test_tables_live_beside_the_ledgers_in_one_file(tmp_path):
    path = tmp_path / "ledger.sqlite"
    from ledger import SqliteLedger

    ledger = SqliteLedger(str(path))
    SqliteOutbox(str(path))
    SqliteOutbox(str(path))  # again: IF NOT EXISTS
    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"outbox_messages", "outbox_notices", "outbox_windows", "outbox_sends"} <= names
    assert any(not n.startswith("outbox_") and not n.startswith("sqlite_") for n in names)
    ledger.close()


def test_follow_ups_join_the_open_message_until_it_is_claimed(store):
    a, b = store.enqueue([entry(), entry()], placer())
    assert a == b and len(store.notices(a)) == 2
    assert store.claim(a, T0, T0 + timedelta(minutes=1)) is not None
    (c,) = store.enqueue([entry()], placer())
    assert c != a  # sealed: a new message carries the follow-up


def test_only_one_worker_wins_a_claim(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    first = SqliteOutbox(path)
    ids = first.enqueue([entry(f"INC-{i}") for i in range(3)], placer())
    workers = [SqliteOutbox(path) for _ in range(8)]
    wins: list[int] = []
    lock = threading.Lock()

    def work(store):
        for message_id in set(ids):
            if store.claim(message_id, T0, T0 + timedelta(minutes=1)) is not None:
                with lock:
                    wins.append(message_id)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(set(ids))


@pytest.mark.parametrize(
    "limit,period,sends,granted",
    [(4, 1.0, 10, 4), (30, 60.0, 40, 30), (1, 1.0, 3, 1)],
)
def test_send_slots_per_channel_key(store, limit, period, sends, granted):
    waits = [store.reserve("teams:ops", T0, limit, period) for _ in range(sends)]
    assert waits.count(0.0) == granted
    assert all(0 < w <= period for w in waits if w)
    assert store.reserve("teams:ops", T0 + timedelta(seconds=period), limit, period) == 0.0  # the window moved on
    assert store.reserve("teams:dev", T0, limit, period) == 0.0  # another webhook has its own


def test_a_lease_that_runs_out_comes_back_uncertain(store):
    (mid,) = store.enqueue([entry()], placer())
    store.claim(mid, T0, T0 + timedelta(minutes=2))
    assert store.recover(T0 + timedelta(minutes=1)) == 0
    assert store.recover(T0 + timedelta(minutes=3)) == 1
    (message,) = store.messages()
    assert message.state == "pending" and message.uncertain


def test_counts_show_every_state(store):
    store.enqueue([entry()], placer())
    store.record([(entry("INC-2"), "routine", "routine")])
    assert store.counts() == {"pending": 1, "sending": 0, "sent": 0, "failed": 0, "notices-routine": 1}


def test_purge_forgets_old_sent_messages_and_keeps_failures(store):
    sent, failed, pending = (store.enqueue([entry(f"INC-{i}")], placer())[0] for i in range(3))
    for mid in (sent, failed):
        store.claim(mid, T0, T0 + timedelta(minutes=1))
    store.mark_sent(sent, T0)
    store.mark_failed(failed, T0, "refused")
    store.record([(entry("INC-9"), "routine", "routine")])
    assert store.purge(T0 + timedelta(days=31)) == 1
    assert sorted(m.state for m in store.messages()) == ["failed", "pending"]
    assert store.notices(sent) == [] and store.notices(failed)
