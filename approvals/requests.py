"""From the pipeline to a person: an awaiting-approval step becomes a pending approval.

`ApprovalRequests` is a pipeline listener (placed before Notifications) and the source of the
approval id the notice carries (`approval_id_for`; the notifier signs the links as it sends). Both ask the ledger for the incident's pending
approval, creating it the first time, so the order listeners run in does not matter and a
step seen twice asks once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .records import Pending

# Where a signal says by when the platform will act on its own (ISO times in Signal.details):
# an approval given after that would come too late. First found wins.
DEADLINE_DETAILS = ("deadline", "redeploy_deadline", "not_before", "window_end")


def deadline_of(signal, facts: Mapping[str, Any] | None = None) -> datetime | None:
    """The earliest deadline the signal's details or the live state read at decision time
    (Resource Health's annotation, in the decision's facts) say."""
    found = [when for when in (_deadline(getattr(signal, "details", None) or {}), _deadline(facts or {})) if when]
    return min(found) if found else None


def _deadline(details: Mapping[str, Any]) -> datetime | None:
    for key in DEADLINE_DETAILS:
        value = details.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str) and value.strip():
            try:
                found = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                continue
            return found if found.tzinfo else found.replace(tzinfo=UTC)
    return None


def params_of(signal, decision) -> dict[str, Any]:
    """What the action will be given at approval time: as Remediation gives it at decision time."""
    params = dict(decision.params)
    if signal.kind == "annotation":
        params.setdefault("signal_annotation", signal.name)
    return params


class ApprovalRequests:
    def __init__(self, approvals):
        self.approvals = approvals

    def __call__(self, step) -> None:
        self.for_step(step)

    def tick(self, pipeline) -> list:
        """The tick's share (Pipeline.tick asks its listeners): expiry, and approvals a stopped
        worker left approved."""
        from .settle import settle_due

        return settle_due(pipeline, self.approvals)

    def approval_id_for(self, step) -> str | None:
        """The approval a notice about this step names, when it waits for a person. Only the id:
        the notifier signs the links when it sends (the outbox must never hold them)."""
        pending = self.for_step(step)
        return pending.id if pending else None

    def for_step(self, step) -> Pending | None:
        outcome, signal, decision = step.outcome, step.signal, step.decision
        if outcome.status != "awaiting-approval" or signal is None or decision is None or not outcome.incident_id:
            return None
        store = self.approvals.store
        return self.approvals.request(
            incident_id=outcome.incident_id,
            signal_id=store.approval_signal_id(outcome.incident_id, signal.delivery_key),
            action=decision.action,
            resource_id=signal.resource_id,
            mode=decision.mode,
            params=params_of(signal, decision),
            facts=dict(decision.facts),
            reason=decision.reason,
            deadline=deadline_of(signal, decision.facts),
            approvers=self.approvals.gate.by_rule.get(decision.rule),
        )
