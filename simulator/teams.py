"""A simulated Teams Workflows webhook ("When a Teams webhook request is received").

    hooks = teams.install(sim)
    url = hooks.url("ops")            # a Workflows-shaped URL on the simulated Azure
    hooks.fail("429", times=2, retry_after=1)
    hooks.fail("200-error")          # 200 whose body says "Microsoft Teams endpoint returned HTTP error 429"
    hooks.posts["ops"]               # every accepted body, parsed

Like Workflows, it answers 202 with an empty body once it has the request; malformed JSON gets
400. Scripted failures are used up in order, one per request.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .scripted import ScriptedFailures
from .server import Request, Response

PATH = r"/workflows/(?P<name>[^/]+)/triggers/manual/paths/invoke"
KINDS = ("429", "200-error", "500", "502", "503", "400", "404", "302")


class TeamsWebhooks:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.posts: dict[str, list[Any]] = {}
        self.attempts: dict[str, int] = {}
        self._failures = ScriptedFailures("webhook", KINDS)
        self._lock = threading.Lock()

    def url(self, name: str = "ops") -> str:
        return (
            f"{self.base_url}/workflows/{name}/triggers/manual/paths/invoke"
            "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=simulated"
        )

    def fail(self, kind: str, *, times: int = 1, retry_after: float | None = None, text: str | None = None) -> None:
        self._failures.add(kind, times, retry_after, text)

    def received(self, name: str = "ops") -> list[Any]:
        with self._lock:
            return list(self.posts.get(name, []))

    def handle(self, request: Request) -> Response:
        name = request.match.group("name") if request.match else "ops"
        with self._lock:
            self.attempts[name] = self.attempts.get(name, 0) + 1
        try:
            body = json.loads(request.raw_body or b"")
        except ValueError:
            return Response(400, {"error": {"code": "InvalidRequestContent", "message": "The request content is not valid JSON."}})
        failure = self._failures.take()
        if failure is not None:
            headers = {"Retry-After": _seconds(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.kind == "200-error":
                text = failure.text or "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0,server=msgapi,cv=simulated."
                return Response(200, text, headers)
            status = int(failure.kind)
            return Response(status, {"error": {"code": "Simulated", "message": failure.text or f"simulated {status}"}}, headers)
        with self._lock:
            self.posts.setdefault(name, []).append(body)
        return Response(202, None)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def install(sim: Any) -> TeamsWebhooks:
    """Plug the webhook endpoint into a running (or about to run) simulated Azure."""
    hooks = TeamsWebhooks(sim.base_url)
    sim.add_route("POST", PATH, hooks.handle)
    return hooks
