"""The notification outbox on both backends: the SQLite suite's cases (tests/notify/test_outbox_sqlite.py)
run again over SQLite and Table Storage, and the rest of the port's contract: due order, retries,
failures kept, renderings stored, digest windows, leases, and claims raced by many workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from ledger import outbox_for
from ledger.table.outbox import TableOutbox
from notify.digest import DigestPolicy
from notify.notice import Notice
from notify.outbox import Entry
from notify.routes import Destination
from tests.ledger.conftest import fresh_prefix
from tests.notify.conftest import T0, notice

# The SQLite suite's cases that speak only through the port: collected here with this module's `store`.
from tests.notify.test_outbox_sqlite import (  # noqa: F401
    DEST,
    entry,
    placer,
    test_a_lease_that_runs_out_comes_back_uncertain,
    test_counts_show_every_state,
    test_follow_ups_join_the_open_message_until_it_is_claimed,
    test_purge_forgets_old_sent_messages_and_keeps_failures,
    test_send_slots_per_channel_key,
)

DEV = Destination("dev-teams", "teams", "dev")
LEASE = timedelta(minutes=2)


def table_outbox(connection: str, prefix: str) -> TableOutbox:
    return TableOutbox.from_settings({"table_connection_string": connection, "table_prefix": prefix})


def drop(outbox: TableOutbox) -> None:
    for name in outbox.tables.values():
        outbox.service.delete_table(name)


@pytest.fixture(params=["sqlite", "table"])
def store(request, tmp_path):
    """A fresh, empty outbox of each kind: SQLite in a file, Table Storage under a new prefix."""
    if request.param == "sqlite":
        from ledger.sqlite.outbox import SqliteOutbox

        outbox = SqliteOutbox(str(tmp_path / "ledger.sqlite"))
        yield outbox
        outbox.close()
        return
    outbox = table_outbox(request.getfixturevalue("azurite"), fresh_prefix())
    yield outbox
    drop(outbox)
    outbox.close()


def at(**delta):
    return T0 + timedelta(**delta)


def test_due_is_oldest_first_and_waits_for_its_time(store):
    late = store.enqueue([entry("INC-2", at(seconds=30))], placer())[0]
    early = store.enqueue([entry("INC-1", at(seconds=10))], placer())[0]
    assert store.due(T0) == [] and store.next_due() == at(seconds=10)
    assert [m.id for m in store.due(at(seconds=10))] == [early]
    assert [m.id for m in store.due(at(minutes=1))] == [early, late]
    assert [m.id for m in store.due(at(minutes=1), limit=1)] == [early]
    (message,) = store.due(at(seconds=10))
    assert (message.state, message.kind, message.incident_id, message.destination, message.channel, message.target) == (
        "pending", "incident", "INC-1", "teams:ops", "teams", "ops",
    )
    assert (message.created_at, message.due_at, message.notices, message.attempts, message.uncertain) == (
        at(seconds=10), at(seconds=10), 1, 0, False,
    )


@pytest.mark.parametrize(
    "claim_at,first,second",
    [
        (at(seconds=0), True, False),  # due: one claim wins, a second finds it taken
        (at(seconds=-1), False, False),  # not due yet: nobody gets it
    ],
)
def test_a_claim_takes_a_due_message_once(store, claim_at, first, second):
    (mid,) = store.enqueue([entry()], placer())
    got = store.claim(mid, claim_at, claim_at + LEASE)
    assert (got is not None) == first
    if got is not None:
        assert (got.state, got.attempts, got.id) == ("sending", 1, mid)
        assert store.due(at(hours=1)) == []
    assert (store.claim(mid, claim_at, claim_at + LEASE) is not None) == second


def test_a_retry_comes_due_again_with_its_error_and_rendering(store):
    (mid,) = store.enqueue([entry()], placer())
    store.claim(mid, T0, T0 + LEASE)
    store.save_payload(mid, {"body": {"text": "é" * 40000}, "summary": "s", "label": "INC-1"})
    store.mark_retry(mid, at(seconds=30), "ThrottledError: 429", uncertain=True)
    assert store.due(at(seconds=29)) == [] and store.next_due() == at(seconds=30)
    (message,) = store.due(at(seconds=30))
    assert (message.state, message.last_error, message.uncertain) == ("pending", "ThrottledError: 429", True)
    # The listing a flush reads carries no rendering (tens of KB); the claim reads the message whole.
    assert message.payload is None
    again = store.claim(mid, at(seconds=30), at(seconds=30) + LEASE)
    assert again.attempts == 2 and again.payload == {"body": {"text": "é" * 40000}, "summary": "s", "label": "INC-1"}
    store.mark_sent(mid, at(seconds=31))
    (sent,) = store.messages("sent")
    assert (sent.sent_at, sent.uncertain, store.next_due()) == (at(seconds=31), False, None)


def test_a_failed_message_is_kept_with_its_error_and_notices(store):
    (mid,) = store.enqueue([entry()], placer())
    store.claim(mid, T0, T0 + LEASE)
    store.mark_failed(mid, T0, "RejectedError: 404")
    (failed,) = store.messages("failed")
    assert (failed.id, failed.last_error) == (mid, "RejectedError: 404")
    assert store.due(at(days=1)) == [] and len(store.notices(mid)) == 1
    assert store.purge(at(days=365)) == 0 and store.messages("failed")


def test_past_the_individual_ones_a_window_gathers_a_digest_sent_when_it_closes(store):
    policy = DigestPolicy(window=timedelta(minutes=5), individual=2, hold=timedelta(0))
    ids = store.enqueue([entry(f"INC-{i}", at(seconds=i)) for i in range(5)], placer(policy))
    first, second, digest = ids[0], ids[1], ids[2]
    assert len(set(ids)) == 3 and ids[2:] == [digest] * 3
    assert [m.id for m in store.due(at(seconds=10))] == [first, second]
    (message,) = [m for m in store.messages() if m.id == digest]
    assert (message.kind, message.incident_id, message.due_at, message.notices) == ("digest", None, at(minutes=5), 3)
    assert [m.id for m in store.due(at(minutes=5))][-1] == digest
    # The window closed: the next incident opens a new one and is told on its own.
    (later,) = store.enqueue([entry("INC-9", at(minutes=6))], placer(policy))
    assert later not in ids
    assert store.notices(digest) == [notice(incident_id=f"INC-{i}").to_json() for i in (2, 3, 4)]


def storm_entry(incident: str, at_=T0) -> Entry:
    return Entry(DEST, "sub|westeurope|sig", incident, notice(incident_id=incident, event="storm").to_json(), at_, trips_storm=True)


@pytest.mark.parametrize("claimed_first", [False, True])
def test_a_storm_folds_the_held_incident_messages_into_the_digest(store, claimed_first):
    """Held incident messages (not yet claimed) move into the window's digest, notices and all;
    one already claimed goes out as it is; the storm notice itself goes alone and at once."""
    policy = DigestPolicy(window=timedelta(minutes=5), individual=5, hold=timedelta(seconds=60))
    held = store.enqueue([entry("INC-1", T0), entry("INC-2", at(seconds=1)), entry("INC-1", at(seconds=2))], placer(policy))
    assert held[0] == held[2] != held[1] and store.due(at(seconds=59)) == []
    if claimed_first:
        assert store.claim(held[1], at(seconds=61), at(seconds=61) + LEASE) is not None
    (storm,) = store.enqueue([storm_entry("INC-9", at(seconds=10))], placer(policy))
    later = store.enqueue([entry("INC-3", at(seconds=20)), entry("INC-1", at(seconds=21))], placer(policy))
    assert storm not in held and [m.id for m in store.due(at(seconds=10))] == [storm]
    (digest,) = set(later)
    messages = {m.id: m for m in store.messages()}
    assert messages[digest].kind == "digest" and messages[digest].due_at == at(minutes=5)
    assert held[0] not in messages and (held[1] in messages) == claimed_first
    moved = ["INC-1", "INC-1"] + ([] if claimed_first else ["INC-2"])
    folded = [Notice.from_json(text).incident_id for text in store.notices(digest)]
    assert sorted(folded) == sorted(moved + ["INC-3", "INC-1"])
    assert messages[digest].notices == len(folded)


def test_a_claimed_digest_takes_no_more_notices(store):
    policy = DigestPolicy(individual=0)
    (digest,) = set(store.enqueue([entry("INC-1"), entry("INC-2")], placer(policy)))
    store.claim(digest, at(minutes=5), at(minutes=7))
    (another,) = store.enqueue([entry("INC-3", at(minutes=1))], placer(policy))
    assert another != digest and len(store.notices(digest)) == 2


def test_destinations_keep_their_own_messages_and_windows(store):
    a, b = store.enqueue([entry(), Entry(DEV, "sub|westeurope|sig", "INC-1", notice().to_json(), T0)], placer())
    assert a != b and {m.destination for m in store.due(T0)} == {"teams:ops", "teams:dev"}


def test_unsent_notices_are_counted_by_reason_and_purged(store):
    store.record([(entry("INC-1"), "routine", "routine"), (entry("INC-2"), "unrouted", "dev-teams: no such webhook"),
                  (entry("INC-3", at(days=2)), "routine", "routine")])
    counts = store.counts()
    assert (counts["notices-routine"], counts["notices-unrouted"]) == (2, 1)
    store.purge(at(days=1))
    assert store.counts().get("notices-routine") == 1 and "notices-unrouted" not in store.counts()


def test_a_big_batch_lands_whole(store):
    """More entries than one Table Storage transaction holds: every notice recorded once."""
    ids = store.enqueue([entry(f"INC-{i % 7}", at(seconds=i)) for i in range(60)], placer(DigestPolicy(individual=100)))
    assert len(set(ids)) == 7
    assert sorted(m.notices for m in store.messages()) == [8, 8, 8, 9, 9, 9, 9]
    assert sorted(m.notices for m in store.due(at(hours=1))) == [8, 8, 8, 9, 9, 9, 9]  # the due copies agree


def keyed(incident: str, key: str, at_=T0) -> Entry:
    return Entry(DEST, "sub|westeurope|sig", incident, notice(incident_id=incident).to_json(at_), at_, key=key)


@pytest.mark.parametrize("second", [
    "the same batch",  # a redelivery of the whole delivery
    "part of it, with a new notice",  # a first recording that failed part way, then a later step
], ids=["whole", "part"])
def test_a_notice_recorded_again_by_its_key_is_recorded_once(store, second):
    """A notice's key is its identity: recorded again (a redelivery, a minute later, so its JSON says
    another time), it adds nothing, and its id is that of the message it went to the first time."""
    first = store.enqueue([keyed("INC-1", "k1"), keyed("INC-2", "k2")], placer())
    again = [keyed("INC-1", "k1", at(minutes=1)), keyed("INC-2", "k2", at(minutes=1))]
    if second != "the same batch":
        again = [keyed("INC-2", "k2", at(minutes=1)), keyed("INC-2", "k3", at(minutes=1))]
    ids = store.enqueue(again, placer())
    assert ids[0] == first[-1] if second != "the same batch" else ids == first
    held = sorted((m.incident_id, m.notices, len(store.notices(m.id))) for m in store.messages())
    assert held == ([("INC-1", 1, 1), ("INC-2", 1, 1)] if second == "the same batch" else [("INC-1", 1, 1), ("INC-2", 2, 2)])
    store.record([(keyed("INC-3", "u1"), "routine", "routine")])
    store.record([(keyed("INC-3", "u1", at(minutes=1)), "routine", "routine"), (keyed("INC-3", "u1"), "routine", "routine")])
    assert store.counts()["notices-routine"] == 1


def test_a_purge_forgets_a_sent_notices_key_with_it(store):
    (mid,) = store.enqueue([keyed("INC-1", "k1")], placer())
    store.claim(mid, T0, T0 + LEASE)
    store.mark_sent(mid, T0)
    assert store.purge(at(days=1)) == 1 and store.messages() == []
    (again,) = store.enqueue([keyed("INC-1", "k1", at(days=2))], placer())  # after the audit trail: a new message
    assert again != mid and len(store.notices(again)) == 1


def test_approval_links_are_signed_as_sent_and_never_kept(store, tmp_path):
    """Whatever the backend, the outbox holds the approval's id; the signed links are only in
    what went out, and a second notifier (a restart) signs the same ones."""
    from notify.links import stand_in
    from tests.notify.conftest import APPROVAL, notifier_from, signed_link

    out = tmp_path / "out"
    at_once = {"RESPONDER_NOTIFY_HOLD": "0"}
    first = notifier_from(at_once, store, lambda: T0, outbox_dir=str(out))
    first.submit(notice(approval_id=APPROVAL, event="awaiting-approval", status="awaiting-approval", routes=("ops-teams",)))
    (message,) = store.due(T0)
    assert first.flush(T0).failed == 1  # no signer here: failed visibly, not sent without its links
    restarted = notifier_from(at_once, store, lambda: T0, outbox_dir=str(out))
    restarted.sign_links_with(signed_link)
    restarted.submit(notice(incident_id="INC-2", approval_id=APPROVAL, event="awaiting-approval", status="awaiting-approval", routes=("ops-teams",)))
    assert restarted.flush(T0).sent == 1
    (sent,) = store.messages("sent")
    kept = str(sent.payload) + " ".join(store.notices(sent.id) + store.notices(message.id))
    assert stand_in(APPROVAL, "approve") in kept and signed_link(APPROVAL, "approve") not in kept
    (posted,) = out.glob("*INC-2.json")
    assert signed_link(APPROVAL, "approve") in posted.read_text() and signed_link(APPROVAL, "reject") in posted.read_text()


def test_only_one_worker_wins_a_claim_on_table_storage(azurite):
    prefix = fresh_prefix()
    workers = [table_outbox(azurite, prefix) for _ in range(8)]
    ids = set(workers[0].enqueue([entry(f"INC-{i}") for i in range(3)], placer()))
    wins: list[int] = []
    lock = threading.Lock()

    def work(outbox):
        for message_id in ids:
            if outbox.claim(message_id, T0, T0 + LEASE) is not None:
                with lock:
                    wins.append(message_id)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(wins) == sorted(ids)
    finally:
        drop(workers[0])
        for w in workers:
            w.close()


def test_the_outbox_lives_beside_its_ledger(backend, tmp_path):
    outbox = outbox_for(backend)
    try:
        if isinstance(outbox, TableOutbox):
            assert outbox.service is backend.service and outbox.prefix == backend.prefix
            assert set(outbox.tables.values()) <= set(backend.tables.values())
        else:
            assert outbox.path == backend.path
        (mid,) = outbox.enqueue([entry()], placer())
        assert [m.id for m in outbox.due(T0)] == [mid]
    finally:
        outbox.close()


# -- many writers at once -------------------------------------------------------------------------


@pytest.fixture
def writers(request, tmp_path):
    """A factory of outboxes on one shared store, one per worker: SQLite connections on one file,
    or Table Storage clients on one prefix."""
    made: list = []
    if "table" in request.node.callspec.params.get("kind", ""):
        connection, prefix = request.getfixturevalue("azurite"), fresh_prefix()

        def make():
            made.append(table_outbox(connection, prefix))
            return made[-1]
    else:
        from ledger.sqlite.outbox import SqliteOutbox

        def make():
            made.append(SqliteOutbox(str(tmp_path / "ledger.sqlite")))
            return made[-1]
    yield make
    if made and isinstance(made[0], TableOutbox):
        drop(made[0])
    for outbox in made:
        outbox.close()


def race(workers, work) -> None:
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(outbox, number):
        try:
            start.wait()
            work(outbox, number)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w, n)) for n, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize("kind", ["sqlite", "table"])
def test_workers_submitting_at_once_keep_the_digest_rule_and_every_notice(kind, writers):
    """Six workers, six incidents of one cause each, at once: three told one by one, the rest in
    one digest, whoever wrote first; follow-ups join their incident's message; nothing lost."""
    policy, workers = DigestPolicy(individual=3), [writers() for _ in range(6)]
    race(workers, lambda outbox, n: outbox.enqueue([entry(f"INC-{n}", at(seconds=1)), entry(f"INC-{n}", at(seconds=2))], placer(policy)))
    messages = workers[0].messages()
    kinds = sorted(m.kind for m in messages)
    assert kinds == ["digest", "incident", "incident", "incident"]
    assert sum(m.notices for m in messages) == 12
    assert sum(len(workers[0].notices(m.id)) for m in messages) == 12


