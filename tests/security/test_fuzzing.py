"""Hypothesis drives each handler (the two HTTP routes and the Event Grid trigger) with arbitrary
bytes, arbitrary JSON and well-formed payloads with one field replaced by anything: never an
exception, an answer the caller can read, and every delivery accounted for in the ledger.

Text excludes lone surrogates: every corpus case holding one goes through the HTTP routes
(test_hostile_inputs.py) and the Event Grid trigger (test_event_grid_inputs.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import call, post
from .corpus import kinds, paths, replaced

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
KINDS = kinds()
MUTABLE = [(kind, path) for kind, (_, document) in KINDS.items() for path, _ in paths(document)]


def accounted(ledger, before: tuple[int, int]) -> bool:
    """Something new in the ledger: a rejection or a decision."""
    return (len(ledger.rejections()), len(list(ledger.history()))) != before


def snapshot(ledger) -> tuple[int, int]:
    return len(ledger.rejections()), len(list(ledger.history()))


def answer(functions, route: str, body: bytes) -> tuple[int, dict]:
    response = call(functions, route, post(route, body))
    document = json.loads(response.get_body())
    assert response.status_code in (200, 202, 400), document
    if response.status_code == 400:
        assert document["error"]["field"] and document["error"]["problem"]
    return response.status_code, document


@FUZZ
@given(route=st.sampled_from(["alerts", "events"]), body=st.binary(max_size=2000))
def test_arbitrary_bytes(functions, installed, ledger, route, body):
    before = snapshot(ledger)
    status, _ = answer(functions, route, body)
    assert status == 400 or accounted(ledger, before)
    assert accounted(ledger, before) or (route == "events" and status == 200)


@FUZZ
@given(route=st.sampled_from(["alerts", "events"]), document=json_values)
def test_arbitrary_json(functions, installed, ledger, route, document):
    before = snapshot(ledger)
    status, _ = answer(functions, route, json.dumps(document).encode())
    assert accounted(ledger, before)


@FUZZ
@given(target=st.sampled_from(MUTABLE), value=json_values)
def test_a_real_payload_with_one_field_replaced_by_anything(functions, installed, ledger, target, value):
    kind, path = target
    route, document = KINDS[kind]
    before = snapshot(ledger)
    answer(functions, route, json.dumps(replaced(document, path, value)).encode())
    assert accounted(ledger, before)


@FUZZ
@given(target=st.sampled_from([(k, p) for k, p in MUTABLE if KINDS[k][0] == "events" and p[:2] == (0, "data")]), value=json_values,
       event_type=st.sampled_from(["Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
                                   "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
                                   "Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted",
                                   "Microsoft.Storage.BlobCreated"]) | text,
       subject=text, topic=text)
def test_the_event_grid_trigger(functions, installed, ledger, target, value, event_type, subject, topic):
    kind, path = target
    (event,) = replaced(KINDS[kind][1], path, value)
    before = snapshot(ledger)
    grid = func.EventGridEvent(id=event.get("id", "fuzz"), data=event["data"], topic=topic, subject=subject, event_type=event_type,
                               event_time=datetime(2026, 11, 20, tzinfo=timezone.utc), data_version="1")
    assert call(functions, "event_grid", grid) is None
    assert accounted(ledger, before)
