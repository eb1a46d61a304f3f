"""Every record a port answers (rules/records.py) is what both backends hand back: each row has the
record's required keys, and each value the type the record declares. mypy takes the backends'
word for it (one cast where a row is built from storage); this reads what they really return, on
SQLite and on Table Storage (Azurite), so a backend that drops a field or stores it as another
type fails here. Which port methods answer a record is read from rules/ports.py, so a method
added there that nobody exercises here fails too."""

from __future__ import annotations

import types
import typing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import rules.ports
import rules.records
from rules import Decision, Signal
from rules.records import PURGED_KINDS
from tests import builders as b

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
VM1 = b.vm_id("vm1")
KEY1 = "resource:" + VM1.lower()
RECORDS = {value for value in vars(rules.records).values()
           if isinstance(value, type) and typing.is_typeddict(value)}


def record_answered(method: Any) -> type | None:
    """The record a port method answers (in an Optional, a list or a Sequence), if any."""
    found = typing.get_type_hints(method, vars(rules.ports)).get("return")
    while found is not None:
        if found in RECORDS:
            return found
        arguments = [a for a in typing.get_args(found) if a is not type(None)]
        found = arguments[0] if arguments else None
    return None


def answering_methods() -> dict[str, type]:
    """Every method of the Store port that answers a record, with its record."""
    return {name: record for name, method in vars_of(rules.ports.Store).items()
            if (record := record_answered(method)) is not None}


def vars_of(port: type) -> dict[str, Any]:
    return {name: value for cls in reversed(port.__mro__) for name, value in vars(cls).items()
            if callable(value) and not name.startswith("_")}


def has_type(value: Any, expected: Any) -> bool:
    """The value is of the declared type, as far as a row's values go (str, int, datetime, None,
    unions of them, dicts and lists)."""
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(has_type(value, choice) for choice in typing.get_args(expected))
    if origin is not None:
        return isinstance(value, origin)
    if expected is type(None):
        return value is None
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def problems(row: Any, record: type) -> list[str]:
    """What is wrong with a row as the record says it: keys missing, values of another type."""
    if not isinstance(row, typing.Mapping):
        return [f"not a mapping: {row!r}"]
    hints = typing.get_type_hints(record)
    found = [f"missing {key}" for key in sorted(record.__required_keys__ - set(row))]
    found += [f"{key}={row[key]!r} is not {hints[key]}" for key in sorted(set(hints) & set(row))
              if not has_type(row[key], hints[key])]
    return found


def signal(name="AccelnetUnhealthy", delivery="d-1") -> Signal:
    return Signal(source="event-grid", event_id=delivery, kind="annotation", name=name, resource_id=VM1, occurred=T0,
                  summary=f"{name} summary", input="test", delivery_key=f"grid:{delivery}")


def decision(status="planned") -> Decision:
    return Decision(action="redeploy", mode="auto", status=status, reason=f"redeploy {status}", rule="test",
                    brakes=("a brake",))


