"""Small helpers shared by the HTTP triggers: JSON answers and reading a body safely."""

from __future__ import annotations

import json

import azure.functions as func

from .deliveries import MAX_BODY_BYTES


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
