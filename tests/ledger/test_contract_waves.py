"""Maintenance waves on both backends: one live wave per scope, one update domain at a time,
members claimed once, and a wave that finishes only when nothing is left to do."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import builders as b
from tests.ledger.test_contract import T0, race, when

SCOPE = "availability-set:" + b.SUB


@pytest.fixture
def store(backend):
    """The backend, with waves: SQLite gets them from its waves mixin until the wiring adds it."""
    if hasattr(backend, "live_wave"):
        yield backend
        return
    from ledger import SqliteLedger
    from ledger.sqlite.waves import WAVES_SCHEMA, SqliteWaves

    class WavesLedger(SqliteWaves, SqliteLedger):
        def __init__(self):
            super().__init__(":memory:")
            self._db.executescript(WAVES_SCHEMA)

    ledger = WavesLedger()
    yield ledger
    ledger.close()


def enrol(store, wave_id, vm, group="0", state="pending", at=T0):
    return store.add_wave_member({
        "wave_id": wave_id, "resource_key": b.vm_id(vm).lower(), "resource_id": b.vm_id(vm), "incident_id": f"INC-{vm}",
        "signal_id": 7, "mode": "auto", "params": {"p": 1}, "facts": {"update_domain": group}, "update_group": group,
        "window_start": "2026-11-20T00:00:00+00:00", "window_end": None, "state": state, "reason": "", "enrolled_at": at,
    })


def key(vm):
    return b.vm_id(vm).lower()


def test_one_live_wave_per_scope(store):
    wave = store.live_wave(SCOPE, "WAVE-1", T0)
    assert (wave["id"], wave["scope"], wave["state"], wave["active_group"], wave["reason"]) == ("WAVE-1", SCOPE, "open", None, "")
    assert when(wave["created_at"]) == T0 and set(wave) >= {"updated_at", "activated_at", "rest_until"}
    assert store.live_wave(SCOPE, "WAVE-2", T0)["id"] == "WAVE-1"
    assert store.live_wave("other", "WAVE-3", T0)["id"] == "WAVE-3"
    assert store.wave("WAVE-1") == wave and store.wave("WAVE-9") is None
    assert [w["id"] for w in store.waves()] == ["WAVE-1", "WAVE-3"]


def test_many_workers_enrolling_a_scope_share_one_wave(store):
    ids = race(store, lambda ledger: ledger.live_wave(SCOPE, f"WAVE-{id(object())}", T0)["id"])
    assert len(set(ids)) == 1 and [w["id"] for w in store.waves()] == ids[:1]


def test_a_stopped_wave_stays_live_until_closed_then_a_new_one_opens(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    assert store.stop_wave("WAVE-1", T0, "a member failed") and not store.stop_wave("WAVE-1", T0, "again")
    assert store.live_wave(SCOPE, "WAVE-2", T0)["id"] == "WAVE-1"
    assert store.close_wave("WAVE-1", T0 + timedelta(hours=1), "looked at") and not store.close_wave("WAVE-1", T0, "x")
    assert store.wave("WAVE-1")["state"] == "closed" and store.wave("WAVE-1")["reason"] == "a member failed; looked at"
    assert store.live_wave(SCOPE, "WAVE-2", T0)["id"] == "WAVE-2"
    assert [w["id"] for w in store.waves(["open", "stopped"])] == ["WAVE-2"]


def test_members_join_an_open_wave_once(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    assert enrol(store, "WAVE-1", "vm1") is True and enrol(store, "WAVE-1", "vm1") is False
    assert enrol(store, "WAVE-9", "vm2") is False, "no such wave"
    member = store.wave_member("WAVE-1", key("vm1"))
    assert (member["wave_id"], member["resource_id"], member["incident_id"], member["signal_id"], member["state"]) == (
        "WAVE-1", b.vm_id("vm1"), "INC-vm1", 7, "pending",
    )
    assert member["params"] == {"p": 1} and member["facts"] == {"update_domain": "0"} and member["update_group"] == "0"
    assert (member["window_start"], member["window_end"], member["operation_id"], member["claimed_at"]) == (
        "2026-11-20T00:00:00+00:00", None, None, None,
    )
    store.stop_wave("WAVE-1", T0, "stop")
    assert enrol(store, "WAVE-1", "vm3") is False, "a stopped wave takes no one"


def test_members_list_in_enrolment_order_and_live_membership_follows_the_wave(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm2", at=T0 + timedelta(seconds=1))
    enrol(store, "WAVE-1", "vm1", at=T0)
    assert [m["resource_key"] for m in store.wave_members("WAVE-1")] == [key("vm1"), key("vm2")]
    assert store.live_membership(key("vm1"))["wave_id"] == "WAVE-1" and store.live_membership(key("vm9")) is None
    store.update_wave_member("WAVE-1", key("vm1"), T0, state="done")
    store.update_wave_member("WAVE-1", key("vm2"), T0, state="skipped")
    assert store.finish_wave("WAVE-1", T0)
    assert store.live_membership(key("vm1")) is None


def test_one_update_domain_at_a_time_and_members_claimed_only_in_theirs(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1", group="0")
    enrol(store, "WAVE-1", "vm2", group="1")
    assert store.claim_wave_member("WAVE-1", key("vm1"), T0) is False, "no group in progress"
    assert store.claim_group("WAVE-1", "0", T0) is True and store.claim_group("WAVE-1", "1", T0) is False
    assert store.claim_wave_member("WAVE-1", key("vm2"), T0) is False, "not its group"
    assert store.claim_wave_member("WAVE-1", key("vm1"), T0 + timedelta(seconds=1)) is True
    assert store.claim_wave_member("WAVE-1", key("vm1"), T0) is False, "claimed once"
    claimed = store.wave_member("WAVE-1", key("vm1"))
    assert claimed["state"] == "starting" and when(claimed["claimed_at"]) == T0 + timedelta(seconds=1)
    assert store.release_group("WAVE-1", "0", T0, T0 + timedelta(minutes=30)) is False, "a member is starting"
    store.update_wave_member("WAVE-1", key("vm1"), T0, state="running", operation_id=2**40, started_at=T0)
    assert store.release_group("WAVE-1", "0", T0, None) is False, "a member is running"
    store.update_wave_member("WAVE-1", key("vm1"), T0, expect_state="running", state="done", available_at=T0)
    assert store.release_group("WAVE-1", "0", T0, T0 + timedelta(minutes=30)) is True
    wave = store.wave("WAVE-1")
    assert wave["active_group"] is None and when(wave["rest_until"]) == T0 + timedelta(minutes=30)
    assert store.finish_wave("WAVE-1", T0) is False, "vm2 is still pending"
    member = store.wave_member("WAVE-1", key("vm1"))
    assert member["operation_id"] == 2**40 and when(member["started_at"]) == T0


def test_many_workers_claiming_one_member_one_wins(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1")
    store.claim_group("WAVE-1", "0", T0)
    assert sorted(race(store, lambda ledger: ledger.claim_wave_member("WAVE-1", key("vm1"), T0))) == [False] * 7 + [True]


def test_an_expected_state_that_moved_on_changes_nothing(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1")
    assert store.update_wave_member("WAVE-1", key("vm1"), T0, expect_state="running", state="done") is False
    assert store.update_wave_member("WAVE-1", key("vm9"), T0, state="done") is False
    with pytest.raises(ValueError):
        store.update_wave_member("WAVE-1", key("vm1"), T0, update_group="2")
    assert store.wave_member("WAVE-1", key("vm1"))["state"] == "pending"


def test_the_operation_a_wave_started_is_found(store):
    first = store.record_intent("INC-vm1", None, "perform-maintenance", b.vm_id("vm1"), "auto", {}, {}, T0)
    second = store.record_intent("INC-vm1", None, "perform-maintenance", b.vm_id("vm1"), "auto", {}, {}, T0)
    store.record_intent("INC-vm1", None, "redeploy", b.vm_id("vm1"), "auto", {}, {}, T0)
    store.update_operation(second, T0, state="running", message="started")
    found = store.last_operation_of("INC-vm1", key("vm1"), "perform-maintenance")
    assert (found["id"], found["state"], found["message"]) == (second, "running", "started") and first < second
    assert store.last_operation_of("INC-vm2", key("vm1"), "perform-maintenance") is None


def test_many_workers_enrolling_one_machine_enrol_it_once(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    assert sorted(race(store, lambda ledger: enrol(ledger, "WAVE-1", "vm1"))) == [False] * 7 + [True]
    assert len(store.wave_members("WAVE-1")) == 1


def finish_member(store, wave_id, vm, available_at):
    """A member started and seen Available again at `available_at`."""
    store.update_wave_member(wave_id, key(vm), available_at, state="done", available_at=available_at)


def test_resting_groups_name_the_update_domains_available_again_since(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    for vm, group in (("vm1", "0"), ("vm2", "0"), ("vm3", "1"), ("vm4", "2")):
        enrol(store, "WAVE-1", vm, group=group)
    finish_member(store, "WAVE-1", "vm1", T0 + timedelta(minutes=5))
    finish_member(store, "WAVE-1", "vm2", T0 + timedelta(minutes=10))
    finish_member(store, "WAVE-1", "vm3", T0 + timedelta(minutes=1))
    store.update_wave_member("WAVE-1", key("vm4"), T0, state="skipped", available_at=T0 + timedelta(minutes=9))
    resting = store.resting_groups(SCOPE, T0 + timedelta(minutes=2))
    assert set(resting) == {"0"} and when(resting["0"]) == T0 + timedelta(minutes=10)
    assert set(store.resting_groups(SCOPE, T0)) == {"0", "1"}
    assert store.resting_groups(SCOPE, T0 + timedelta(minutes=10)) == {}
    assert store.resting_groups("other", T0) == {}


def test_waves_in_progress_are_the_open_ones_and_those_still_following_a_member(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1")
    enrol(store, "WAVE-1", "vm2")
    store.claim_group("WAVE-1", "0", T0)
    store.claim_wave_member("WAVE-1", key("vm1"), T0)
    store.update_wave_member("WAVE-1", key("vm1"), T0, state="running")
    store.stop_wave("WAVE-1", T0, "vm2 failed")
    store.live_wave("other", "WAVE-2", T0 + timedelta(seconds=1))
    store.live_wave("third", "WAVE-3", T0 + timedelta(seconds=2))
    store.finish_wave("WAVE-3", T0)
    assert [w["id"] for w in store.waves_in_progress()] == ["WAVE-1", "WAVE-2"], "stopped, but vm1 is running"
    store.update_wave_member("WAVE-1", key("vm1"), T0, expect_state="running", state="recovering")
    assert [w["id"] for w in store.waves_in_progress()] == ["WAVE-1", "WAVE-2"]
    store.update_wave_member("WAVE-1", key("vm1"), T0, expect_state="recovering", state="done", available_at=T0)
    assert [w["id"] for w in store.waves_in_progress()] == ["WAVE-2"]
    assert store.waves_in_progress()[0]["scope"] == "other"


def test_claim_group_waits_for_the_pause_after_another_update_domain_of_the_scope(store):
    pause = timedelta(minutes=30)
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1", group="0")
    enrol(store, "WAVE-1", "vm2", group="0")
    enrol(store, "WAVE-1", "vm3", group="1")
    assert store.claim_group("WAVE-1", "0", T0, T0 - pause)
    store.claim_wave_member("WAVE-1", key("vm1"), T0)
    finish_member(store, "WAVE-1", "vm1", T0 + timedelta(minutes=10))
    assert store.release_group("WAVE-1", "0", T0 + timedelta(minutes=10), T0 + timedelta(minutes=40))
    now = T0 + timedelta(minutes=20)
    assert store.claim_group("WAVE-1", "1", now, now - pause) is False, "update domain 0 ended 10 min ago"
    assert store.wave("WAVE-1")["active_group"] is None
    assert store.claim_group("WAVE-1", "0", now, now - pause) is True, "the pause is between update domains"
    assert store.release_group("WAVE-1", "0", now, None) and when(store.wave("WAVE-1")["rest_until"]) == T0 + timedelta(minutes=40)
    assert store.claim_group("WAVE-1", "1", now, None) is True, "without rested_since no pause is asked"
    store.release_group("WAVE-1", "1", now, None)
    later = T0 + timedelta(minutes=41)
    assert store.claim_group("WAVE-1", "1", later, later - pause) is True
    assert when(store.wave("WAVE-1")["activated_at"]) == later


def test_two_waves_of_one_scope_are_never_in_flight_at_once(store):
    pause = timedelta(minutes=30)
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1", group="0")
    store.claim_group("WAVE-1", "0", T0)
    store.claim_wave_member("WAVE-1", key("vm1"), T0)
    store.update_wave_member("WAVE-1", key("vm1"), T0, state="running")
    store.stop_wave("WAVE-1", T0, "another member failed")
    store.close_wave("WAVE-1", T0, "looked at")
    assert store.live_wave(SCOPE, "WAVE-2", T0)["id"] == "WAVE-2"
    enrol(store, "WAVE-2", "vm2", group="1")
    store.live_wave("other", "WAVE-3", T0)
    enrol(store, "WAVE-3", "vm3", group="1")
    assert store.claim_group("WAVE-3", "1", T0) is True, "another scope is not held back"
    for state in ("running", "recovering"):
        store.update_wave_member("WAVE-1", key("vm1"), T0, state=state)
        assert store.claim_group("WAVE-2", "1", T0) is False, f"vm1 of WAVE-1 is {state}"
    later = T0 + timedelta(minutes=5)
    finish_member(store, "WAVE-1", "vm1", later)
    assert store.claim_group("WAVE-2", "1", later, later - pause) is False, "the pause after WAVE-1's update domain 0"
    assert store.claim_group("WAVE-2", "1", later + pause, later) is True
    assert store.claim_wave_member("WAVE-2", key("vm2"), later + pause)


def test_many_workers_claiming_one_update_domain_one_wins(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1", group="0")
    enrol(store, "WAVE-1", "vm2", group="1")
    assert sorted(race(store, lambda ledger: ledger.claim_group("WAVE-1", "0", T0, T0))) == [False] * 7 + [True]
    assert store.wave("WAVE-1")["active_group"] == "0"


def test_many_workers_claiming_different_update_domains_one_wins(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    for n in range(4):
        enrol(store, "WAVE-1", f"vm{n}", group=str(n))
    claims = [str(n % 4) for n in range(8)]
    won = race(store, lambda ledger: ledger.claim_group("WAVE-1", claims.pop(), T0, T0))
    assert sorted(won) == [False] * 7 + [True] and store.wave("WAVE-1")["active_group"] in {"0", "1", "2", "3"}


def test_a_member_claimed_meanwhile_keeps_its_update_domain_in_progress(store):
    store.live_wave(SCOPE, "WAVE-1", T0)
    enrol(store, "WAVE-1", "vm1", group="0")
    store.claim_group("WAVE-1", "0", T0)

    def claim_or_release(ledger, turn=iter(range(8))):  # noqa: B008 - one iterator shared by every call, on purpose
        n = next(turn)
        if n % 2:
            return ("claim", ledger.claim_wave_member("WAVE-1", key("vm1"), T0))
        return ("release", ledger.release_group("WAVE-1", "0", T0, None))

    results = race(store, claim_or_release)
    claimed = [ok for what, ok in results if what == "claim" and ok]
    released = [ok for what, ok in results if what == "release" and ok]
    member, wave = store.wave_member("WAVE-1", key("vm1")), store.wave("WAVE-1")
    assert len(claimed) <= 1 and len(released) <= 1
    if member["state"] == "starting":
        assert wave["active_group"] == "0", "a member in flight with its update domain released"
    else:
        assert released and wave["active_group"] is None
