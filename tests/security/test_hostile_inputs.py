"""Hostile and malformed input, from the corpus table, through `parse_delivery` and through the
registered HTTP functions with real func.HttpRequest objects, acting in auto mode against the
simulated Azure: each case gives what corpus_expectations.jsonl states (refused naming the field
and the problem, or accepted as the signal it becomes), never an unhandled exception, a 400 (413
oversize, declared or not) for each refusal, every rejection recorded, and no ARM write for
anything refused."""

from __future__ import annotations

import json

import pytest

from intake.deliveries import MAX_BODY_BYTES, parse_delivery
from tests.conftest import accepted_writes

from .conftest import call, post
from .corpus import CASES, baselines, expectations, kind_of, outcome

EXPECTED = expectations()
BASELINES = baselines()


def test_every_case_states_what_must_come_out():
    assert set(EXPECTED) == {case.id for case in CASES}
    for case in CASES:
        if case.must_reject:
            assert "rejected" in EXPECTED[case.id] and "signals" not in EXPECTED[case.id], case.id
        if "-wrong-type-" in case.id and "rejected" in EXPECTED[case.id]:
            assert EXPECTED[case.id]["problem"] != "is missing", "a field of the wrong type is there: say what it is"


# Through the parser: every case (fast, no I/O), against what it must give.
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_parser_gives_what_the_case_states(case):
    delivery = parse_delivery(case.body, input_name="corpus")
    assert outcome(case, delivery, BASELINES.get(kind_of(case))) == EXPECTED[case.id]
    for rejection in delivery.rejections:
        assert rejection.where and rejection.problem and rejection.reason.startswith("corpus: ")
        assert len(rejection.excerpt) <= 300


def test_a_required_field_of_the_wrong_type_is_refused_naming_it():
    """The case the corpus once let through: a number where the state belongs is no state "12345"."""
    case = next(c for c in CASES if c.id == "availability-wrong-type-0.data.resourceInfo.properties.availabilityState")
    delivery = parse_delivery(case.body, input_name="corpus")
    (rejection,) = delivery.rejections
    assert not delivery.signals
    assert (rejection.where, rejection.problem) == ("[0].data.resourceInfo.properties.availabilityState", "expected a string, got a number")


# Through the HTTP functions: every refused case, every lone surrogate (each once crashed the
# ledger), and a sample of the rest (one in five), acting for real against the simulated Azure.
# Each case has a ledger of its own: in a shared one a second case with the same event id would
# be a duplicate, never reaching the code that failed.
HTTP_CASES = [c for i, c in enumerate(CASES) if c.must_reject or "lone-surrogate" in c.id or i % 5 == 0]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.id for c in HTTP_CASES])
def test_the_http_routes_refuse_and_record_it(case, functions, auto_installed, module_sim, ledger):
    before = len(accepted_writes(module_sim))
    response = call(functions, case.route, post(case.route, case.body))
    answer = json.loads(response.get_body())
    refusal = 413 if len(case.body) > MAX_BODY_BYTES else 400  # ten thousand events are over 4 MB
    expected = EXPECTED[case.id]
    if "rejected" in expected and "signals" not in expected:
        assert response.status_code == refusal, answer
        wrong_route = answer["error"]["problem"].startswith("is an Event Grid delivery; post it to")
        if refusal == 400 and not wrong_route:  # a body for the other route is refused as a whole first
            assert answer["error"]["field"] == expected["rejected"], (answer, expected)
    else:
        assert response.status_code in (200, 202), answer
    if response.status_code == refusal:
        assert answer["error"]["field"] and answer["error"]["problem"]
        assert ledger.rejections(), "a refusal must be recorded"
        assert len(accepted_writes(module_sim)) == before, "nothing refused may write to ARM"
    for rejected in answer.get("rejected", []):
        assert rejected["field"] and rejected["problem"]
    assert len(ledger.rejections()) >= len(answer.get("rejected", []))


OVERSIZE = b'{"x": "' + b"a" * (MAX_BODY_BYTES + 10) + b'"}'


# Declared or not (a chunked upload declares no length), or understated: 413, one recorded rejection.
@pytest.mark.parametrize("route", ["alerts", "events"])
@pytest.mark.parametrize("body,headers", [
    (b"{}", {"content-length": str(MAX_BODY_BYTES + 1)}),
    (OVERSIZE, {"content-type": "application/json"}),
    (OVERSIZE, {"content-type": "application/json", "transfer-encoding": "chunked"}),
    (OVERSIZE, {"content-length": "2"}),
], ids=["declared", "undeclared", "chunked", "understated"])
def test_an_oversize_body_is_413_and_recorded_once(route, body, headers, functions, auto_installed, module_sim, ledger):
    before = len(accepted_writes(module_sim))
    response = call(functions, route, post(route, body, headers))
    assert response.status_code == 413
    error = json.loads(response.get_body())["error"]
    assert error["field"] == "body" and str(MAX_BODY_BYTES) in error["problem"]
    (row,) = ledger.rejections()
    assert row["location"] == "body" and row["input"] == f"POST /api/{route}"
    assert len(accepted_writes(module_sim)) == before


def test_ten_thousand_events_in_one_delivery_are_refused_as_one_recorded_rejection(functions, auto_installed, module_sim, ledger):
    before = len(accepted_writes(module_sim))
    response = call(functions, "events", post("events", json.dumps([{"id": str(i)} for i in range(10_000)]).encode()))
    assert response.status_code == 400
    assert "10000 events" in json.loads(response.get_body())["error"]["problem"]
    assert len(ledger.rejections()) == 1 and len(accepted_writes(module_sim)) == before
