"""POST /api/alerts: action-group payloads (common alert schema or legacy Activity Log schema).

202 when accepted; 400 naming the field and the problem otherwise (action groups do not retry a
400, and retrying a malformed payload could not help). The rejection is recorded either way.
503 with Retry-After when another attempt holds an event, or when the delivery's notices could
not be recorded: action groups retry a 503, and the retry is decided and told again.
A test alert (the action group's "Test" button, `IsSynthetic: "True"`) is recorded as a test and
answered 202 with `"test": true`; it never opens an incident nor acts.
"""

from __future__ import annotations

import azure.functions as func

from intake.deliveries import MAX_BODY_BYTES, parse_delivery
from pipeline import NoticesNotRecorded

from . import runtime
from .http import deferred, json_response, not_recorded, problem, too_large

bp = func.Blueprint()


@bp.function_name("alerts")
@bp.route(route="alerts", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def alerts(req: func.HttpRequest) -> func.HttpResponse:
    pipeline = runtime.pipeline()
    if too_large(req):
        outcome = pipeline.reject("POST /api/alerts", "body", f"is larger than the {MAX_BODY_BYTES} bytes allowed")
        return problem(413, "body", outcome.reason)
    delivery = parse_delivery(req.get_body(), input_name="POST /api/alerts")
    if delivery.kind in ("event-grid", "validation"):
        outcome = pipeline.reject("POST /api/alerts", "body", "is an Event Grid delivery; post it to /api/events")
        return problem(400, "body", "is an Event Grid delivery; post it to /api/events")
    try:
        outcomes = pipeline.process(delivery)
    except NoticesNotRecorded as error:
        return not_recorded(error)
    if (busy := deferred(outcomes)) is not None:
        return busy
    if delivery.rejections and all(r.test for r in delivery.rejections):
        return json_response(202, {"test": True, "recorded": [r.reason for r in delivery.rejections]})
    if delivery.rejections:
        first = delivery.rejections[0]
        return problem(400, first.where, first.problem, recorded=True)
    return json_response(202, {"accepted": [_summary(o) for o in outcomes]})


def _summary(outcome) -> dict:
    return {k: getattr(outcome, k) for k in ("incident_id", "kind", "name", "action", "mode", "status", "reason")}
