"""Event Grid trigger: Resource Health annotations and availability changes, scheduled events.

The Functions host answers the validation handshake and unwraps the delivery; each invocation
carries one event. A bad event is recorded as rejected and the invocation ends normally:
retrying a malformed event cannot help. An event another attempt is still deciding fails the
invocation (DeliveryDeferred), and so do notices the outbox could not record (NoticesNotRecorded,
raised by the pipeline with the event's claim given back): Event Grid delivers it again later.
"""

from __future__ import annotations

import azure.functions as func

from intake.deliveries import parse_delivery
from pipeline import DEFERRED, DeliveryDeferred

from . import runtime

bp = func.Blueprint()

EVENT_TYPES = (
    "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
    "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
    "Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted",
)

# Event Grid ids are GUIDs or short strings; the parser refuses one over 256 characters.
ID_SHOWN = 256


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


def input_name_of(event: func.EventGridEvent) -> str:
    """How the ledger and the logs name this delivery. The id is the sender's: cut short and with
    what UTF-8 cannot hold escaped, so a hostile id is rejected by the parser, not by the ledger."""
    shown = str(event.id)[:ID_SHOWN].encode("utf-8", "backslashreplace").decode("utf-8")
    return f"event-grid:{shown}"


@bp.function_name("event_grid")
@bp.event_grid_trigger(arg_name="event")
def event_grid(event: func.EventGridEvent) -> None:
    delivery = parse_delivery(envelope_of(event), input_name=input_name_of(event))
    outcomes = runtime.pipeline().process(delivery)
    deferred = [o.event_id for o in outcomes if o.status == DEFERRED]
    if deferred:
        raise DeliveryDeferred(deferred)
