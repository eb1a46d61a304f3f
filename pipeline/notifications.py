"""Telling people: each step of an incident becomes a notify.Notice, submitted per delivery
(one outbox transaction) and flushed after it and on every tick. A notification problem is
outbox state, never an exception here: remediation never waits for a message."""

from __future__ import annotations

from typing import Any, Callable

from rules import Catalog

from .core import Step

# The notice event for each outcome status; duplicates and rejections are recorded, not sent.
EVENT_BY_STATUS = {
    "planned": "decided",
    "noop": "decided",
    "awaiting-approval": "awaiting-approval",
    "started": "started",
    "succeeded": "succeeded",
    "failed": "failed",
    "skipped": "skipped",
}


# Where the catalog's next step is still a person's to take: not once the app acted on it.
PERSON_STILL_NEEDED = ("noop", "planned", "awaiting-approval", "skipped", "failed")


class Notifications:
    """A pipeline listener (and batch end) around one notify.Notifier."""

    def __init__(self, notifier: Any, catalog: Catalog, clock: Callable[[], Any],
                 approval_of: Callable[[Step], str | None] | None = None):
        self.notifier = notifier
        self.approval_of = approval_of  # the approval id of a step that waits for a person
        self.catalog = catalog
        self.clock = clock
        self.pending: list = []
        self.lines: list[str] = []  # one line per message handled, for the command line

    def __call__(self, step: Step) -> None:
        notice = self.notice_for(step)
        if notice is not None:
            self.pending.append(notice)

    def batch_done(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.notifier.submit_many(batch)
        self.lines += self.notifier.flush(self.clock()).lines

    def drain(self, seconds: float) -> None:
        """Send what becomes due within `seconds` (the end of a command-line run)."""
        self.batch_done()
        self.lines += self.notifier.drain(seconds).lines

    def notice_for(self, step: Step):
        from notify import Notice, owner_emails

        outcome, signal, decision = step.outcome, step.signal, step.decision
        event = EVENT_BY_STATUS.get(outcome.status)
        if event is None or signal is None or not outcome.incident_id:
            return None
        if signal.resolved:
            event = "resolved"
        elif decision is not None and decision.facts.get("storm_tripped"):
            event = "storm"  # the one message that says why automation paused in a scope
        elif step.opened and outcome.status != "awaiting-approval":  # a person's links come with that event
            event = "opened"
        found = step.classification or self.catalog.classify(signal)
        approval_id = self.approval_of(step) if self.approval_of is not None and outcome.status == "awaiting-approval" else None
        return Notice(
            incident_id=outcome.incident_id,
            event=event,
            resource_id=outcome.resource_id,
            signal_kind=signal.kind,
            signal_name=signal.name,
            meaning=found.meaning,
            occurred=signal.occurred,
            category=found.category,
            initiator=found.initiator,
            impact=found.impact,
            action=outcome.action,
            mode=outcome.mode or "observe",
            status=outcome.status,
            reason=outcome.reason,
            brakes=tuple(decision.brakes) if decision else (),
            next_step=found.next_step if outcome.status in PERSON_STILL_NEEDED else None,
            approval_id=approval_id,
            location=str(signal.details.get("region") or "") or None,
            routes=tuple(decision.notify) if decision else (),
            routine=found.routine,
            owner_emails=owner_emails(decision.facts.get("tags")) if decision and decision.facts.get("tags") else (),
            detail=signal.summary or None,
            temp_disk_loss=found.temp_disk_loss,
        )
