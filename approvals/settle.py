"""Carrying out a decision through the pipeline: act (through the gate) or skip, record, tell.

On approve the approval is first consumed (approved -> consumed, a conditional update), then
`Remediation.act` takes the write to the gate, which checks pause, scope, ownership, the mode in
force, the brakes and the live state now, and starts the action only if all still allow it.
Consuming first makes the act at most once: a worker that stops between the two leaves a
consumed approval and no operation, never a second write. The outcome goes through the
pipeline's one tail for later decisions (`Pipeline.settle_later`): a decision row (rule
`approval`) in the incident's audit trail and a step every listener hears.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.core import RELEASE, Pipeline
from pipeline.gate import APPROVAL
from pipeline.outcome import Outcome
from rules import Decision
from telemetry.logs import bound

from .records import ApprovalRecord, Decided

if TYPE_CHECKING:  # types only: the package imports this module
    from . import Approvals

RULE = "approval"


def settle(pipeline: Pipeline, decided: Decided) -> Outcome:
    record, choice = decided.record, decided.choice
    with bound(incident=record.incident_id, resource_id=record.resource_id, approval=record.id):
        now = pipeline.clock()
        if choice == "approve":
            if pipeline.remediator is None:
                # Stays approved: the next tick with an Azure connection carries it out.
                return _untold(pipeline, record, "planned",
                               f"approved by {record.who_and_when}; no Azure connection in this run: the next tick carries it out")
            if not pipeline.ledger.consume_approval(record.id, now):
                return _untold(pipeline, record, "duplicate", f"approval {record.id} was already carried out")
            waves = pipeline.remediator.waves  # a Remediation's: wiring/ always gives it waves; None, maintenance starts at once
            if record.action == "perform-maintenance" and waves is not None:
                # Approved maintenance still goes one update domain at a time: it joins its wave,
                # and its turn passes the gate (a wave member enrolled by approval is approved).
                status, reason = waves.enroll(incident_id=record.incident_id, signal_id=record.signal_id,
                                              resource_id=record.resource_id, mode=record.mode,
                                              params=record.params, facts=record.facts)
            else:
                status, reason, _facts = pipeline.remediator.act(
                    incident_id=record.incident_id, signal_id=record.signal_id, action=record.action,
                    resource_id=record.resource_id, mode=record.mode, params=record.params,
                    road=APPROVAL, approved_by=record.who,
                )
            reason = f"approved by {record.who_and_when}; {reason}"
        elif choice == "reject":
            status, reason = "skipped", f"rejected by {record.who_and_when}"
        else:
            status, reason = "skipped", f"approval expired at {record.expires_at.isoformat()}; a person is told"
        pipeline.ledger.settle_approval(record.id, status, reason, now)
        decision = Decision(action=record.action, mode=record.mode, status=status, reason=reason, rule=RULE)
        outcome = pipeline.settle_later(f"approval {record.id}", record.incident_id, record.signal_id,
                                        record.resource_id, decision, _hold(choice, status))
        pipeline.end_batch()
        return outcome


def settle_due(pipeline: Pipeline, approvals: Approvals, now: datetime | None = None) -> list[Outcome]:
    """The tick's share: approvals whose time is up are settled as expired (and a person is
    told), and approvals a stopped worker left approved are carried out."""
    outcomes = [settle(pipeline, Decided(record, "expire")) for record in approvals.expire(now)]
    if pipeline.remediator is not None:
        outcomes += [settle(pipeline, Decided(record, "approve")) for record in approvals.interrupted(now)]
    return outcomes


def _hold(choice: str, status: str) -> str:
    """The incident's one action after the decision, as the pipeline keeps it."""
    if choice == "reject":
        return "rejected"  # a person said no: later signals of the incident do not ask again
    if status in ("started", "failed"):
        return status  # the tick moves a started one on
    return RELEASE  # nothing done (the condition was gone, a brake, or nobody answered): a later signal may ask again


def _untold(pipeline: Pipeline, record: ApprovalRecord, status: str, reason: str) -> Outcome:
    """An answer that records nothing new (carried out already, or waiting for Azure)."""
    decision = Decision(action=record.action, mode=record.mode, status=status, reason=reason, rule=RULE)
    outcome, _signal = pipeline.outcome_later(f"approval {record.id}", record.incident_id, record.signal_id,
                                              record.resource_id, decision)
    return outcome
