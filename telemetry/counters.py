"""The app's counters: how many signals came in, what was decided, which brakes held.

Only `opentelemetry-api` is imported here (small, and already a dependency of the Azure SDKs).
Until a meter provider is configured, the API hands out proxy instruments that record nothing
and start recording once `configure()` installs Azure Monitor's provider, so the pipeline can
count from its first call without caring whether telemetry is on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from opentelemetry.metrics import Counter, MeterProvider

METER_NAME = "resource-health-responder"

# Attribute keys are part of the contract with dashboards and alert queries: keep them stable.
ATTR_SIGNAL_KIND = "signal.kind"
ATTR_ACTION = "decision.action"
ATTR_STATUS = "decision.status"
ATTR_BRAKE = "brake.name"
ATTR_CHANNEL = "notification.channel"

# A decision to do nothing still counts, under this action name.
NO_ACTION = "none"


@dataclass(frozen=True)
class _Instruments:
    signals: Counter
    decisions: Counter
    brakes: Counter
    notification_failures: Counter


_lock = threading.Lock()
_instruments: _Instruments | None = None
_provider: MeterProvider | None = None


def _build(provider: MeterProvider | None) -> _Instruments:
    from opentelemetry import metrics

    meter = (provider or metrics.get_meter_provider()).get_meter(METER_NAME)
    return _Instruments(
        signals=meter.create_counter(
            "responder.signals.received", unit="{signal}",
            description="Health signals received, by kind"),
        decisions=meter.create_counter(
            "responder.decisions", unit="{decision}",
            description="Decisions made, by action and outcome status"),
        brakes=meter.create_counter(
            "responder.brakes.tripped", unit="{brake}",
            description="Times a safety brake stopped or delayed an action"),
        notification_failures=meter.create_counter(
            "responder.notifications.failed", unit="{notification}",
            description="Notifications that could not be delivered, by channel"),
    )


def _get() -> _Instruments:
    global _instruments
    instruments = _instruments
    if instruments is None:
        with _lock:
            if _instruments is None:
                _instruments = _build(_provider)
            instruments = _instruments
    return instruments


def bind_meter_provider(provider: MeterProvider | None) -> None:
    """Count into `provider` from now on (None: the global provider again).

    For hosts that bring their own provider, such as the local command line or a test with an
    in-memory reader; in Azure the global provider set by `configure()` is the one wanted.
    """
    global _instruments, _provider
    with _lock:
        _provider = provider
        _instruments = None


def _label(value: object) -> str:
    # Attributes must be plain strings; enums and None arrive from callers.
    if value is None:
        return NO_ACTION
    return str(getattr(value, "value", value))


def signal_received(kind: object) -> None:
    """One signal of `kind` (annotation, availability, scheduled-event, ...) entered the pipeline."""
    _get().signals.add(1, {ATTR_SIGNAL_KIND: _label(kind)})


def decision_made(action: object, status: object) -> None:
    """A decision about `action` (None for no action) ended in outcome `status`."""
    _get().decisions.add(1, {ATTR_ACTION: _label(action), ATTR_STATUS: _label(status)})


def brake_tripped(brake: object) -> None:
    """The safety brake `brake` (cooldown, hourly-cap, storm, ...) held an action back."""
    _get().brakes.add(1, {ATTR_BRAKE: _label(brake)})


def notification_failed(channel: object) -> None:
    """A notification on `channel` (teams, email) failed; the outbox will retry it."""
    _get().notification_failures.add(1, {ATTR_CHANNEL: _label(channel)})
