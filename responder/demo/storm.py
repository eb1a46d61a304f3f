"""The demo's storm: twelve shop VMs of one subscription and region turn Unavailable within a
minute, then one of them reports Accelerated Networking broken. Written as Event Grid sends it
(one CloudEvents batch), stamped now: a storm is what is arriving now, and the breaker ignores
events older than a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de"
VMS = [f"vm-shop-{n:06d}" for n in range(12)]


def _vm(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shop/providers/Microsoft.Compute/virtualMachines/{name}"


def _event(number: int, event_type: str, target: str, kind: str, properties: dict, at: datetime) -> dict:
    when = at.isoformat().replace("+00:00", "Z")
    return {
        "id": f"5e0c5707-{number:04d}-4d3e-9a11-{int(at.timestamp()):012d}",
        "source": f"/subscriptions/{SUBSCRIPTION}",
        "specversion": "1.0",
        "type": f"Microsoft.ResourceNotifications.HealthResources.{event_type}",
        "subject": target,
        "time": when,
        "data": {
            "resourceInfo": {
                "id": f"{target}/providers/Microsoft.ResourceHealth/{kind}/current",
                "name": "current",
                "type": f"Microsoft.ResourceHealth/{kind}",
                "properties": {"targetResourceId": target, "targetResourceType": "Microsoft.Compute/virtualMachines",
                               "occurredTime": when, **properties},
            },
            "operationalInfo": {"resourceEventTime": when},
            "apiVersion": "2023-12-01",
        },
    }


def delivery(now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    events = [
        _event(n, "AvailabilityStatusChanged", _vm(name), "availabilityStatuses",
               {"previousAvailabilityState": "Available", "availabilityState": "Unavailable"}, now - timedelta(seconds=60 - 4 * n))
        for n, name in enumerate(VMS)
    ]
    events.append(_event(99, "ResourceAnnotated", _vm(VMS[3]), "resourceAnnotations",
                         {"annotationName": "AccelnetUnhealthy", "reason": "Accelerated Networking unhealthy",
                          "summary": "Accelerated Networking is not working as expected on this VM.",
                          "context": "Platform Initiated", "category": "Unplanned", "impactType": "Degraded"}, now))
    return events
