"""Payloads as Azure sends them, built from a few arguments, so test tables stay short.

Shapes follow the real samples in ../shared/azure-examples (see the tests that compare them).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime

SUB = "11111111-2222-3333-4444-555555555555"
_ids = itertools.count(1)



# The fixed times below are the payloads' own. A test against the real clock (the simulated
# Azure's fleet is relative to now) sets EVENTS_AT: every fixed time then moves by the same
# span, so events are as fresh as the test's clock and keep their order and spacing.
FIXED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EVENTS_AT: datetime | Callable[[], datetime] | None = None  # a time, or a clock a test moves


def _at(fixed: str) -> str:
    if EVENTS_AT is None:
        return fixed
    events_at = EVENTS_AT() if callable(EVENTS_AT) else EVENTS_AT
    text = fixed.replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    if rest:  # up to seven fractional digits, as Azure writes them; Python reads six
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]:0<6}{rest[len(digits):]}"
    moved = datetime.fromisoformat(text) + (events_at - FIXED_AT)
    return moved.astimezone(UTC).isoformat().replace("+00:00", "Z")

def vm_id(name: str = "vm1", rg: str = "rg-app", sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def scale_set_id(name: str = "ss1", rg: str = "rg-app", sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


def instance_id(scale_set: str = "ss1", instance: str = "3", rg: str = "rg-app") -> str:
    return f"{scale_set_id(scale_set, rg)}/virtualMachines/{instance}"


def _next_id() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


def _health_data(target: str, properties: dict, kind: str, when: str) -> dict:
    type_name = "resourceAnnotations" if kind == "annotated" else "availabilityStatuses"
    target_type = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines" if "/virtualMachineScaleSets/" in target and target.count("/virtualMachines/") else (
        "Microsoft.Compute/virtualMachineScaleSets" if "/virtualMachineScaleSets/" in target else "Microsoft.Compute/virtualMachines"
    )
    return {
        "resourceInfo": {
            "id": f"{target}/providers/Microsoft.ResourceHealth/{type_name}/current",
            "name": "current",
            "type": f"Microsoft.ResourceHealth/{type_name}",
            "properties": {"targetResourceId": target, "targetResourceType": target_type, "occurredTime": when, **properties},
        },
        "operationalInfo": {"resourceEventTime": when},
        "apiVersion": "2022-08-01",
    }


def _envelope(event_type: str, target: str, data: dict, when: str, schema: str, event_id: str | None) -> dict:
    event_id = event_id or _next_id()
    if schema == "cloud":
        return {"id": event_id, "source": f"/subscriptions/{SUB}", "specversion": "1.0", "type": event_type, "subject": target, "time": when, "data": data}
    return {"id": event_id, "topic": f"/subscriptions/{SUB}", "subject": target, "data": data, "eventType": event_type, "dataVersion": "1", "metadataVersion": "1", "eventTime": when}


def annotated(
    annotation: str = "VirtualMachinePossiblyDegradedDueToHardwareFailure",
    target: str | None = None,
    context: str = "Platform Initiated",
    category: str = "Unplanned",
    when: str | None = None,
    schema: str = "grid",
    event_id: str | None = None,
    **extra,
) -> dict:
    when = when or _at("2026-11-20T08:00:00.1234567Z")
    props = {"annotationName": annotation, "reason": "reason", "summary": f"{annotation} summary", "context": context, "category": category, **extra}
    target = target or vm_id()
    return _envelope(
        "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated", target, _health_data(target, props, "annotated", when), when, schema, event_id
    )


def availability(state: str = "Unavailable", previous: str = "Available", target: str | None = None, when: str | None = None, schema: str = "grid", event_id: str | None = None) -> dict:
    when = when or _at("2026-11-20T08:00:00Z")
    target = target or vm_id()
    props = {"previousAvailabilityState": previous, "availabilityState": state}
    return _envelope(
        "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged", target, _health_data(target, props, "availability", when), when, schema, event_id
    )


def scheduled(event_type: str = "Reboot", status: str = "Scheduled", target: str | None = None, source: str = "Platform", schema: str = "grid", event_id: str | None = None) -> dict:
    target = target or scale_set_id()
    info_id = f"{target}/providers/microsoft.maintenance/scheduledevents/se-1"
    data = {
        "resourceInfo": {
            "id": info_id, "name": "se-1", "type": "microsoft.maintenance/scheduledEvents", "location": "westeurope",
            "properties": {
                "DurationInSeconds": 5, "Description": "maintenance", "EventId": "se-1", "EventSource": source, "EventStatus": status,
                "EventType": event_type, "NotBefore": "Fri, 20 Nov 2026 08:20:00 GMT", "Resources": ["ss1_1"], "ResourceType": "VirtualMachine",
            },
        },
        "apiVersion": "2024-07-01",
    }
    return _envelope("Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted", info_id, data, _at("2026-11-20T08:07:00Z"), schema, event_id)


def _essentials(service: str, targets: list[str], condition: str = "Fired", alert_id: str | None = None) -> dict:
    return {
        "alertId": alert_id or f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/{_next_id()}",
        "alertRule": "rule", "severity": "Sev3", "signalType": "Activity Log", "monitorCondition": condition,
        "monitoringService": service, "alertTargetIDs": targets, "firedDateTime": _at("2026-11-20T08:00:05.000Z"),
        "essentialsVersion": "1.0", "alertContextVersion": "1.0",
    }


def service_health(incident_type: str = "Maintenance", stage: str = "Planned", impacted_as_string: bool = True, condition: str = "Fired", tracking_id: str = "TRK-1") -> dict:
    impacted = [{"ImpactedRegions": [{"RegionName": "West Europe"}], "ServiceName": "Virtual Machines"}]
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": _essentials("ServiceHealth", [f"/subscriptions/{SUB}"], condition),
            "alertContext": {
                "channels": 1, "eventSource": 2, "level": 3, "eventTimestamp": _at("2026-11-20T08:00:00.0312699+00:00"),
                "operationName": f"Microsoft.ServiceHealth/{'maintenance' if incident_type == 'Maintenance' else 'incident'}/action",
                "properties": {
                    "title": "Virtual Machines - West Europe", "service": "Virtual Machines", "region": "West Europe",
                    "communication": "<p>notice</p>", "incidentType": incident_type, "trackingId": tracking_id,
                    "impactStartTime": "2026-11-27T00:00:00Z", "impactMitigationTime": "2026-11-28T00:00:00Z",
                    "impactedServices": json.dumps(impacted) if impacted_as_string else impacted, "stage": stage,
                },
                "status": "Active",
            },
        },
    }


def resource_health(current: str = "Unavailable", previous: str = "Available", target: str | None = None, cause: str = "PlatformInitiated", condition: str = "Fired", alert_id: str | None = None, when: str | None = None) -> dict:
    when = when or _at("2026-11-20T08:00:00.000Z")
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": _essentials("Resource Health", [(target or vm_id()).lower()], condition, alert_id),
            "alertContext": {
                "channels": "Admin, Operation", "eventSource": "ResourceHealth", "eventTimestamp": when, "eventDataId": _next_id(),
                "level": "Informational", "operationName": "Microsoft.Resourcehealth/healthevent/Activated/action",
                "properties": {"title": "health changed", "details": None, "currentHealthStatus": current, "previousHealthStatus": previous, "type": "Downtime", "cause": cause},
                "status": "Active",
            },
        },
    }


def orchestration_changed(target: str | None = None, request_action: str | None = None, caller: str | None = None) -> dict:
    """An Administrative alert on setOrchestrationServiceState. Without `request_action`, as
    Azure's activity-log schema shows a Succeeded event: `"requestbody": ""`."""
    properties = {"statusCode": "OK", "eventCategory": "Administrative", "requestbody": ""}
    if request_action:
        properties["requestbody"] = json.dumps({"serviceName": "AutomaticRepairs", "action": request_action})
    if caller is None:
        caller = "ops@example.com" if request_action else "Microsoft.Compute"
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": _essentials("Activity Log - Administrative", [(target or scale_set_id()).lower()]),
            "alertContext": {
                "caller": caller, "eventSource": "Administrative",
                "eventTimestamp": _at("2026-11-20T08:05:00.000Z"), "eventDataId": _next_id(), "level": "Informational",
                "operationName": "Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action",
                "properties": properties, "status": "Succeeded",
            },
        },
    }


def legacy(event_source: str = "ResourceHealth", status: str = "Activated", target: str | None = None, current: str = "Unavailable") -> dict:
    log = {
        "channels": "Admin, Operation", "eventSource": event_source, "eventTimestamp": _at("2026-11-20T08:00:00.343+00:00"),
        "eventDataId": _next_id(), "level": "Informational", "subscriptionId": SUB,
        "operationName": "Microsoft.Resourcehealth/healthevent/Activated/action", "status": "Active",
    }
    if event_source == "ResourceHealth":
        log.update(resourceId=target or vm_id(), properties={"title": "t", "currentHealthStatus": current, "previousHealthStatus": "Available", "type": "Downtime", "cause": "PlatformInitiated"})
    else:
        log.update(properties={"title": "t", "incidentType": "Incident", "trackingId": "TRK-L", "stage": "Active", "impactedServices": "[]"})
    return {"schemaId": "Microsoft.Insights/activityLogs", "data": {"status": status, "context": {"activityLog": log}}}


def body(payload) -> bytes:
    return json.dumps(payload).encode()
