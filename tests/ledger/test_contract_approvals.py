"""Approvals on both backends: one pending per incident and action, decided once, expired by
time, consumed once, settled; and the signal an approval answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ledger.test_contract import T0, VM1, race, signal, when

FIELDS = {
    "id", "incident_id", "signal_id", "action", "resource_id", "mode", "params", "facts", "reason", "created_at",
    "expires_at", "state", "decided_by", "decided_at", "outcome_status", "outcome_reason", "settled_at",
    "decided_by_id", "decided_via", "approvers",
}


@pytest.fixture
def store(backend):
    """The backend: both keep approvals."""
    return backend


def ask(store, id="APR-0000000000000001", incident="INC-1", action="redeploy", hours=4, signal_id=None, at=T0, **more):
    return store.add_approval({
        "id": id, "incident_id": incident, "signal_id": signal_id, "action": action, "resource_id": VM1,
        "mode": "approve", "params": {"signal_annotation": "AccelnetUnhealthy"}, "facts": {"power_state": "running"},
        "reason": "the host is failing", "created_at": at, "expires_at": at + timedelta(hours=hours), **more,
    })


def test_a_decision_records_who_by_name_object_id_and_way_and_the_rule_approvers_are_kept(store):
    row = ask(store, approvers=["group:6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c", "role:Responder.Approve"])
    assert row["approvers"] == ["group:6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c", "role:Responder.Approve"]
    assert (row["decided_by_id"], row["decided_via"]) == (None, None)
    oid = "0f1e2d3c-4b5a-4697-8899-aabbccddeeff"
    assert store.decide_approval(row["id"], "approved", "Ana Lopez", T0 + timedelta(minutes=5), by_id=oid, via="page")
    found = store.approval(row["id"])
    assert (found["decided_by"], found["decided_by_id"], found["decided_via"]) == ("Ana Lopez", oid, "page")
    assert found["approvers"] == row["approvers"] and ask(store, id="APR-0000000000000009", incident="INC-9")["approvers"] == []


def test_a_request_is_recorded_pending_with_every_field(store):
    row = ask(store, signal_id=42)
    assert set(row) == FIELDS and row == store.approval(row["id"])
    assert (row["id"], row["incident_id"], row["signal_id"], row["action"], row["resource_id"], row["mode"], row["state"]) == (
        "APR-0000000000000001", "INC-1", 42, "redeploy", VM1, "approve", "pending",
    )
    assert row["params"] == {"signal_annotation": "AccelnetUnhealthy"} and row["facts"] == {"power_state": "running"}
    assert when(row["created_at"]) == T0 and when(row["expires_at"]) == T0 + timedelta(hours=4)
    assert (row["decided_by"], row["decided_at"], row["outcome_status"], row["settled_at"]) == (None, None, None, None)
    assert store.approval("APR-ffffffffffffffff") is None


def test_one_approval_is_pending_per_incident_and_action(store):
    first = ask(store)
    assert ask(store, id="APR-0000000000000002")["id"] == first["id"]
    assert ask(store, id="APR-0000000000000003", action="restart")["id"] == "APR-0000000000000003"
    assert ask(store, id="APR-0000000000000004", incident="INC-2")["id"] == "APR-0000000000000004"
    assert len(store.approvals()) == 3


def test_a_decided_approval_makes_room_for_a_new_one(store):
    first = ask(store)
    assert store.decide_approval(first["id"], "rejected", "ana", T0 + timedelta(minutes=5))
    assert ask(store, id="APR-0000000000000002")["id"] == "APR-0000000000000002"


@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_an_approval_is_decided_once_and_only_in_time(store, state):
    row = ask(store)
    assert store.decide_approval(row["id"], state, "ana", T0 + timedelta(minutes=5)) is True
    assert store.decide_approval(row["id"], "approved", "bo", T0 + timedelta(minutes=6)) is False
    decided = store.approval(row["id"])
    assert (decided["state"], decided["decided_by"], when(decided["decided_at"])) == (state, "ana", T0 + timedelta(minutes=5))
    late = ask(store, id="APR-0000000000000002", incident="INC-2")
    assert store.decide_approval(late["id"], "approved", "ana", T0 + timedelta(hours=4)) is False, "at its expiry: too late"
    with pytest.raises(ValueError):
        store.decide_approval(late["id"], "consumed", "ana", T0)


def test_many_workers_deciding_at_once_decide_once(store):
    row = ask(store)
    results = race(store, lambda ledger: ledger.decide_approval(row["id"], "approved", "w", T0))
    assert sorted(results) == [False] * 7 + [True]


def test_expiry_moves_each_pending_approval_once(store):
    soon, later = ask(store, hours=1), ask(store, id="APR-0000000000000002", incident="INC-2", hours=3)
    decided = ask(store, id="APR-0000000000000003", incident="INC-3", hours=1)
    store.decide_approval(decided["id"], "approved", "ana", T0)
    moved = store.expire_approvals(T0 + timedelta(hours=2))
    assert [row["id"] for row in moved] == [soon["id"]]
    assert (moved[0]["state"], moved[0]["decided_by"]) == ("expired", "expiry")
    assert store.expire_approvals(T0 + timedelta(hours=2)) == []
    assert [row["id"] for row in store.expire_approvals(T0 + timedelta(hours=3))] == [later["id"]]


def test_an_approved_approval_is_consumed_once_then_settled(store):
    row = ask(store)
    assert store.consume_approval(row["id"], T0) is False, "not approved yet"
    store.decide_approval(row["id"], "approved", "ana", T0)
    assert sorted(race(store, lambda ledger: ledger.consume_approval(row["id"], T0 + timedelta(minutes=1)))) == [False] * 7 + [True]
    store.settle_approval(row["id"], "started", "redeploy started", T0 + timedelta(minutes=2))
    settled = store.approval(row["id"])
    assert (settled["state"], settled["outcome_status"], settled["outcome_reason"]) == ("consumed", "started", "redeploy started")
    assert when(settled["settled_at"]) == T0 + timedelta(minutes=2)


def test_approvals_list_all_or_by_state(store):
    a = ask(store, hours=3)
    b = ask(store, id="APR-0000000000000002", incident="INC-2", hours=1, at=T0 + timedelta(minutes=1))
    c = ask(store, id="APR-0000000000000003", incident="INC-3", hours=2, at=T0 + timedelta(minutes=2))
    store.decide_approval(c["id"], "approved", "ana", T0)
    assert [row["id"] for row in store.approvals()] == [a["id"], b["id"], c["id"]], "by creation"
    assert [row["id"] for row in store.approvals("pending")] == [b["id"], a["id"]], "by expiry"
    assert [row["id"] for row in store.approvals("approved")] == [c["id"]]
    assert store.approvals("expired") == []


def test_the_signal_an_approval_answers_is_found(store):
    first = store.record_signal(signal(delivery="d-1"), "INC-1", T0)
    again = store.record_signal(signal(delivery="d-1"), "INC-1", T0)  # Table Storage writes the same row over
    other = store.record_signal(signal(delivery="d-2"), "INC-2", T0)
    assert store.approval_signal_id("INC-1", "grid:d-1") == max(first, again)
    assert store.approval_signal_id("INC-2", "grid:d-2") == other
    assert store.approval_signal_id("INC-1", "grid:d-9") is None
    assert store.approval_signal_id("INC-2", "grid:d-1") is None
