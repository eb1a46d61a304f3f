"""Carrying out a decision through the pipeline: act (verifying again) or skip, record, tell.

On approve the approval is first consumed (approved -> consumed, a conditional update), then
`Remediation.act` verifies the live state now and starts the action only if the condition
still holds. Consuming first makes the act at most once: a worker that stops between the two
leaves a consumed approval and no operation, never a second write. The outcome is a decision
row (rule `approval`) in the incident's audit trail and a step every listener hears.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.core import Step
from pipeline.logs import bound, log
from pipeline.outcome import Outcome
from rules import Decision, Signal

from .records import ApprovalRecord, Decided

RULE = "approval"


def settle(pipeline, decided: Decided) -> Outcome:
    record, choice = decided.record, decided.choice
    with bound(incident=record.incident_id, resource_id=record.resource_id, approval=record.id):
        now = pipeline.clock()
        if choice == "approve":
            if pipeline.remediator is None:
                # Stays approved: the next tick with an Azure connection carries it out.
                return _outcome(pipeline, record, "planned",
                                f"approved by {record.decided_by}; no Azure connection in this run: the next tick carries it out")
            if not pipeline.ledger.consume_approval(record.id, now):
                return _outcome(pipeline, record, "duplicate", f"approval {record.id} was already carried out")
            waves = getattr(pipeline.remediator, "waves", None)
            if record.action == "perform-maintenance" and waves is not None:
                # Approved maintenance still goes one update domain at a time: it joins its wave.
                status, reason = waves.enroll(incident_id=record.incident_id, signal_id=record.signal_id,
                                              resource_id=record.resource_id, mode=record.mode,
                                              params=record.params, facts=record.facts)
            else:
                status, reason, _facts = pipeline.remediator.act(
                    incident_id=record.incident_id, signal_id=record.signal_id, action=record.action,
                    resource_id=record.resource_id, mode=record.mode, params=record.params,
                )
            reason = f"approved by {record.decided_by}; {reason}"
        elif choice == "reject":
            status, reason = "skipped", f"rejected by {record.decided_by}"
        else:
            status, reason = "skipped", f"approval expired at {record.expires_at.isoformat()}; a person is told"
        pipeline.ledger.settle_approval(record.id, status, reason, now)
        decision = Decision(action=record.action, mode=record.mode, status=status, reason=reason, rule=RULE)
        pipeline.ledger.record_decision(record.signal_id, record.incident_id, decision, now)
        _hold(pipeline.ledger, record.incident_id, choice, status)
        log("decision", action=decision.action, mode=decision.mode, status=status, rule=RULE, reason=reason)
        return _outcome(pipeline, record, status, reason, decision)


def settle_due(pipeline, approvals, now: datetime | None = None) -> list[Outcome]:
    """The tick's share: approvals whose time is up are settled as expired (and a person is
    told), and approvals a stopped worker left approved are carried out."""
    outcomes = [settle(pipeline, Decided(record, "expire")) for record in approvals.expire(now)]
    if pipeline.remediator is not None:
        outcomes += [settle(pipeline, Decided(record, "approve")) for record in approvals.interrupted(now)]
    return outcomes


def _hold(ledger, incident_id: str, choice: str, status: str) -> None:
    """The incident's one action after the decision, as the pipeline keeps it."""
    if choice == "reject":
        ledger.update_hold(incident_id, "rejected")  # a person said no: later signals of the incident do not ask again
    elif status in ("started", "failed"):
        ledger.update_hold(incident_id, status)  # the tick moves a started one on
    else:  # nothing done (the condition was gone, a brake, or nobody answered): a later signal may ask again
        ledger.release_action(incident_id)


def _outcome(pipeline, record: ApprovalRecord, status: str, reason: str, decision: Decision | None = None) -> Outcome:
    row = pipeline.ledger.signal(record.signal_id) if record.signal_id else None
    signal = _signal_of(row) if row else None
    outcome = Outcome(
        input=f"approval {record.id}",
        event_id=(row or {}).get("event_id", ""),
        source=(row or {}).get("source", ""),
        kind=(row or {}).get("kind", ""),
        resource_id=record.resource_id,
        name=(row or {}).get("name", ""),
        category=pipeline.engine.catalog.classify(signal).category if signal else "",
        action=record.action,
        mode=record.mode,
        status=status,
        reason=reason,
        incident_id=record.incident_id,
        rule=RULE,
    )
    if decision is not None:
        # A listener's failure is logged by the pipeline, never raised here.
        pipeline.report(Step(outcome, signal, None, decision))
        pipeline.end_batch()
    return outcome


def _signal_of(row) -> Signal:
    return Signal(source=row["source"], event_id=row["event_id"], kind=row["kind"], name=row["name"],
                  resource_id=row["resource_id"], occurred=datetime.fromisoformat(row["occurred"]),
                  summary=row.get("summary", ""), input=row.get("input", ""), delivery_key=row["delivery_key"])
