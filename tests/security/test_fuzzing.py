"""Hypothesis drives each handler (the two HTTP routes and the Event Grid trigger) with arbitrary
bytes, arbitrary JSON and well-formed payloads with one field replaced by anything: never an
exception, an answer the caller can read, and every delivery accounted for in the ledger. Each
test asserts that both ways out (refused, decided on) came up in its run.

Text excludes lone surrogates: every corpus case holding one goes through the HTTP routes
(test_hostile_inputs.py) and the Event Grid trigger (test_event_grid_inputs.py)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.properties import Branches, examples

from .conftest import call, post
from .corpus import kinds, paths, replaced

FUZZ = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
KINDS = kinds()
MUTABLE = [(kind, path) for kind, (_, document) in KINDS.items() for path, _ in paths(document)]


class Duplicates(logging.Handler):
    """Counts the duplicates the app logged: a second delivery is logged, not recorded."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "already received" in record.getMessage():  # the reason a duplicate is logged with
            self.count += 1


DUPLICATES = Duplicates()


@pytest.fixture(autouse=True)
def duplicates_heard():
    logger = logging.getLogger("responder")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(DUPLICATES)
    yield
    logger.removeHandler(DUPLICATES)
    logger.setLevel(level)


def snapshot(ledger) -> tuple[int, int, int]:
    return len(ledger.rejections()), len(list(ledger.history())), DUPLICATES.count


def accounted(ledger, before: tuple[int, int], seen: Branches) -> bool:
    """Something new in the ledger: a rejection or a decision (counted, to show both came up)."""
    after = snapshot(ledger)
    if after[0] > before[0]:
        seen.reached("recorded a rejection")
    if after[1] > before[1]:
        seen.reached("recorded a decision")
    return after != before


def answer(functions, route: str, body: bytes, seen: Branches) -> tuple[int, dict]:
    response = call(functions, route, post(route, body))
    document = json.loads(response.get_body())
    assert response.status_code in (200, 202, 400), document
    seen.reached(f"answered {response.status_code}")
    if response.status_code == 400:
        assert document["error"]["field"] and document["error"]["problem"]
    return response.status_code, document


def test_arbitrary_bytes(functions, installed, ledger):
    seen = Branches()

    @FUZZ
    @given(route=st.sampled_from(["alerts", "events"]), body=st.binary(max_size=2000))
    def run(route, body):
        before = snapshot(ledger)
        status, _ = answer(functions, route, body, seen)
        assert accounted(ledger, before, seen) or (route == "events" and status == 200)
        assert status == 400 or snapshot(ledger) != before or route == "events"

    run()
    seen.assert_reached("answered 400", "recorded a rejection")


def test_arbitrary_json(functions, installed, ledger):
    seen = Branches()

    @FUZZ
    @given(route=st.sampled_from(["alerts", "events"]), document=json_values)
    def run(route, document):
        before = snapshot(ledger)
        answer(functions, route, json.dumps(document).encode(), seen)
        assert accounted(ledger, before, seen)

    run()
    seen.assert_reached("answered 400", "recorded a rejection")


def test_a_real_payload_with_one_field_replaced_by_anything(functions, installed, ledger):
    seen = Branches()

    @FUZZ
    @given(target=st.sampled_from(MUTABLE), value=json_values)
    def run(target, value):
        kind, path = target
        route, document = KINDS[kind]
        before = snapshot(ledger)
        answer(functions, route, json.dumps(replaced(document, path, value)).encode(), seen)
        assert accounted(ledger, before, seen)

    run()
    # Both ways out: a field the app needs, broken, is refused; one it does not read is not.
    seen.assert_reached("answered 400", "recorded a rejection", "recorded a decision")


def test_the_event_grid_trigger(functions, installed, ledger):
    seen = Branches()

    @FUZZ
    @given(target=st.sampled_from([(k, p) for k, p in MUTABLE if KINDS[k][0] == "events" and p[:2] == (0, "data")]), value=json_values,
           event_type=st.sampled_from(["Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
                                       "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
                                       "Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted",
                                       "Microsoft.Storage.BlobCreated"]) | text,
           subject=text, topic=text)
    def run(target, value, event_type, subject, topic):
        kind, path = target
        (event,) = replaced(KINDS[kind][1], path, value)
        before = snapshot(ledger)
        grid = func.EventGridEvent(id=event.get("id", "fuzz"), data=event["data"], topic=topic, subject=subject, event_type=event_type,
                                   event_time=datetime(2026, 11, 20, tzinfo=UTC), data_version="1")
        assert call(functions, "event_grid", grid) is None
        assert accounted(ledger, before, seen)

    run()
    seen.assert_reached("recorded a rejection", "recorded a decision")
