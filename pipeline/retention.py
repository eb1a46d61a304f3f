"""The audit trail's retention: once a day (the `purge` timer) the ledger forgets what was
recorded more than RESPONDER_RETENTION_DAYS ago (default 90) and is finished. Never less than
what a decision looks back on: the policy's incident lifetime and the brakes' windows, so a
short retention cannot make a brake forget an action or a storm."""

from __future__ import annotations

from datetime import timedelta

from rules.records import PurgeCounts
from telemetry.logs import log

from .core import Pipeline
from .settings import Settings


def kept_for(pipeline: Pipeline, settings: Settings) -> timedelta:
    """How far back the ledger keeps: the setting, or longer when the policy looks further back."""
    policy = pipeline.engine.policy
    brakes = policy.brakes
    looks_back = [policy.incident_ttl, brakes.cooldown, brakes.attempts_within, brakes.storm_window]
    return max(timedelta(days=settings.retention_days), *looks_back)


def purge_expired(pipeline: Pipeline, settings: Settings) -> PurgeCounts:
    keep = kept_for(pipeline, settings)
    removed = pipeline.ledger.purge(pipeline.clock() - keep)
    log("ledger purged", kept_days=keep.days, **{kind.replace(" ", "_"): n for kind, n in removed.items()})
    return removed
