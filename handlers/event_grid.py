"""Event Grid trigger: Resource Health annotations and availability changes, scheduled events.

The Functions host answers the validation handshake and unwraps the delivery; each invocation
carries one event. A bad event is recorded as rejected and the invocation ends normally:
retrying a malformed event cannot help. An event another attempt is still deciding fails the
invocation (DeliveryDeferred), so Event Grid delivers it again later.
"""

from __future__ import annotations

import azure.functions as func

from pipeline import DEFERRED, DeliveryDeferred

from . import runtime
from .deliveries import parse_delivery

bp = func.Blueprint()

EVENT_TYPES = (
    "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
    "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
    "Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted",
)


def envelope_of(event: func.EventGridEvent) -> dict:
    """The EventGridEvent the host handed over, as the JSON Event Grid sent."""
    try:
        data = event.get_json()
    except ValueError:
        data = None
    return {
        "id": event.id,
        "eventType": event.event_type,
        "subject": event.subject,
        "topic": event.topic,
        "eventTime": event.event_time.isoformat() if event.event_time else None,
        "dataVersion": event.data_version,
        "data": data,
    }


@bp.function_name("event_grid")
@bp.event_grid_trigger(arg_name="event")
def event_grid(event: func.EventGridEvent) -> None:
    delivery = parse_delivery(envelope_of(event), input_name=f"event-grid:{event.id}")
    outcomes = runtime.pipeline().process(delivery)
    deferred = [o.event_id for o in outcomes if o.status == DEFERRED]
    if deferred:
        raise DeliveryDeferred(deferred)