@pytest.mark.parametrize("kind", ["sqlite", "table"])
def test_workers_share_the_send_slots_of_a_channel(kind, writers):
    workers = [writers() for _ in range(6)]
    waits: list[float] = []
    lock = threading.Lock()

    def take(outbox, _):
        for _ in range(3):
            wait = outbox.reserve("teams:ops", T0, 5, 1.0)
            with lock:
                waits.append(wait)

    race(workers, take)
    assert waits.count(0.0) == 5 and len(waits) == 18


@pytest.mark.parametrize("kind", ["sqlite", "table"])
def test_a_write_builds_on_what_another_worker_wrote_since(kind, writers):
    """Worker one claims; worker two then schedules a retry; worker one's next write must start
    from worker two's, not from what it wrote itself."""
    one, two = writers(), writers()
    (mid,) = one.enqueue([entry()], placer())
    one.claim(mid, T0, T0 + LEASE)
    two.mark_retry(mid, at(seconds=30), "UnavailableError: 503", uncertain=False)
    one.save_payload(mid, {"body": {}, "summary": "s", "label": "INC-1"})
    (message,) = two.due(at(seconds=30))
    assert (message.state, message.last_error) == ("pending", "UnavailableError: 503")
    again = two.claim(mid, at(seconds=30), at(seconds=30) + LEASE)
    assert (again.attempts, again.payload["label"]) == (2, "INC-1")


