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
    from ledger.waves_sqlite import WAVES_SCHEMA, SqliteWaves

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
