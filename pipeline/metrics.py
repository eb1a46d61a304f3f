"""Counting what the pipeline does, for Application Insights (telemetry/): a listener."""

from __future__ import annotations

import telemetry

from .core import Step


def count(step: Step) -> None:
    if step.signal is not None and step.outcome.input != "tick":
        telemetry.signal_received(step.signal.kind)
    telemetry.decision_made(step.outcome.action, step.outcome.status)
    for brake in step.decision.brakes if step.decision else ():
        telemetry.brake_tripped(brake.split(":", 1)[0])
