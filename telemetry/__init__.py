"""Telemetry for Resource Health Responder: Azure Monitor export and the app's own counters.

`configure()` is called once at start-up (from the composition root); the pipeline calls the
four counting functions. Both are cheap when Application Insights is not configured: nothing
heavy is imported and the counters fall back to OpenTelemetry's no-op meter.
"""

from telemetry.counters import (
    METER_NAME,
    bind_meter_provider,
    brake_tripped,
    decision_made,
    notification_failed,
    signal_received,
)
from telemetry.setup import TelemetrySettings, configure

__all__ = [
    "METER_NAME",
    "TelemetrySettings",
    "bind_meter_provider",
    "brake_tripped",
    "configure",
    "decision_made",
    "notification_failed",
    "signal_received",
]
