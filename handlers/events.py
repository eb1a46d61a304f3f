"""POST/OPTIONS /api/events: an Event Grid webhook for deployments that subscribe by URL.

Answers both validation handshakes (the Event Grid schema's SubscriptionValidationEvent with
200 and `validationResponse`; the CloudEvents OPTIONS with `WebHook-Allowed-Origin`) and takes
deliveries that are arrays of events in either schema. A bad event is rejected on its own; the
others go through, and the delivery is acknowledged so Event Grid does not resend good events.
"""

from __future__ import annotations

import azure.functions as func

from intake.deliveries import MAX_BODY_BYTES, parse_delivery
from pipeline import NoticesNotRecorded

from . import runtime
from .http import deferred, json_response, not_recorded, problem, too_large

bp = func.Blueprint()


@bp.function_name("events")
@bp.route(route="events", methods=["POST", "OPTIONS"], auth_level=func.AuthLevel.FUNCTION)
def events(req: func.HttpRequest) -> func.HttpResponse:
    if req.method.upper() == "OPTIONS":
        return _cloud_events_handshake(req)
    pipeline = runtime.pipeline()
    if too_large(req):
        outcome = pipeline.reject("POST /api/events", "body", f"is larger than the {MAX_BODY_BYTES} bytes allowed")
        return problem(413, "body", outcome.reason)
    delivery = parse_delivery(req.get_body(), input_name="POST /api/events")
    if delivery.validation_code and not delivery.signals and not delivery.rejections:
        return json_response(200, {"validationResponse": delivery.validation_code})
    if delivery.kind in ("common-alert", "legacy-alert") and delivery.signals:
        outcome = pipeline.reject("POST /api/events", "body", "is an alert payload; post it to /api/alerts")
        return problem(400, "body", "is an alert payload; post it to /api/alerts", recorded=True)
    try:
        outcomes = pipeline.process(delivery)
    except NoticesNotRecorded as error:
        return not_recorded(error)
    if (busy := deferred(outcomes)) is not None:
        return busy
    rejected = [{"field": r.where, "problem": r.problem} for r in delivery.rejections]
    if not delivery.signals:
        first = delivery.rejections[0]
        return problem(400, first.where, first.problem, recorded=True, rejected=rejected)
    return json_response(200, {"processed": len(delivery.signals), "rejected": rejected, "outcomes": len(outcomes)})


def _cloud_events_handshake(req: func.HttpRequest) -> func.HttpResponse:
    origin = req.headers.get("WebHook-Request-Origin")
    if not origin:
        return problem(400, "WebHook-Request-Origin", "header is missing from the CloudEvents validation request")
    return func.HttpResponse(status_code=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "120", "Allow": "POST"})
