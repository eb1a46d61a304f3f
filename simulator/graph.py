"""A simulated Microsoft Graph mailbox: `POST /v1.0/users/{id}/sendMail` and Sent Items lookup.

    mail = graph.install(sim)
    mail.fail("429", retry_after=1)          # refused, not sent
    mail.fail("503-after-accepting")         # records the message, then answers 503
    mail.deny_lookup = True                  # Sent Items lookup answers 403 (no Mail.ReadBasic)
    mail.refuse_message_id = True            # 400 for a message that sets internetMessageId
    mail.sent                                # every accepted message (what recipients got)

sendMail answers 202 with no body, as Graph does; a message with `saveToSentItems` (the
default) is also kept in the sender's Sent Items, where `GET
/v1.0/users/{id}/mailFolders/sentitems/messages?$filter=internetMessageId eq '...'` finds it.
Errors use Graph's `{"error": {"code", "message"}}` shape.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from .scripted import ScriptedFailures
from .server import Request, Response

SEND = r"/v1\.0/users/(?P<user>[^/]+)/sendMail"
LIST = r"/v1\.0/users/(?P<user>[^/]+)/mailFolders/(?P<folder>[^/]+)/messages"
KINDS = ("429", "503", "500", "504", "503-after-accepting", "400", "403")
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@[^<>@\s]+>$")


def _get(mapping: dict, name: str, default: Any = None) -> Any:
    """Graph's JSON is case-insensitive on property names (the SDK sends `Message`)."""
    for key, value in (mapping or {}).items():
        if key.lower() == name.lower():
            return value
    return default


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return Response(status, {"error": {"code": code, "message": message, "innerError": {"request-id": str(uuid.uuid4())}}}, headers or {})


class GraphMail:
    def __init__(self) -> None:
        self.sent: list[dict] = []  # accepted messages: {"user", "message", "authorization"}
        self.sent_items: dict[str, list[dict]] = {}
        self.attempts = 0
        self.lookups = 0
        self.deny_lookup = False
        self.refuse_message_id = False  # a tenant whose Graph will not take a client-set internetMessageId
        self._failures = ScriptedFailures("Graph", KINDS)
        self._lock = threading.Lock()

    def fail(self, kind: str, *, times: int = 1, retry_after: float | None = 1) -> None:
        self._failures.add(kind, times, retry_after)

    def received(self, address: str) -> list[dict]:
        """Messages delivered to one recipient."""
        wanted = address.lower()
        with self._lock:
            return [
                s["message"]
                for s in self.sent
                if any(_get(_get(r, "emailAddress", {}), "address", "").lower() == wanted for r in _get(s["message"], "toRecipients", []))
            ]

    def send_mail(self, request: Request) -> Response:
        user = request.match.group("user")
        with self._lock:
            self.attempts += 1
        body = request.body if isinstance(request.body, dict) else None
        message = _get(body, "message") if body else None
        if not isinstance(message, dict):
            return _error(400, "ErrorInvalidRequest", "The request body must hold a message.")
        if not _get(message, "toRecipients"):
            return _error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        mid = _get(message, "internetMessageId")
        if mid is not None and self.refuse_message_id:
            return _error(400, "ErrorInvalidProperty", "The property 'InternetMessageId' cannot be set on this message.")
        if mid is not None and not _MESSAGE_ID.match(mid):
            return _error(400, "ErrorInvalidInternetMessageHeader", "The internet message id must look like <local@domain>.")
        failure = self._failures.take()
        headers = {"Retry-After": str(int(failure.retry_after))} if failure and failure.retry_after is not None else {}
        if failure is not None and failure.kind != "503-after-accepting":
            status = int(failure.kind)
            code = {429: "ApplicationThrottled", 400: "ErrorInvalidRequest", 403: "ErrorAccessDenied"}.get(status, "ServiceUnavailable")
            return _error(status, code, f"simulated {failure.kind}", headers)
        with self._lock:
            stored = dict(message)
            stored.setdefault("internetMessageId", f"<{uuid.uuid4().hex}@simulated.graph>")
            stored["id"] = uuid.uuid4().hex
            self.sent.append({"user": user, "message": stored, "authorization": request.header("authorization")})
            if _get(body, "saveToSentItems", True) not in (False, "false"):
                self.sent_items.setdefault(user.lower(), []).append(stored)
        if failure is not None:  # Exchange took it, then the front end failed: the risky case
            return _error(503, "ServiceUnavailable", "simulated 503 after the message was accepted", headers)
        return Response(202, None)

    def list_messages(self, request: Request) -> Response:
        user = request.match.group("user")
        folder = request.match.group("folder").lower()
        with self._lock:
            self.lookups += 1
        if self.deny_lookup:
            return _error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if folder not in ("sentitems",):
            return Response(200, {"value": []})
        wanted = None
        text = request.param("$filter") or ""
        m = re.search(r"internetMessageId\s+eq\s+'((?:[^']|'')*)'", text, re.IGNORECASE)
        if m:
            wanted = m.group(1).replace("''", "'")
        top = int(request.param("$top") or 10)
        with self._lock:
            items = [msg for msg in self.sent_items.get(user.lower(), []) if wanted is None or _get(msg, "internetMessageId") == wanted]
        value = [{"id": msg["id"], "internetMessageId": _get(msg, "internetMessageId"), "subject": _get(msg, "subject")} for msg in items[:top]]
        return Response(200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/mailFolders('sentitems')/messages", "value": value})


def install(sim: Any) -> GraphMail:
    """Plug sendMail and the Sent Items lookup into the simulated Azure; returns the mailbox."""
    mail = GraphMail()
    sim.add_route("POST", SEND, mail.send_mail)
    sim.add_route("GET", LIST, mail.list_messages)
    return mail
