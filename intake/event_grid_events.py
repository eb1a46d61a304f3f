"""Event Grid events (EventGridEvent or CloudEvents 1.0 envelope) -> Signal.

HealthResources events key on `resourceInfo.properties.targetResourceId` (never on
`resourceInfo.id`, which a docs sample gets wrong, nor on `name`); scheduled events name the VM
or scale set in the resource info id ahead of `/providers/microsoft.maintenance/...`. A scale
set's scheduled event names the machines in `Resources` (`myvmss_1`: instance 1 of a Uniform set;
`myvmss_1a2b3c4d`: a Flexible set's VM, a plain VM of the set's resource group), and becomes one
signal per machine (`parse_event_signals`), so each instance is an incident of its own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from arm import SCALE_SET, SCALE_SET_VM, VM, ResourceId
from rules import Signal

from .deadlines import deadlines
from .errors import PayloadError
from .fields import (
    any_key,
    azure_category,
    child,
    impact_type,
    initiator,
    looks_like_resource_id,
    loose_text,
    resource_type_of,
    text,
    text_value,
    timestamp,
    whole_number,
)

ANNOTATED = "microsoft.resourcenotifications.healthresources.resourceannotated"
AVAILABILITY = "microsoft.resourcenotifications.healthresources.availabilitystatuschanged"
SCHEDULED = "microsoft.resourcenotifications.maintenanceresources.scheduledeventemitted"
VALIDATION = "microsoft.eventgrid.subscriptionvalidationevent"
SUPPORTED = (ANNOTATED, AVAILABILITY, SCHEDULED)


class Envelope:
    """The parts of either envelope the app reads."""

    __slots__ = ("schema", "id", "type", "type_field", "subject", "time", "data")

    def __init__(self, event: Any, where: str):
        if not isinstance(event, Mapping):
            raise PayloadError(where or "event", "expected an event object")
        if "specversion" in event:
            self.schema, self.type_field = "cloud-event", "type"
            self.type = text(event, "type", where, limit=256)
            self.time = event.get("time")
        elif "eventType" in event:
            self.schema, self.type_field = "event-grid", "eventType"
            self.type = text(event, "eventType", where, limit=256)
            self.time = event.get("eventTime")
        else:
            raise PayloadError(where or "event", "is neither an EventGridEvent (eventType) nor a CloudEvent (specversion)")
        self.id = text(event, "id", where, limit=256)
        self.subject = text(event, "subject", where, default="", limit=2048)
        self.data = event.get("data")




def parse_event_signals(event: Any, where: str = "", input_name: str = "") -> list[Signal]:
    """The signals of one event: one, or one per machine a scale set's scheduled event names."""
    signal = parse_event(event, where, input_name)
    if signal.kind != "scheduled-event" or signal.resource_type.lower() != SCALE_SET.lower():
        return [signal]
    scale_set = ResourceId.parse(signal.resource_id)
    machines = [m for m in (_machine_of(scale_set, name) for name in signal.details.get("resources") or []) if m]
    if not machines:
        return [signal]  # no name of this scale set's machines: the event stays on the set
    return [
        dataclasses.replace(signal, resource_id=rid, resource_type=rtype, delivery_key=f"{signal.delivery_key}:{name}",
                            details={**signal.details, "scale_set_id": signal.resource_id, "machine": name})
        for name, rid, rtype in machines
    ]  # fmt: skip


def _machine_of(scale_set: ResourceId, name: Any) -> tuple[str, str, str] | None:
    """(name, resource id, type) of a machine a scale set's scheduled event names, or None."""
    match = re.fullmatch(re.escape(scale_set.name) + r"_([0-9A-Za-z]+)", str(name or "").strip(), re.IGNORECASE)
    if match is None:
        return None
    suffix = match.group(1)
    if suffix.isdigit():  # Uniform: <set>_<instanceId>
        return str(name), f"{scale_set}/virtualMachines/{suffix}", SCALE_SET_VM
    # Flexible: the set's VMs are plain VMs named <set>_<8 hex>, in the set's resource group.
    group = scale_set.resource_group_id
    return str(name), f"{group}/providers/{VM}/{name}", VM


def parse_event(event: Any, where: str = "", input_name: str = "") -> Signal:
    envelope = Envelope(event, where)
    kind = envelope.type.lower()
    type_at = f"{where}.{envelope.type_field}" if where else envelope.type_field
    if kind == VALIDATION:
        raise PayloadError(type_at, "a subscription validation event is answered by the webhook, not processed")
    if kind not in SUPPORTED:
        raise PayloadError(type_at, f"unsupported event type {envelope.type!r}")
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
        summary = text(properties, "summary", props_at, default="") or text(properties, "reason", props_at, default="")
        reason = loose_text(properties.get("reason"), f"{props_at}.reason")
        return Signal(
            kind="annotation",
            name=text(properties, "annotationName", props_at, limit=256),
            initiator=initiator(properties.get("context")),
            azure_category=azure_category(loose_text(properties.get("category"), f"{props_at}.category")),
            impact_type=impact_type(loose_text(properties.get("impactType"), f"{props_at}.impactType")),
            summary=summary,
            details={
                "reason": reason,
                "context": loose_text(properties.get("context"), f"{props_at}.context"),
                **deadlines(properties, summary, reason),  # redeploy_deadline, impact_start, impact_end
            },
            **base,
        )
    state = text(properties, "availabilityState", props_at, limit=64)
    previous = loose_text(properties.get("previousAvailabilityState"), f"{props_at}.previousAvailabilityState")
    return Signal(
        kind="availability",
        name=state,
        resolved=state.lower() == "available",
        details={"previous_state": previous},
        summary=f"{previous or '?'} -> {state}",
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
    target = info_id
    info = ResourceId.try_parse(info_id)  # the VM's scheduled event: an extension resource of the VM
    if info is not None and info.scope is not None and (info.namespace or "").lower() == "microsoft.maintenance":
        target = info.scope.text
    if not looks_like_resource_id(target):
        raise PayloadError(f"{where[: -len('.properties')]}.id", f"{info_id[:80]!r} names no ARM resource")
    event_type = text_value(any_key(properties, "EventType"), f"{where}.EventType", limit=256)
    resources = any_key(properties, "Resources") or []
    if not isinstance(resources, list):
        raise PayloadError(f"{where}.Resources", "expected an array of VM names")
    status = loose_text(any_key(properties, "EventStatus"), f"{where}.EventStatus")
    not_before = any_key(properties, "NotBefore")
    source = loose_text(any_key(properties, "EventSource"), f"{where}.EventSource")
    return Signal(
        kind="scheduled-event",
        name=event_type,
        resource_id=target,
        resource_type=resource_type_of(target),
        occurred=timestamp(envelope.time, "eventTime") if envelope.time else timestamp(not_before, f"{where}.NotBefore"),
        initiator={"platform": "platform", "user": "customer"}.get(source.lower(), ""),
        summary=loose_text(any_key(properties, "Description"), f"{where}.Description"),
        details={
            "scheduled_event_id": loose_text(any_key(properties, "EventId"), f"{where}.EventId"),
            "event_status": status,
            "not_before": timestamp(not_before, f"{where}.NotBefore").isoformat() if not_before else "",
            "resources": [loose_text(r, f"{where}.Resources[{i}]") for i, r in enumerate(resources[:1000])],
            "duration_seconds": whole_number(any_key(properties, "DurationInSeconds"), f"{where}.DurationInSeconds"),
        },
        **common,
    )
