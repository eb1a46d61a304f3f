"""Event Grid events (EventGridEvent or CloudEvents 1.0 envelope) -> Signal.

HealthResources events key on `resourceInfo.properties.targetResourceId` (never on
`resourceInfo.id`, which a docs sample gets wrong, nor on `name`); scheduled events name the VM
or scale set in the resource info id ahead of `/providers/microsoft.maintenance/...`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules import Signal

from .errors import PayloadError
from .fields import any_key, azure_category, child, impact_type, initiator, looks_like_resource_id, resource_type_of, text, timestamp

ANNOTATED = "microsoft.resourcenotifications.healthresources.resourceannotated"
AVAILABILITY = "microsoft.resourcenotifications.healthresources.availabilitystatuschanged"
SCHEDULED = "microsoft.resourcenotifications.maintenanceresources.scheduledeventemitted"
VALIDATION = "microsoft.eventgrid.subscriptionvalidationevent"
SUPPORTED = (ANNOTATED, AVAILABILITY, SCHEDULED)


class Envelope:
    """The parts of either envelope the app reads."""

    __slots__ = ("schema", "id", "type", "subject", "time", "data")

    def __init__(self, event: Any, where: str):
        if not isinstance(event, Mapping):
            raise PayloadError(where or "event", "expected an event object")
        if "specversion" in event:
            self.schema = "cloud-event"
            self.type = text(event, "type", where, limit=256)
            self.time = event.get("time")
        elif "eventType" in event:
            self.schema = "event-grid"
            self.type = text(event, "eventType", where, limit=256)
            self.time = event.get("eventTime")
        else:
            raise PayloadError(where or "event", "is neither an EventGridEvent (eventType) nor a CloudEvent (specversion)")
        self.id = text(event, "id", where, limit=256)
        self.subject = text(event, "subject", where, default="", limit=2048)
        self.data = event.get("data")


def parse_event(event: Any, where: str = "", input_name: str = "") -> Signal:
    envelope = Envelope(event, where)
    kind = envelope.type.lower()
    if kind == VALIDATION:
        raise PayloadError(f"{where}.eventType" if where else "eventType", "a subscription validation event is answered by the webhook, not processed")
    if kind not in SUPPORTED:
        raise PayloadError(f"{where}.type" if where else "type", f"unsupported event type {envelope.type!r}")
    at = f"{where}.data" if where else "data"
    resource_info = child(child(event, "data", where), "resourceInfo", at)
    properties = child(resource_info, "properties", f"{at}.resourceInfo")
    props_at = f"{at}.resourceInfo.properties"
    common = dict(source=envelope.schema, event_id=envelope.id, input=input_name, delivery_key=f"eg:{kind}:{envelope.id}")
    if kind == SCHEDULED:
        return _scheduled(envelope, resource_info, properties, props_at, common)
    target = text(properties, "targetResourceId", props_at, limit=1024)
    if not looks_like_resource_id(target):
        raise PayloadError(f"{props_at}.targetResourceId", f"{target[:80]!r} is not an ARM resource id")
    occurred = _occurred(properties, event, envelope, props_at)
    base = dict(
        common,
        resource_id=target,
        resource_type=text(properties, "targetResourceType", props_at, default="") or resource_type_of(target),
        occurred=occurred,
    )
    if kind == ANNOTATED:
        return Signal(
            kind="annotation",
            name=text(properties, "annotationName", props_at, limit=256),
            initiator=initiator(properties.get("context")),
            azure_category=azure_category(properties.get("category")),
            impact_type=impact_type(properties.get("impactType")),
            summary=text(properties, "summary", props_at, default="") or text(properties, "reason", props_at, default=""),
            details={"reason": str(properties.get("reason") or ""), "context": str(properties.get("context") or "")},
            **base,
        )
    state = text(properties, "availabilityState", props_at, limit=64)
    return Signal(
        kind="availability",
        name=state,
        resolved=state.lower() == "available",
        details={"previous_state": str(properties.get("previousAvailabilityState") or "")},
        summary=f"{properties.get('previousAvailabilityState') or '?'} -> {state}",
        **base,
    )


def _occurred(properties: Mapping, event: Mapping, envelope: Envelope, where: str):
    for key in ("occurredTime", "occuredTime"):  # Resource Health spells it both ways
        if properties.get(key) is not None:
            return timestamp(properties[key], f"{where}.{key}")
    operational = (event.get("data") or {}).get("operationalInfo") or {}
    if isinstance(operational, Mapping) and operational.get("resourceEventTime"):
        return timestamp(operational["resourceEventTime"], "data.operationalInfo.resourceEventTime")
    return timestamp(envelope.time, "time")


def _scheduled(envelope: Envelope, resource_info: Mapping, properties: Mapping, where: str, common: dict) -> Signal:
    info_id = str(resource_info.get("id") or envelope.subject)
    lowered = info_id.lower()
    cut = lowered.find("/providers/microsoft.maintenance/")
    target = info_id[:cut] if cut > 0 else info_id
    if not looks_like_resource_id(target):
        raise PayloadError(f"{where[: -len('.properties')]}.id", f"{info_id[:80]!r} names no ARM resource")
    event_type = any_key(properties, "EventType")
    if not isinstance(event_type, str) or not event_type:
        raise PayloadError(f"{where}.EventType", "is missing")
    resources = any_key(properties, "Resources") or []
    if not isinstance(resources, list):
        raise PayloadError(f"{where}.Resources", "expected an array of VM names")
    status = str(any_key(properties, "EventStatus") or "")
    not_before = any_key(properties, "NotBefore")
    source = str(any_key(properties, "EventSource") or "")
    return Signal(
        kind="scheduled-event",
        name=event_type,
        resource_id=target,
        resource_type=resource_type_of(target),
        occurred=timestamp(envelope.time, "eventTime") if envelope.time else timestamp(not_before, f"{where}.NotBefore"),
        initiator={"platform": "platform", "user": "customer"}.get(source.lower(), ""),
        summary=str(any_key(properties, "Description") or ""),
        details={
            "scheduled_event_id": str(any_key(properties, "EventId") or ""),
            "event_status": status,
            "not_before": timestamp(not_before, f"{where}.NotBefore").isoformat() if not_before else "",
            "resources": [str(r) for r in resources][:1000],
            "duration_seconds": any_key(properties, "DurationInSeconds"),
        },
        **common,
    )