def answers(store) -> dict[str, list[Any]]:
    """Something of every kind recorded, then every answering method asked: name -> rows answered."""
    incident = store.open_incident(KEY1, VM1, T0, timedelta(days=1))
    signal_id = store.record_signal(signal(), incident.id, T0)
    store.record_decision(signal_id, incident.id, decision(), T0)
    store.record_decision(None, None, decision("skipped"), T0)  # no signal: the signal's fields are None
    # A signal with empty fields (a sweep's finding has no event id or input text) and a decision
    # with an empty reason: "" is read back as "", on both backends.
    bare = replace(signal(name="Unavailable", delivery=""), event_id="", input="", summary="")
    store.record_decision(store.record_signal(bare, incident.id, T0), incident.id, replace(decision(), reason="", brakes=()), T0)
    assert store.hold_action(incident.id, "redeploy", "grid:d-1", T0) is None
    running = store.record_intent(incident.id, signal_id, "redeploy", VM1, "auto", {"p": 1}, {"f": 2}, T0)
    store.update_operation(running, T0, state="running", token="tok")
    done = store.record_intent(incident.id, None, "restart", VM1, "auto", {}, {}, T0 + timedelta(minutes=1))
    store.update_operation(done, T0 + timedelta(minutes=2), state="succeeded", message="done")
    store.open_storm("subscription:s1", T0, "too many at once")
    store.set_switch("pause", "on", "ops@example.com", T0)
    approval = {"id": "APR-1", "incident_id": incident.id, "signal_id": signal_id, "action": "redeploy", "resource_id": VM1,
                "mode": "approve", "params": {"p": 1}, "facts": {"f": 2}, "reason": "why", "created_at": T0,
                "expires_at": T0 + timedelta(hours=1)}
    added = store.add_approval(approval)
    store.add_approval({**approval, "id": "APR-2", "action": "restart", "signal_id": None, "approvers": ["group:g1"]})
    expired = store.expire_approvals(T0 + timedelta(hours=2))
    wave = store.live_wave("scope-1", "WAVE-1", T0)
    store.add_wave_member({
        "wave_id": wave["id"], "resource_key": VM1.lower(), "resource_id": VM1, "incident_id": incident.id,
        "signal_id": signal_id, "mode": "auto", "params": {"p": 1}, "facts": {"update_domain": "0"}, "update_group": "0",
        "window_start": "2026-11-20T00:00:00+00:00", "window_end": None, "state": "pending", "reason": "", "enrolled_at": T0,
    })
    # Rows moved on: an approval decided (no object id, no way named), a member claimed and started.
    store.add_approval({**approval, "id": "APR-3", "action": "start", "reason": ""})
    assert store.decide_approval("APR-3", "approved", "Ann", T0 + timedelta(minutes=1))
    vm2 = b.vm_id("vm2")
    store.add_wave_member({
        "wave_id": wave["id"], "resource_key": vm2.lower(), "resource_id": vm2, "incident_id": incident.id,
        "signal_id": None, "mode": "auto", "params": {}, "facts": {}, "update_group": "1",
        "window_start": None, "window_end": None, "state": "pending", "reason": "", "enrolled_at": T0,
    })
    assert store.claim_group(wave["id"], "1", T0)
    assert store.claim_wave_member(wave["id"], vm2.lower(), T0)
    assert store.update_wave_member(wave["id"], vm2.lower(), T0, state="running", operation_id=running, started_at=T0)
    store.save_sweep_cursor("vm", 3, "sub-a", T0, T0 + timedelta(minutes=5))
    found = {
        "hold_action": [store.hold_action(incident.id, "restart", "grid:d-2", T0)],
        "history": list(store.history()),
        "signal": [store.signal(signal_id), store.signal(signal_id, VM1)],
        "recorded_signals": list(store.recorded_signals()),
        "incident": [store.incident(incident.id)],
        "operation": [store.operation(running), store.operation(done)],
        "open_operations": store.open_operations(),
        "operations": store.operations(),
        "last_operation": [store.last_operation(VM1.lower())],
        "last_operation_of": [store.last_operation_of(incident.id, VM1.lower(), "restart")],
        "storm": [store.storm("subscription:s1")],
        "switch": [store.switch("pause")],
        "add_approval": [added],
        "expire_approvals": list(expired),
        "approval": [store.approval("APR-1"), store.approval("APR-2")],
        "approvals": list(store.approvals()),
        "live_wave": [wave],
        "wave": [store.wave(wave["id"])],  # an update domain in progress
        "waves": list(store.waves()),
        "waves_in_progress": list(store.waves_in_progress()),
        "wave_member": [store.wave_member(wave["id"], VM1.lower()), store.wave_member(wave["id"], vm2.lower())],
        "wave_members": list(store.wave_members(wave["id"])),
        "live_membership": [store.live_membership(VM1.lower())],
        "sweep_cursor": [store.sweep_cursor("vm")],
    }
    store.close_incident(incident.id, T0, "over")
    found["purge"] = [store.purge(T0 + timedelta(days=1))]
    return found


def test_the_answering_methods_are_found():
    assert {"signal": rules.records.SignalRow, "history": rules.records.HistoryRow, "approval": rules.records.Approval,
            "wave_members": rules.records.WaveMember, "sweep_cursor": rules.records.SweepCursor}.items() \
        <= answering_methods().items()


