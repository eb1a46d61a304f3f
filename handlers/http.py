"""Small helpers shared by the HTTP triggers: JSON answers and reading a body safely."""

from __future__ import annotations

import json

import azure.functions as func

from intake.deliveries import MAX_BODY_BYTES


def json_response(status: int, body: object, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json", headers=headers)


def problem(status: int, where: str, problem_text: str, **extra: object) -> func.HttpResponse:
    return json_response(status, {"error": {"field": where, "problem": problem_text}, **extra})


def too_large(req: func.HttpRequest, limit: int = MAX_BODY_BYTES) -> bool:
    """Over `limit` by the declared Content-Length or, when none is declared (a chunked upload)
    or it understates, by the body's own length: either way refused before the body is parsed."""
    return _declared_length(req) > limit or len(req.get_body() or b"") > limit


def _declared_length(req: func.HttpRequest) -> int:
    try:
        return int(req.headers.get("content-length") or 0)
    except ValueError:
        return 0


# Long enough for the attempt holding the claim to finish; action groups and Event Grid retry a 503.
RETRY_DEFERRED_AFTER = "60"


def deferred(outcomes) -> func.HttpResponse | None:
    """503 when another attempt still holds some of the delivery's events: the sender delivers
    again later, and the events decided now read as duplicates then."""
    from pipeline import DEFERRED

    held = [o.event_id for o in outcomes if o.status == DEFERRED]
    if not held:
        return None
    return json_response(503, {"error": {"field": "delivery", "problem": f"{len(held)} event(s) are being decided by "
                               "another attempt; deliver again later"}, "deferred": held[:100]},
                         headers={"Retry-After": RETRY_DEFERRED_AFTER})


def not_recorded(error: Exception) -> func.HttpResponse:
    """503 when the delivery's notices could not be recorded (pipeline.NoticesNotRecorded): action
    groups retry a 503, and the delivery is then decided and told again, not read as a duplicate."""
    return json_response(503, {"error": {"field": "delivery", "problem": f"{error}; deliver again later"}},
                         headers={"Retry-After": RETRY_DEFERRED_AFTER})
