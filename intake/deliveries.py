"""One delivery body -> signals and rejections. The kind of body is told from its content.

A delivery is what one HTTP request or one file carries: an Event Grid array (or a single
event) in either schema, a common-alert-schema payload, or a legacy Activity Log payload. A bad
event in an array is rejected on its own; the others still go through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rules import Signal

from .alert_payloads import COMMON_SCHEMA, LEGACY_SCHEMA, parse_common_alert, parse_legacy_alert, synthetic_at
from .errors import PayloadError
from .event_grid_events import VALIDATION, parse_event_signals

# Event Grid batches stay under about 1 MB; alerts are small. Bigger is refused before parsing.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_EVENTS = 5000  # Event Grid's own largest batch
TEST_ALERT = "is a test alert"  # how a test alert's record begins (see is_test_alert)


@dataclass(frozen=True, slots=True)
class Rejection:
    input: str
    where: str
    problem: str
    excerpt: str = ""
    test: bool = False  # a test alert (IsSynthetic): recorded and told as a test, never acted on
    signal: Any = None  # a test alert's signal (rules.Signal), for its message; never decided

    @property
    def reason(self) -> str:
        return f"{self.input}: {self.where}: {self.problem}" if self.input else f"{self.where}: {self.problem}"


@dataclass
class Delivery:
    kind: str  # event-grid | common-alert | legacy-alert | validation | unreadable
    signals: list[Signal] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    validation_code: str | None = None


def decode(body: bytes | str, input_name: str = "") -> Any:
    """JSON from raw bytes, refusing oversize bodies before reading them."""
    size = len(body)
    if size > MAX_BODY_BYTES:
        raise PayloadError("body", f"is {size} bytes, more than the {MAX_BODY_BYTES} allowed")
    if not body or not body.strip():
        raise PayloadError("body", "is empty")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadError("body", f"is not valid JSON ({_short(exc)})") from None


def parse_delivery(body: bytes | str | Any, input_name: str = "") -> Delivery:
    """Never raises for bad input: every problem becomes a Rejection naming where it is."""
    try:
        document = decode(body, input_name) if isinstance(body, (bytes, str)) else body
    except PayloadError as exc:
        return Delivery("unreadable", rejections=[_reject(input_name, exc, body)])
    if isinstance(document, list):
        return _events(document, input_name)
    if not isinstance(document, Mapping):
        return Delivery("unreadable", rejections=[_reject(input_name, PayloadError("body", "expected a JSON object or array"), document)])
    schema = str(document.get("schemaId") or "").lower()
    try:
        if schema == COMMON_SCHEMA or (not schema and isinstance(document.get("data"), Mapping) and "essentials" in document["data"]):
            return _alert("common-alert", parse_common_alert(document, input_name), document, input_name)
        if schema == LEGACY_SCHEMA:
            return _alert("legacy-alert", parse_legacy_alert(document, input_name), document, input_name)
        if schema:
            raise PayloadError("schemaId", f"unsupported alert schema {document.get('schemaId')!r}")
    except PayloadError as exc:
        return Delivery(schema or "alert", rejections=[_reject(input_name, exc, document)])
    if "eventType" in document or "specversion" in document:
        return _events([document], input_name, single=True)
    return Delivery(
        "unreadable",
        rejections=[_reject(input_name, PayloadError("body", "is neither an Event Grid event, an array of events, nor an alert payload"), document)],
    )


def is_test_alert(reason: str) -> bool:
    """Whether a recorded rejection is a test alert, i.e. not a problem with the input."""
    return f": {TEST_ALERT} (" in reason or reason.startswith(f"{TEST_ALERT} (")


def _alert(kind: str, signal: Signal, document: Mapping, input_name: str) -> Delivery:
    """An alert's delivery; a test alert (IsSynthetic) carries no signal, only its record.

    The action group's "Test" button sends a sample payload naming sample resources: recorded
    (as a rejection marked `test`, so the pipeline never opens an incident for it nor acts) and
    answered as accepted, so the person testing sees the action group reach the app.
    """
    where = synthetic_at(document)
    if where is None:
        return Delivery(kind, signals=[signal])
    what = f"{signal.kind} {signal.name} on {signal.resource_id}".strip()
    problem = f"{TEST_ALERT} ({where.rsplit('.', 1)[-1]}: True): {what}; recorded, never acted on"
    return Delivery(kind, rejections=[Rejection(input_name, where, problem, _excerpt(document), test=True, signal=signal)])


def _events(events: list, input_name: str, single: bool = False) -> Delivery:
    delivery = Delivery("event-grid")
    if not events:
        delivery.rejections.append(Rejection(input_name, "body", "is an empty array: no events"))
        return delivery
    if len(events) > MAX_EVENTS:
        delivery.rejections.append(Rejection(input_name, "body", f"holds {len(events)} events, more than the {MAX_EVENTS} Event Grid sends at once"))
        return delivery
    for index, event in enumerate(events):
        where = "" if single else f"[{index}]"
        if isinstance(event, Mapping) and str(event.get("eventType", "")).lower() == VALIDATION:
            code = (event.get("data") or {}).get("validationCode") if isinstance(event.get("data"), Mapping) else None
            if isinstance(code, str) and code:
                delivery.kind, delivery.validation_code = "validation", code
                continue
        try:
            delivery.signals.extend(parse_event_signals(event, where, input_name))
        except PayloadError as exc:
            delivery.rejections.append(_reject(input_name, exc, event))
        except RecursionError:
            delivery.rejections.append(Rejection(input_name, where or "event", "is nested too deeply"))
    return delivery


def _reject(input_name: str, exc: PayloadError, document: Any) -> Rejection:
    return Rejection(input_name, exc.where, exc.problem, _excerpt(document))


def _excerpt(document: Any, limit: int = 300) -> str:
    try:
        raw = document.decode("utf-8", "replace") if isinstance(document, bytes) else document if isinstance(document, str) else json.dumps(document, default=str)
    except (TypeError, ValueError, RecursionError):
        raw = repr(document)
    return raw[:limit]


def _short(exc: Exception) -> str:
    return str(exc).split("\n")[0][:120]