def test_every_row_of_every_record_answered_has_its_keys_and_types(backend):
    found = answers(backend)
    assert set(found) == set(answering_methods()) | {"purge"}  # every method that answers a record is asked
    wrong = {}
    for name, record in answering_methods().items():
        rows = found[name]
        assert rows and all(row is not None for row in rows), f"{name} answered nothing to check"
        for row in rows:
            if found_problems := problems(row, record):
                wrong.setdefault(name, []).extend(found_problems)
    assert wrong == {}


def test_a_purge_names_every_kind(backend):
    counts = answers(backend)["purge"][0]
    assert set(counts) == set(PURGED_KINDS)
    assert all(isinstance(count, int) for count in counts.values())
    assert counts["decisions"] == 3 and counts["incidents"] == 1


@pytest.mark.parametrize(("row", "wrong"), [
    ({"scope": "s", "tripped_at": "t", "last_over_at": "t"}, ["missing reason"]),
    ({"scope": "s", "tripped_at": "t", "last_over_at": "t", "reason": None}, ["reason=None is not <class 'str'>"]),
    ({"scope": "s", "tripped_at": "t", "last_over_at": "t", "reason": "r"}, []),
])
def test_a_row_missing_a_key_or_of_another_type_is_named(row, wrong):
    assert problems(row, rules.records.Storm) == wrong


def shapes(found: dict[str, list[Any]]) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Each answer's rows as (key, type of its value) pairs, in no particular order: what the two
    backends must agree on, their ids and the spelling of their times aside."""
    return {name: sorted(tuple(sorted((key, type(value).__name__) for key, value in row.items())) for row in rows)
            for name, rows in found.items()}


def test_the_two_backends_answer_rows_of_one_shape(azurite):
    """The same things recorded in both: every row has the same keys, and a value one backend
    leaves empty (None) the other does too (not "" in one and None in the other)."""
    from ledger import SqliteLedger, open_ledger

    from .conftest import drop_tables, fresh_prefix

    sqlite = SqliteLedger(":memory:")
    table = open_ledger("table", {"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    try:
        assert shapes(answers(table)) == shapes(answers(sqlite))
    finally:
        sqlite.close()
        table.close()
        drop_tables(azurite, table)


# A signal as the earlier layouts recorded it, before signals kept their facts.
EARLIER = {"id": 41, "delivery_key": "grid:d-0", "incident_id": "INC-0", "source": "event-grid", "event_id": "d-0",
           "kind": "annotation", "name": "AccelnetUnhealthy", "resource_key": VM1.lower(), "resource_id": VM1,
           "occurred": "2026-11-19T09:00:00+00:00", "received": "2026-11-19T09:00:01+00:00", "input": "test",
           "summary": "recorded before facts"}


def earlier_sqlite(tmp_path):
    import sqlite3

    from ledger import SqliteLedger

    path = tmp_path / "earlier.db"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE signals ({', '.join(EARLIER)}, PRIMARY KEY (id))")
        db.execute(f"INSERT INTO signals VALUES ({', '.join('?' * len(EARLIER))})", tuple(EARLIER.values()))
    db.close()
    return SqliteLedger(path)


def earlier_table(connection):
    from azure.data.tables import TableServiceClient

    from ledger import open_ledger
    from ledger.table import keys

    from .conftest import fresh_prefix

    store = open_ledger("table", {"table_connection_string": connection, "table_prefix": fresh_prefix()})
    with TableServiceClient.from_connection_string(connection) as service:
        service.create_table_if_not_exists(store.tables["signals"]).create_entity(
            {**EARLIER, "PartitionKey": "signals", "RowKey": keys.id_key(EARLIER["id"]), "id": keys.id_key(EARLIER["id"])})
    return store


@pytest.mark.parametrize("kind", ["sqlite", "table"])
def test_a_signal_recorded_before_facts_were_kept_reads_as_none(kind, tmp_path, request):
    """Both backends answer such a signal with facts "{}" (JSON for none), by id and in a period."""
    store = earlier_sqlite(tmp_path) if kind == "sqlite" else earlier_table(request.getfixturevalue("azurite"))
    try:
        by_id, listed = store.signal(EARLIER["id"]), store.recorded_signals()
        assert [by_id, *listed] == [{**EARLIER, "facts": "{}"}] * 2
        assert problems(by_id, rules.records.SignalRow) == []
    finally:
        store.close()
        if kind == "table":
            from .conftest import drop_tables

            drop_tables(request.getfixturevalue("azurite"), store)
