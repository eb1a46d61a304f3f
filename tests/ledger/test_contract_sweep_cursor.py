"""The sweep's cursor, on both backends: nothing before the first run, the last position saved
wins, and sweeps of different names keep their own."""

from __future__ import annotations

from datetime import timedelta

from tests.ledger.test_contract import T0

SUB_A = "00000000-0000-0000-0000-00000000000a"
SUB_B = "00000000-0000-0000-0000-00000000000b"


def test_no_cursor_before_the_first_run(backend):
    assert backend.sweep_cursor("graph") is None


def test_the_last_position_saved_is_read_back(backend):
    backend.save_sweep_cursor("graph", 1, SUB_A, T0, T0 + timedelta(minutes=7))
    backend.save_sweep_cursor("graph", 1, SUB_B, T0, T0 + timedelta(minutes=22))
    cursor = backend.sweep_cursor("graph")
    assert (cursor["name"], cursor["cycle"], cursor["after"]) == ("graph", 1, SUB_B)
    assert cursor["cycle_started"] == T0 and cursor["updated_at"] == T0 + timedelta(minutes=22)


def test_a_new_cycle_starts_from_nothing_swept(backend):
    backend.save_sweep_cursor("graph", 1, SUB_B, T0, T0 + timedelta(minutes=7))
    backend.save_sweep_cursor("graph", 2, "", T0 + timedelta(minutes=15), T0 + timedelta(minutes=15))
    cursor = backend.sweep_cursor("graph")
    assert (cursor["cycle"], cursor["after"], cursor["cycle_started"]) == (2, "", T0 + timedelta(minutes=15))


def test_each_sweep_name_keeps_its_own(backend):
    backend.save_sweep_cursor("graph", 3, SUB_A, T0, T0)
    backend.save_sweep_cursor("graph:mg-prod", 1, SUB_B, T0, T0)
    assert backend.sweep_cursor("graph")["after"] == SUB_A
    assert backend.sweep_cursor("graph:mg-prod")["after"] == SUB_B
