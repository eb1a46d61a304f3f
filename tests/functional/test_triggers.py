"""Each registered function, called the way the Functions host calls it: real
func.EventGridEvent and func.HttpRequest objects through app.get_functions()."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from intake.fields import timestamp
from tests import builders as b
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def functions():
    from function_app import app

    return {fn.get_function_name(): fn for fn in app.get_functions()}


def call(functions, name, *args):
    return functions[name].get_user_function()(*args)


def grid_event(payload: dict) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=payload["id"], data=payload["data"], topic=payload["topic"], subject=payload["subject"],
        event_type=payload["eventType"], event_time=timestamp(payload["eventTime"], "eventTime"),
        data_version=payload["dataVersion"],
    )


def post(route: str, body: bytes, headers: dict | None = None) -> func.HttpRequest:
    return func.HttpRequest("POST", f"https://app.example/api/{route}", headers=headers or {"content-type": "application/json"}, body=body)


def test_every_trigger_is_registered(functions):
    bindings = {name: {binding.type for binding in fn.get_bindings()} for name, fn in functions.items()}
    assert bindings == {"event_grid": {"eventGridTrigger"}, "alerts": {"httpTrigger", "http"}, "events": {"httpTrigger", "http"}, "tick": {"timerTrigger"}, "sweep": {"timerTrigger"}, "purge": {"timerTrigger"}, "approvals": {"httpTrigger", "http"},
                        "waves": {"httpTrigger", "http"}, "close_wave": {"httpTrigger", "http"}}
    assert functions["tick"].get_trigger().schedule == "%RESPONDER_TICK_SCHEDULE%"
    assert functions["sweep"].get_trigger().schedule == "%RESPONDER_SWEEP_SCHEDULE%"
    assert functions["purge"].get_trigger().schedule == "%RESPONDER_PURGE_SCHEDULE%"
    routes = {name: fn.get_trigger().route for name, fn in functions.items() if name in ("alerts", "events")}
    assert routes == {"alerts": "alerts", "events": "events"}
    assert {str(m).upper().split(".")[-1] for m in functions["events"].get_trigger().methods} == {"POST", "OPTIONS"}


@pytest.mark.parametrize(
    "payload,kind,action",
    [
        (lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure"), "annotation", "redeploy"),
        (lambda: b.availability("Unavailable"), "availability", "none"),
        (lambda: b.scheduled("Freeze"), "scheduled-event", "none"),
    ],
)
def test_event_grid_trigger(functions, installed, ledger, payload, kind, action):
    assert call(functions, "event_grid", grid_event(payload())) is None
    (row,) = ledger.history()
    assert (row["kind"], row["action"]) == (kind, action)


def test_event_grid_trigger_records_a_bad_event_and_returns(functions, installed, ledger):
    event = b.annotated()
    del event["data"]["resourceInfo"]["properties"]["targetResourceId"]
    call(functions, "event_grid", grid_event(event))
    (rejection,) = ledger.rejections()
    assert "targetResourceId" in rejection["location"] and rejection["input"].startswith("event-grid:")


@pytest.mark.parametrize(
    "payload,kind",
    [
        (lambda: b.service_health("Maintenance", "Planned"), "service-health"),
        (lambda: b.resource_health("Unavailable"), "resource-health"),
        (lambda: b.orchestration_changed(), "repair-state"),
        (lambda: b.legacy("ResourceHealth"), "resource-health"),
        (lambda: b.legacy("ServiceHealth"), "service-health"),
    ],
)
def test_alerts_route_accepts_with_202(functions, installed, payload, kind):
    response = call(functions, "alerts", post("alerts", b.body(payload())))
    assert response.status_code == 202
    (accepted,) = json.loads(response.get_body())["accepted"]
    assert accepted["kind"] == kind and accepted["incident_id"].startswith("INC-")


@pytest.mark.parametrize(
    "body,field,problem",
    [
        (b"{not json", "body", "not valid JSON"),
        (b"", "body", "is empty"),
        (json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {}}}).encode(), "data.alertContext", "is missing"),
        (json.dumps([b.annotated()]).encode(), "body", "post it to /api/events"),
    ],
)
def test_alerts_route_answers_400_naming_the_field(functions, installed, ledger, body, field, problem):
    response = call(functions, "alerts", post("alerts", body))
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert error["field"] == field and problem in error["problem"]
    assert ledger.rejections(), "the rejection is recorded"


def test_alerts_route_refuses_an_oversize_body_by_its_declared_length(functions, installed, ledger):
    response = call(functions, "alerts", post("alerts", b"{}", {"content-length": str(50 * 1024 * 1024)}))
    assert response.status_code == 413
    assert ledger.rejections()


def test_a_resolved_alert_closes_its_incident(functions, installed, ledger):
    fired = json.loads(call(functions, "alerts", post("alerts", b.body(b.resource_health(alert_id="/x/9")))).get_body())["accepted"][0]
    resolved = json.loads(call(functions, "alerts", post("alerts", b.body(b.resource_health(alert_id="/x/9", condition="Resolved")))).get_body())["accepted"][0]
    assert resolved["incident_id"] == fired["incident_id"]
    assert ledger.incident(fired["incident_id"])["closed_at"]


def test_events_route_answers_the_validation_handshake(functions, installed):
    handshake = [{"id": "v", "topic": "/subscriptions/x", "subject": "", "data": {"validationCode": "512d38b6"},
                  "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": "2026-01-01T00:00:00Z", "metadataVersion": "1", "dataVersion": "1"}]
    response = call(functions, "events", post("events", b.body(handshake)))
    assert response.status_code == 200
    assert json.loads(response.get_body()) == {"validationResponse": "512d38b6"}


def test_events_route_answers_the_cloud_events_handshake(functions, installed):
    request = func.HttpRequest("OPTIONS", "https://app.example/api/events", headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, body=b"")
    response = call(functions, "events", request)
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_events_route_refuses_a_handshake_without_origin(functions, installed):
    response = call(functions, "events", func.HttpRequest("OPTIONS", "https://app.example/api/events", headers={}, body=b""))
    assert response.status_code == 400


@pytest.mark.parametrize("schema", ["grid", "cloud"])
def test_events_route_takes_arrays_in_either_schema(functions, installed, ledger, schema):
    delivery = [b.annotated("AccelnetUnhealthy", schema=schema), b.availability("Degraded", schema=schema, target=b.vm_id("vm2"))]
    response = call(functions, "events", post("events", b.body(delivery), {"content-type": "application/cloudevents-batch+json"}))
    assert response.status_code == 200
    assert json.loads(response.get_body())["processed"] == 2
    assert [row["kind"] for row in ledger.history()] == ["annotation", "availability"]


def test_events_route_keeps_good_events_when_one_is_bad(functions, installed, ledger):
    delivery = [b.annotated("AccelnetUnhealthy"), {"id": "x", "eventType": "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated"}]
    response = call(functions, "events", post("events", b.body(delivery)))
    body = json.loads(response.get_body())
    assert response.status_code == 200 and body["processed"] == 1
    assert body["rejected"][0]["field"] == "[1].data"
    assert len(ledger.rejections()) == 1


@pytest.mark.parametrize("body,status", [(b"[]", 400), (b"nope", 400), (b.body(b.resource_health()), 400)])
def test_events_route_refuses_what_is_not_a_delivery(functions, installed, body, status):
    assert call(functions, "events", post("events", body)).status_code == status


def test_tick_trigger_follows_operations_to_their_end(functions, acting, sim, ledger):
    from azure.functions.timer import TimerRequest

    from handlers import runtime
    from tests.conftest import DEMO_SUBSCRIPTION

    pipeline = acting("auto")
    runtime.use(pipeline)
    try:
        target = b.vm_id("vm-accelnet", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
        call(functions, "event_grid", grid_event(b.annotated("AccelnetUnhealthy", target=target)))
        assert ledger.open_operations()
        for _ in range(50):
            call(functions, "tick", TimerRequest(past_due=False))
            if not ledger.open_operations():
                break
        assert [op["state"] for op in ledger.operations()] == ["succeeded"]
    finally:
        runtime.use(None)


# -- a delivery another attempt is still deciding: the sender is asked to deliver it again --------


def held_elsewhere(installed, ledger, body) -> str:
    """Claim the delivery's one event as another worker would, and leave it undecided."""
    from intake.deliveries import parse_delivery
    from pipeline import CLAIM_LEASE

    (signal,) = parse_delivery(body, "test").signals
    assert ledger.claim_delivery(signal.delivery_key, installed.clock(), CLAIM_LEASE) == "claimed"
    return signal.delivery_key