def test_told_names_every_destination_an_incident_reached_and_no_other(store):
    """Where an incident was told, so its follow-ups and its end go there too (notify/notifier.py)."""
    store.enqueue([entry("INC-told", T0), Entry(DEV, "sub|westeurope|sig", "INC-told", notice(incident_id="INC-told").to_json(), T0),
                   entry("INC-other", T0)], placer())
    store.record([(Entry(None, "c", "INC-routine", notice(incident_id="INC-routine").to_json(), T0), "routine", "not sent")])
    assert sorted(store.told("INC-told")) == sorted([(DEST.key, DEST.route), (DEV.key, DEV.route)])
    assert store.told("INC-routine") == [] and store.told("INC-nobody") == []



class Allowing:
    """An allowance of `room` messages per destination, counting what it was asked."""

    def __init__(self, room: int) -> None:
        self.room, self.taken, self.asked = room, {}, 0

    def left(self, channel: str, target: str) -> int:
        self.asked += 1
        return self.room - self.taken.get((channel, target), 0)

    def take(self, channel: str, target: str) -> None:
        self.taken[(channel, target)] = self.taken.get((channel, target), 0) + 1


def test_due_lists_no_more_per_destination_than_the_allowance(store):
    """A flush reads what its rate limits let go now: two per webhook here, of five due for each."""
    entries = [Entry(dest, f"sub|westeurope|{n}", f"INC-{dest.target}-{n}", notice(incident_id=f"INC-{n}").to_json(), T0)
               for dest in (DEST, DEV) for n in range(5)]
    store.enqueue(entries, placer(DigestPolicy(individual=10, hold=timedelta(0))))
    listed = store.due(T0, 100, Allowing(2))
    assert sorted(m.target for m in listed) == ["dev", "dev", "ops", "ops"]
    assert len(store.due(T0, 100)) == 10 and store.due(T0, 100, Allowing(0)) == []


def test_active_scopes_name_each_destinations_scopes_and_which_have_a_digest(store):
    busy = [Entry(DEST, "sub|westeurope|busy", f"INC-b{n}", notice(incident_id=f"INC-b{n}").to_json(), T0) for n in range(3)]
    quiet = [Entry(DEST, "sub|northeurope|quiet", "INC-q", notice(incident_id="INC-q").to_json(), T0),
             Entry(DEV, "sub|westeurope|busy", "INC-d", notice(incident_id="INC-d").to_json(), T0)]
    store.enqueue(busy + quiet, placer(DigestPolicy(individual=1, hold=timedelta(0))))  # the busy scope's 2nd and 3rd: a digest
    assert store.active_scopes() == {
        DEST.key: {"sub|westeurope|busy": True, "sub|northeurope|quiet": False},
        DEV.key: {"sub|westeurope|busy": False},
    }


def test_a_message_marked_sent_with_a_note_keeps_it(store):
    (mid,) = store.enqueue([entry()], placer())
    store.claim(mid, T0, T0 + LEASE)
    store.mark_sent(mid, T0, note="told in the tenant-wide digest")
    (sent,) = store.messages("sent")
    assert (sent.id, sent.note, sent.payload) == (mid, "told in the tenant-wide digest", None)
