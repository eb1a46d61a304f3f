"""Hostile input through the Event Grid trigger: every corpus case that an Event Grid subscription
could deliver (`corpus.event_grid_event`: one event, the Event Grid schema, an EventGridEvent the
Functions worker can build), handed to the registered `event_grid` function as the worker hands
it, acting in auto mode against the simulated Azure.

Never an exception (the host would retry a poison event), every event accounted for in the
ledger, a refused one recorded once under its id naming the field the case broke (or the object
holding it), and nothing refused written to ARM."""

from __future__ import annotations

import pytest

from handlers.event_grid import input_name_of
from tests.conftest import accepted_writes

from .conftest import call
from .corpus import EVENT_GRID_CASES, event_grid_event, expectations, field_name

EXPECTED = expectations()


def names(broken: str, named: str) -> bool:
    """The rejection names the broken field itself, or the object that holds it."""
    return bool(named) and (broken == named or broken.startswith((named + ".", named + "[")))


@pytest.mark.parametrize("case", EVENT_GRID_CASES, ids=[c.id for c in EVENT_GRID_CASES])
def test_a_bad_event_through_the_trigger_is_recorded_naming_the_field(case, functions, auto_installed, module_sim, ledger):
    event = event_grid_event(case)
    writes_before = len(accepted_writes(module_sim))
    assert call(functions, "event_grid", event) is None
    rejections, decisions = ledger.rejections(), list(ledger.history())
    expected = EXPECTED[case.id]
    if "rejected" not in expected:  # accepted by the parser: the trigger decides on it too
        assert not rejections and decisions, [r["problem"] for r in rejections]
        return
    (row,) = rejections
    assert not decisions
    assert row["input"] == input_name_of(event) and row["problem"]
    broken = field_name(case.field[1:])  # the trigger gets the event, not the array it came in
    assert names(broken, row["location"]), (broken, row["location"], row["problem"])
    assert row["location"] == expected["rejected"].removeprefix("[0]").lstrip("."), (row["location"], expected)
    if "-wrong-type-" in case.id:
        assert row["problem"] != "is missing", "a field of the wrong type is there: say what it is"
    assert len(accepted_writes(module_sim)) == writes_before, "nothing refused may write to ARM"


def test_the_table_covers_every_way_the_corpus_breaks_an_event():
    """Wrong types, nulls, huge strings, each kind of odd text and deep data, in each event kind
    the trigger takes: a change to the corpus that drops one shows here."""
    assert len(EVENT_GRID_CASES) >= 500
    ways = {"wrong-type", "null", "huge", "deep-data", "nul", "rtl-override", "lone-surrogate", "zero-width", "emoji", "bidi-isolate"}
    for kind in ("annotation-grid", "availability", "scheduled"):
        seen = {way for way in ways for case in EVENT_GRID_CASES if case.id == f"{kind}-{way}" or case.id.startswith(f"{kind}-{way}-")}
        assert seen == ways, (kind, ways - seen)


@pytest.mark.parametrize("event_id,shown", [
    ("\ud800", "event-grid:\\ud800"),
    ("A" * 300_000, "event-grid:" + "A" * 256),
    (12345, "event-grid:12345"),
])
def test_the_delivery_is_named_by_an_id_the_ledger_can_hold(event_id, shown):
    import azure.functions as func

    event = func.EventGridEvent(id=event_id, data={}, topic="", subject="", event_type="x", event_time=None, data_version="1")
    assert input_name_of(event) == shown