def test_event_grid_trigger_fails_so_event_grid_retries_an_event_held_elsewhere(functions, installed, ledger):
    from pipeline import DeliveryDeferred

    event = b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", event_id="held-1")
    key = held_elsewhere(installed, ledger, json.dumps([event]).encode())
    with pytest.raises(DeliveryDeferred, match="held-1"):
        call(functions, "event_grid", grid_event(event))
    assert [row["status"] for row in ledger.history()] == ["deferred"]
    ledger.settle_delivery(key, installed.clock())  # the other attempt finished
    call(functions, "event_grid", grid_event(event))
    assert [row["status"] for row in ledger.history()] == ["deferred"]  # the duplicate is logged, not recorded


@pytest.mark.parametrize("route, payload", [
    ("events", lambda: [b.annotated("AccelnetUnhealthy", event_id="held-2")]),
    ("alerts", lambda: b.resource_health("Unavailable")),
])
def test_http_routes_answer_503_with_retry_after_for_events_held_elsewhere(functions, installed, ledger, route, payload):
    body = json.dumps(payload()).encode()
    held_elsewhere(installed, ledger, body)
    response = call(functions, route, post(route, body))
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    answer = json.loads(response.get_body())
    assert answer["error"]["field"] == "delivery" and len(answer["deferred"]) == 1


def test_host_timeout_is_shorter_than_the_claim_lease():
    from pipeline import CLAIM_LEASE

    hours, minutes, seconds = map(int, json.loads((ROOT / "host.json").read_text())["functionTimeout"].split(":"))
    assert hours * 3600 + minutes * 60 + seconds < CLAIM_LEASE.total_seconds()


def test_a_test_alert_is_recorded_as_a_test_and_opens_no_incident(functions, installed, ledger, shared_examples):
    # Azure's "Test action group" sample for Service Health carries IsSynthetic: "True".
    body = (shared_examples / "from-docs/alerts-payload-samples.test-action.ServiceHealth.json").read_bytes()
    response = call(functions, "alerts", post("alerts", body))
    assert response.status_code == 202
    answer = json.loads(response.get_body())
    assert answer["test"] is True and "never acted on" in answer["recorded"][0]
    (recorded,) = ledger.rejections()
    assert recorded["location"] == "data.alertContext.properties.IsSynthetic"
    assert ledger._db.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
