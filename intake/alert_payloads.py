"""Action-group payloads -> Signal: the common alert schema and the legacy Activity Log schema.

ServiceHealth's `alertContext` carries integers where strings are expected and
`impactedServices` as a JSON string (an array in test alerts); Resource Health's `cause` is not
trusted on its own. A scale set's automatic repairs turning Suspended arrives as the
Administrative operation `setOrchestrationServiceState`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from arm import ResourceId
from rules import Signal

from .deadlines import deadlines
from .errors import PayloadError
from .fields import child, initiator, json_list, looks_like_resource_id, loose_text, resource_type_of, text, timestamp, unicode_text

COMMON_SCHEMA = "azuremonitorcommonalertschema"
LEGACY_SCHEMA = "microsoft.insights/activitylogs"
ORCHESTRATION_OPERATION = "microsoft.compute/virtualmachinescalesets/setorchestrationservicestate/action"
RESOLVED_STAGES = {"resolved", "complete", "completed", "canceled", "cancelled", "rca"}


SYNTHETIC_FIELD = "IsSynthetic"


def synthetic_at(body: Mapping) -> str | None:
    """Where an alert says it is a test ("Test action group" sends `IsSynthetic: "True"`), or None.

    Azure's samples put it in the alert context's properties (common schema:
    data.alertContext.properties; legacy schema: data.context.activityLog.properties); the
    essentials and the custom properties are looked at too, any casing of the key.
    """
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    places = {
        "data.alertContext.properties": (data.get("alertContext") or {}).get("properties")
        if isinstance(data.get("alertContext"), Mapping) else None,
        "data.context.activityLog.properties": ((data.get("context") or {}).get("activityLog") or {}).get("properties")
        if isinstance(data.get("context"), Mapping) and isinstance(data["context"].get("activityLog"), Mapping) else None,
        "data.essentials": data.get("essentials"),
        "data.customProperties": data.get("customProperties"),
    }  # fmt: skip
    for where, fields in places.items():
        if not isinstance(fields, Mapping):
            continue
        for key, value in fields.items():
            if str(key).lower() == SYNTHETIC_FIELD.lower() and str(value).strip().lower() == "true":
                return f"{where}.{key}"
    return None


def parse_common_alert(body: Mapping, input_name: str = "") -> Signal:
    data = child(body, "data", "")
    essentials = child(data, "essentials", "data")
    context = child(data, "alertContext", "data")
    service = text(essentials, "monitoringService", "data.essentials", limit=128)
    condition = text(essentials, "monitorCondition", "data.essentials", default="Fired", limit=32, numbers=False)
    alert_id = text(essentials, "alertId", "data.essentials", default="", limit=1024) or text(
        essentials, "originAlertId", "data.essentials", limit=1024
    )
    targets = child(essentials, "alertTargetIDs", "data.essentials", list, default=[])
    occurred_raw = context.get("eventTimestamp") or essentials.get("firedDateTime")
    occurred = timestamp(occurred_raw, "data.alertContext.eventTimestamp")
    base = dict(
        source="common-alert",
        event_id=alert_id,
        occurred=occurred,
        input=input_name,
        delivery_key=f"alert:{alert_id}:{condition}".lower(),
    )
    resolved = condition.lower() == "resolved"
    folded = service.replace(" ", "").lower()
    if folded == "servicehealth":
        subscription = _subscription_target(targets, alert_id)
        return _service_health(context, "data.alertContext", subscription, resolved, base)
    if folded == "resourcehealth":
        target = _first_resource(targets, "data.essentials.alertTargetIDs")
        return _resource_health(context, "data.alertContext", target, resolved, base)
    if folded == "activitylog-administrative":
        target = _first_resource(targets, "data.essentials.alertTargetIDs")
        return _administrative(context, "data.alertContext", target, base)
    raise PayloadError("data.essentials.monitoringService", f"unsupported monitoring service {service!r}")


def parse_legacy_alert(body: Mapping, input_name: str = "") -> Signal:
    data = child(body, "data", "")
    log = child(child(data, "context", "data"), "activityLog", "data.context")
    where = "data.context.activityLog"
    status = text(data, "status", "data", default="Activated", limit=32, numbers=False)
    event_id = text(log, "eventDataId", where, default="", limit=256) or text(log, "operationId", where, limit=256)
    base = dict(
        source="legacy-alert",
        event_id=event_id,
        occurred=timestamp(log.get("eventTimestamp") or log.get("submissionTimestamp"), f"{where}.eventTimestamp"),
        input=input_name,
        delivery_key=f"activitylog:{event_id}:{status}".lower(),
    )
    resolved = status.lower() == "resolved"
    source = text(log, "eventSource", where, limit=64).replace(" ", "").lower()
    if source == "servicehealth":
        subscription = f"/subscriptions/{text(log, 'subscriptionId', where, limit=64)}"
        return _service_health(log, where, subscription, resolved, base)
    if source == "resourcehealth":
        return _resource_health(log, where, _resource_id(log, where), resolved, base)
    if source == "administrative":
        return _administrative(log, where, _resource_id(log, where), base)
    raise PayloadError(f"{where}.eventSource", f"unsupported event source {log.get('eventSource')!r}")


def _service_health(context: Mapping, where: str, subscription: str, resolved: bool, base: dict) -> Signal:
    props = child(context, "properties", where)
    at = f"{where}.properties"
    incident_type = text(props, "incidentType", at, limit=64)
    stage = text(props, "stage", at, default="", limit=64, numbers=False)
    services = json_list(props.get("impactedServices"), f"{at}.impactedServices")
    regions = sorted(
        {
            str(region.get("RegionName"))
            for service in services
            if isinstance(service, Mapping)
            for region in (service.get("ImpactedRegions") or [])
            if isinstance(region, Mapping) and region.get("RegionName")
        }
    )
    return Signal(
        kind="service-health",
        name=f"{incident_type}/{stage}" if stage else incident_type,
        resource_id=subscription,
        resource_type="Microsoft.Resources/subscriptions",
        initiator="platform",
        summary=text(props, "title", at, default="", limit=1024),
        resolved=resolved or stage.lower() in RESOLVED_STAGES,
        details={
            "incident_type": incident_type,
            "stage": stage,
            "tracking_id": text(props, "trackingId", at, default="", limit=128),
            "maintenance_id": text(props, "maintenanceId", at, default="", limit=128),
            "service": text(props, "service", at, default="", limit=256),
            "region": text(props, "region", at, default="", limit=256),
            "regions": regions,
            "impacted_services": sorted({str(s.get("ServiceName")) for s in services if isinstance(s, Mapping)}),
            "impact_start": str(props.get("impactStartTime") or ""),
            "impact_mitigation": str(props.get("impactMitigationTime") or ""),
            "communication": text(props, "communication", at, default="", limit=65536),
        },
        **base,
    )


def _resource_health(context: Mapping, where: str, target: str, resolved: bool, base: dict) -> Signal:
    props = child(context, "properties", where)
    at = f"{where}.properties"
    current = text(props, "currentHealthStatus", at, limit=64)
    return Signal(
        kind="resource-health",
        name=current,
        resource_id=target,
        resource_type=resource_type_of(target),
        initiator=initiator(props.get("cause")),
        summary=text(props, "title", at, default="", limit=1024),
        resolved=resolved or current.lower() == "available",
        details={
            "previous_state": text(props, "previousHealthStatus", at, default="", limit=64),
            "type": text(props, "type", at, default="", limit=64),
            "cause": text(props, "cause", at, default="", limit=64),
            "details": text(props, "details", at, default="", limit=4096),
            # a redeploy deadline or impact window, when the alert carries one (intake/deadlines.py)
            **deadlines(props, text(props, "title", at, default="", limit=1024), text(props, "details", at, default="", limit=4096)),
        },
        **base,
    )


def _administrative(context: Mapping, where: str, target: str, base: dict) -> Signal:
    operation = text(context, "operationName", where, limit=256)
    if operation.lower() != ORCHESTRATION_OPERATION:
        raise PayloadError(f"{where}.operationName", f"unsupported operation {operation!r}; only setOrchestrationServiceState is handled")
    props = context.get("properties")
    request = _request_body(props if isinstance(props, Mapping) else {}, f"{where}.properties")
    action = loose_text(request.get("action"), f"{where}.properties.requestbody.action", limit=64).lower()
    caller = loose_text(context.get("caller"), f"{where}.caller").strip()[:256]
    by = caller_kind(caller)
    name = _repair_state_name(action, by)
    scale_set = _scale_set_of(target)
    return Signal(
        kind="repair-state",
        name=name,
        resource_id=scale_set,
        resource_type=resource_type_of(scale_set),
        initiator={"person": "customer", "azure": "platform"}.get(by, "unknown") if action != "resume" else "",
        resolved=name == "RepairsResumed",
        # who and when, for the message: "... Succeeded by alice@contoso.example" (time: `occurred`)
        summary=f"{operation} {text(context, 'status', where, default='', limit=64, numbers=False)} by {caller or 'an unknown caller'}".replace("  ", " "),
        details={
            "operation": operation,
            "status": text(context, "status", where, default="", limit=64),
            "service_name": str(request.get("serviceName") or ""),
            "requested_action": str(request.get("action") or ""),
            "caller": caller,
            "caller_kind": by,
        },
        **base,
    )


# Who called setOrchestrationServiceState, told from the Activity Log's `caller`: "the UPN claim,
# or SPN claim based on availability". A person signs in with a UPN (an address) or is named by
# an object id (a GUID); Azure's own services act under their resource provider's name
# (Azure's published platform events carry callers such as "Microsoft.Insights/alertRules" and
# "Microsoft.Insights/autoscaleSettings"), so the platform's own suspension is a Microsoft.*
# caller. Anything else, or nothing, cannot be told.
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_PROVIDER = re.compile(r"^Microsoft\.[A-Za-z]+(/.*)?$", re.IGNORECASE)


def caller_kind(caller: str) -> str:
    """person | azure | unknown."""
    caller = caller.strip()
    if "@" in caller or _GUID.match(caller):
        return "person"
    if _PROVIDER.match(caller):
        return "azure"
    return "unknown"


def _repair_state_name(action: str, by: str) -> str:
    """The repair-state signal: the request body says Suspend or Resume when Azure includes it;
    Succeeded Administrative events carry an empty one, and then the caller says who acted."""
    if action == "suspend":
        return "RepairsSuspendedByUser" if by != "azure" else "RepairsSuspended"
    if action == "resume":
        return "RepairsResumed"
    # No request body: the platform only ever suspends; a person may have done either, and the
    # live state (the sweep) tells which. Never resumed on a guess.
    return {"azure": "RepairsSuspended", "person": "RepairsChangedByUser"}.get(by, "RepairsSuspendedByUnknown")


def _request_body(props: Mapping, where: str) -> Mapping:
    raw = props.get("requestbody") or props.get("requestBody")
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return raw
    try:
        decoded = json.loads(str(raw))
    except ValueError:
        raise PayloadError(f"{where}.requestbody", "is not JSON") from None
    return decoded if isinstance(decoded, Mapping) else {}


def _scale_set_of(resource_id: str) -> str:
    rid = ResourceId.try_parse(resource_id)
    if rid is not None and rid.scale_set is not None:
        return rid.scale_set.text
    raise PayloadError("resourceId", f"{resource_id[:80]!r} is not a scale set")


def _first_resource(targets: list, where: str) -> str:
    for index, target in enumerate(targets):
        if isinstance(target, str) and looks_like_resource_id(target):
            return unicode_text(target, f"{where}[{index}]")
    raise PayloadError(where, "names no ARM resource id")


def _subscription_target(targets: list, alert_id: str) -> str:
    for candidate in [*[t for t in targets if isinstance(t, str)], alert_id]:
        rid = ResourceId.try_parse(candidate)
        if rid is not None:
            return unicode_text(f"/subscriptions/{rid.subscription}", "data.essentials.alertTargetIDs")
    raise PayloadError("data.essentials.alertTargetIDs", "names no subscription")


def _resource_id(log: Mapping, where: str) -> str:
    target = text(log, "resourceId", where, limit=1024)
    if not looks_like_resource_id(target):
        raise PayloadError(f"{where}.resourceId", f"{target[:80]!r} is not an ARM resource id")
    return target
