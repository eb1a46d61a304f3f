"""The operation store (rules.ports.OperationStore) on both backends: intents written before the ARM
call, completed after it, and claimed by one tick at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ledger.test_contract import T0, VM1, race, signal, when

OPERATION_FIELDS = {
    "id", "incident_id", "signal_id", "action", "resource_id", "mode", "params", "facts", "state", "token",
    "message", "attempts", "created_at", "updated_at", "finished_at",
}
SIGNAL_FIELDS = {
    "id", "delivery_key", "incident_id", "source", "event_id", "kind", "name", "resource_key", "resource_id",
    "occurred", "received", "input", "summary", "facts",
}


def intent(backend, incident="INC-1", state="intent", at=T0, signal_id=7):
    return backend.record_intent(incident, signal_id, "redeploy", VM1, "auto", {"wait": True}, {"power": "running"}, at, state=state)


def test_an_intent_reads_back_with_every_field(backend):
    op = intent(backend)
    row = backend.operation(op)
    assert set(row) == OPERATION_FIELDS and isinstance(op, int)
    assert (row["id"], row["incident_id"], row["signal_id"], row["action"], row["resource_id"], row["mode"]) == (
        op, "INC-1", 7, "redeploy", VM1, "auto",
    )
    assert (row["params"], row["facts"], row["state"], row["token"], row["message"], row["attempts"]) == (
        {"wait": True}, {"power": "running"}, "intent", None, "", 0,
    )
    assert when(row["created_at"]) == when(row["updated_at"]) == T0 and row["finished_at"] is None
    assert backend.operation(op + 1) is None


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"state": "running", "token": "https://op/1"}, {"state": "running", "token": "https://op/1", "finished_at": None}),
        ({"message": "ARM answered 429", "attempt": True}, {"state": "intent", "message": "ARM answered 429", "attempts": 1}),
        ({"facts": {"power": "deallocated"}}, {"facts": {"power": "deallocated"}}),
        ({"state": "succeeded", "message": "done"}, {"state": "succeeded", "message": "done", "finished_at": "T1"}),
        ({"state": "failed"}, {"state": "failed", "finished_at": "T1"}),
        ({"state": "running", "expect_state": "intent"}, {"state": "running"}),
    ],
)
def test_an_operation_changes_only_what_is_given(backend, change, expected):
    op = intent(backend)
    t1 = T0 + timedelta(minutes=3)
    assert backend.update_operation(op, t1, **change) is True
    row = backend.operation(op)
    for name, value in expected.items():
        assert (when(row[name]) == t1) if value == "T1" else row[name] == value, name
    assert when(row["updated_at"]) == t1 and row["params"] == {"wait": True}


def test_an_expected_state_that_moved_on_changes_nothing(backend):
    op = intent(backend, state="running")
    assert backend.update_operation(op, T0, state="intent", expect_state="verifying") is False
    assert backend.update_operation(op + 1, T0, state="running") is False
    assert backend.operation(op)["state"] == "running"


def test_attempts_add_up(backend):
    op = intent(backend)
    for _ in range(3):
        backend.update_operation(op, T0, attempt=True)
    assert backend.operation(op)["attempts"] == 3


def test_open_operations_are_those_still_moving_oldest_first(backend):
    made = {state: intent(backend, state=state) for state in ("verifying", "intent", "running", "succeeded")}
    backend.update_operation(made["running"], T0, state="failed")
    assert [row["id"] for row in backend.open_operations()] == [made["verifying"], made["intent"]]


def test_operations_list_all_or_one_incidents(backend):
    first, other, second = intent(backend, "INC-1"), intent(backend, "INC-2", signal_id=None), intent(backend, "INC-1")
    assert [row["id"] for row in backend.operations()] == [first, other, second]
    assert [row["id"] for row in backend.operations("INC-1")] == [first, second]
    assert backend.operations("INC-2")[0]["signal_id"] is None and backend.operations("INC-none") == []


def test_one_tick_of_many_claims_an_operation(backend):
    op = intent(backend, state="verifying")
    claims = race(backend, lambda ledger: ledger.update_operation(op, T0, state="intent", expect_state="verifying"))
    assert sorted(claims) == [False] * 7 + [True]


def test_a_recorded_signal_reads_back_by_id(backend):
    sid = backend.record_signal(signal(delivery="s-1"), "INC-1", T0 + timedelta(seconds=5))
    row = backend.signal(sid)
    assert set(row) == SIGNAL_FIELDS
    assert (row["id"], row["delivery_key"], row["incident_id"], row["event_id"], row["kind"], row["name"]) == (
        sid, "grid:s-1", "INC-1", "s-1", "annotation", "AccelnetUnhealthy",
    )
    assert (row["resource_key"], row["resource_id"], row["source"], row["input"]) == (VM1.lower(), VM1, "event-grid", "test")
    assert when(row["occurred"]) == T0 and when(row["received"]) == T0 + timedelta(seconds=5)
    assert backend.signal(sid + 1) is None
