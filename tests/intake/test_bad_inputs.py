"""A corpus of bad inputs: each rejected with a reason naming where and what; none lost."""

from __future__ import annotations

import copy
import json

import pytest

from intake.deliveries import MAX_BODY_BYTES, parse_delivery
from tests import builders as b


def _without(path: str, payload):
    payload = copy.deepcopy(payload)
    node = payload[0] if isinstance(payload, list) else payload
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    del node[last]
    return payload


def _set(path: str, value, payload):
    payload = copy.deepcopy(payload)
    node = payload[0] if isinstance(payload, list) else payload
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return payload


EVENT = [b.annotated(event_id="bad-1")]
ALERT = b.resource_health()

CORPUS = [
    # (name, raw body, where, problem fragment)
    ("truncated JSON", json.dumps(EVENT)[:-40], "body", "not valid JSON"),
    ("empty body", "", "body", "is empty"),
    ("blank body", "   \n", "body", "is empty"),
    ("a JSON string", '"hello"', "body", "expected a JSON object or array"),
    ("a JSON number", "42", "body", "expected a JSON object or array"),
    ("an empty array", "[]", "body", "empty array"),
    ("an object that is nothing", '{"hello": "world"}', "body", "neither an Event Grid event"),
    ("array of a string", '["x"]', "[0]", "expected an event object"),
    ("no envelope", json.dumps([{"id": "1", "data": {}}]), "[0]", "neither an EventGridEvent"),
    ("unknown event type", json.dumps(_set("eventType", "Microsoft.Storage.BlobCreated", EVENT)), "[0].eventType", "unsupported event type"),
    ("missing data", json.dumps(_without("data", EVENT)), "[0].data", "is missing"),
    ("missing resourceInfo", json.dumps(_without("data.resourceInfo", EVENT)), "[0].data.resourceInfo", "is missing"),
    ("missing properties", json.dumps(_without("data.resourceInfo.properties", EVENT)), "[0].data.resourceInfo.properties", "is missing"),
    ("missing target", json.dumps(_without("data.resourceInfo.properties.targetResourceId", EVENT)), "targetResourceId", "is missing"),
    ("target not an ARM id", json.dumps(_set("data.resourceInfo.properties.targetResourceId", "vm1", EVENT)), "targetResourceId", "not an ARM resource id"),
    ("target a number", json.dumps(_set("data.resourceInfo.properties.targetResourceId", 7, EVENT)), "targetResourceId", "expected a string, got a number"),
    ("target an object", json.dumps(_set("data.resourceInfo.properties.targetResourceId", {"a": 1}, EVENT)), "targetResourceId", "expected a string"),
    ("missing annotation name", json.dumps(_without("data.resourceInfo.properties.annotationName", EVENT)), "annotationName", "is missing"),
    ("bad time", json.dumps(_set("data.resourceInfo.properties.occurredTime", "yesterday", EVENT)), "occurredTime", "not a date and time"),
    ("time a number", json.dumps(_set("data.resourceInfo.properties.occurredTime", 1700000000, EVENT)), "occurredTime", "expected a date and time"),
    ("data a list", json.dumps(_set("data", [1, 2], EVENT)), "[0].data", "expected an object"),
    ("id missing", json.dumps(_without("id", EVENT)), "[0].id", "is missing"),
    ("huge annotation name", json.dumps(_set("data.resourceInfo.properties.annotationName", "A" * 5000, EVENT)), "annotationName", "more than 256"),
    ("alert without data", json.dumps({"schemaId": "azureMonitorCommonAlertSchema"}), "data", "is missing"),
    ("alert without essentials", json.dumps(_without("data.essentials", ALERT)), "data.essentials", "is missing"),
    ("alert unknown service", json.dumps(_set("data.essentials.monitoringService", "Platform", ALERT)), "monitoringService", "unsupported monitoring service"),
    ("alert without target", json.dumps(_set("data.essentials.alertTargetIDs", [], ALERT)), "alertTargetIDs", "names no ARM resource id"),
    ("alert targets not a list", json.dumps(_set("data.essentials.alertTargetIDs", "x", ALERT)), "alertTargetIDs", "expected an array"),
    ("alert without health status", json.dumps(_without("data.alertContext.properties.currentHealthStatus", ALERT)), "currentHealthStatus", "is missing"),
    ("alert bad timestamp", json.dumps(_set("data.alertContext.eventTimestamp", "soon", ALERT)), "eventTimestamp", "not a date and time"),
    ("unknown alert schema", json.dumps({"schemaId": "SomethingElse", "data": {}}), "schemaId", "unsupported alert schema"),
    ("service health impactedServices not JSON", json.dumps(_set("data.alertContext.properties.impactedServices", "{oops", b.service_health())), "impactedServices", "not JSON"),
    ("administrative other operation", json.dumps(_set("data.alertContext.operationName", "Microsoft.Compute/virtualMachines/write", b.orchestration_changed())), "operationName", "unsupported operation"),
    ("legacy without activityLog", json.dumps({"schemaId": "Microsoft.Insights/activityLogs", "data": {"context": {}}}), "data.context.activityLog", "is missing"),
    ("legacy unknown source", json.dumps(_set("data.context.activityLog.eventSource", "Autoscale", b.legacy())), "eventSource", "unsupported event source"),
    ("deep nesting", "[" * 100000 + "]" * 100000, "body", "not valid JSON"),
    ("unicode garbage", b"\xff\xfe\x00garbage", "body", "not valid JSON"),
    ("lone surrogate", json.dumps(_set("data.resourceInfo.properties.annotationName", "\ud800x", EVENT)), "annotationName", "lone surrogate"),
]


@pytest.mark.parametrize("name,raw,where,problem", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_is_rejected_with_a_clear_reason(name, raw, where, problem):
    delivery = parse_delivery(raw if isinstance(raw, bytes) else raw.encode(), input_name="corpus.json")
    assert not delivery.signals
    (rejection,) = delivery.rejections
    assert where in rejection.where, rejection.reason
    assert problem in rejection.problem, rejection.reason
    assert rejection.reason.startswith("corpus.json: ")


def test_a_body_over_the_limit_is_refused_before_parsing():
    raw = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    (rejection,) = parse_delivery(raw, "big.json").rejections
    assert rejection.where == "body" and f"more than the {MAX_BODY_BYTES}" in rejection.problem


def test_one_bad_event_does_not_stop_the_others(pipeline):
    events = [b.annotated("AccelnetUnhealthy"), {"id": "broken", "eventType": "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated"}, b.availability()]
    outcomes = pipeline.process(parse_delivery(json.dumps(events), "mixed.json"))
    assert sorted(o.status for o in outcomes) == ["noop", "planned", "rejected"]
    assert "[1].data" in next(o.reason for o in outcomes if o.status == "rejected")


def test_rejections_are_recorded_in_the_ledger(pipeline, ledger):
    pipeline.process(parse_delivery(b"[]", "empty.json"))
    (row,) = ledger.rejections()
    assert (row["input"], row["location"]) == ("empty.json", "body") and "empty array" in row["problem"]
