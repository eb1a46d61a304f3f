"""Small helpers shared by the HTTP triggers: JSON answers and reading a body safely."""

from __future__ import annotations

import json

import azure.functions as func

from .deliveries import MAX_BODY_BYTES


def json_response(status: int, body: object, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json", headers=headers)


def problem(status: int, where: str, problem_text: str, **extra: object) -> func.HttpResponse:
    return json_response(status, {"error": {"field": where, "problem": problem_text}, **extra})


def declared_too_large(req: func.HttpRequest) -> bool:
    """Refuse on the declared length before touching the body."""
    try:
        return int(req.headers.get("content-length") or 0) > MAX_BODY_BYTES
    except ValueError:
        return False
