"""Telling people: each step of an incident becomes a notify.Notice, submitted per delivery
(one outbox transaction). A delivery only records; the timer's tick is the one sender (`tick`
below), so invocations never race each other over the outbox's due messages. A notification
problem is outbox state, never an exception here: remediation never waits for a message.

A notice carries what notify/ needs to write the message from where the incident stands: the
rule that decided (or "tick"/"approval" for an outcome), the pending approval's id and expiry,
the signal's facts a person needs (NotBefore, tracking id, deadlines), and whether it is a
follow-up (then it goes where the incident's start went: notify/notifier.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: notify/ is a lower floor
    from notify import Notice

from rules import Catalog, Signal
from telemetry.logs import log

from .core import Step
from .errors import NoticesNotRecorded
from .ports import Notifier

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

# Steps that are never the start of an incident's story: they follow a decision told before.
FOLLOW_UP_RULES = ("tick", "approval", "resolution")
# Decisions made after their signal (the tick's, an approval's): no delivery makes them again.
LATER_RULES = ("tick", "approval")
# Notices no claim stands behind, so no redelivery makes them again when they are not recorded: a
# later decision's, and a test alert's (recorded as a rejection, never claimed). Kept instead.
KEPT_RULES = (*LATER_RULES, "test")


def notice_key(signal: Signal, *step: str) -> str:
    """A notice's identity (notify.Notice.key): the delivery that made it (the event's delivery key,
    the same on every redelivery) and the step it tells (the input that decided it, "tick" or
    "approval APR-...", its event, status and action). Made again by a redelivery, it is the same,
    and the outbox records it once; a later step of the incident is another."""
    return "\n".join((signal.delivery_key or f"{signal.source}:{signal.event_id}", *step))


class Notifications:
    """A pipeline listener (and batch end) around one notify.Notifier."""

    # The pipeline settles a delivery's claims only once this listener has recorded its notices.
    records_notices = True

    @property
    def pending(self) -> list[Notice]:
        """The notices of the delivery this thread is handling, not yet recorded."""
        if not hasattr(self._batch, "notices"):
            self._batch.notices = []
        return self._batch.notices  # type: ignore[no-any-return]

    @pending.setter
    def pending(self, notices: list[Notice]) -> None:
        self._batch.notices = notices

    def __init__(self, notifier: Notifier, catalog: Catalog, clock: Callable[[], datetime],
                 approval_of: Callable[[Step], Any] | None = None) -> None:
        self.notifier = notifier
        # The pending approval of a step that waits for a person: approvals.Pending (id and
        # expiry), or its id alone.
        self.approval_of = approval_of
        self.catalog = catalog
        self.clock = clock
        self._batch = threading.local()  # a delivery's notices, per thread (invocations share this listener)
        # Notices no claim stands behind (KEPT_RULES) the outbox could not take: nothing delivers
        # them again, so they are kept here and recorded with the next batch of this worker (its
        # next tick, most often), once: their keys make a second recording a no-op. In memory: a
        # worker that stops before the outbox is back loses them (docs/notifications.md).
        self._kept: list[Notice] = []
        self._kept_lock = threading.Lock()
        self.lines: list[str] = []  # one line per message handled, for the command line

    def __call__(self, step: Step) -> None:
        notice = self.notice_for(step)
        if notice is not None:
            self.pending.append(notice)

    def batch_done(self) -> None:
        """The end of a delivery: record its notices, and any kept from an earlier batch. Sending
        is the timer's (`tick`). When the outbox cannot take them, NoticesNotRecorded: the pipeline
        gives the delivery's claims back and fails the delivery, whose next attempt makes these
        notices again. Notices no claim stands behind (the tick's, an approval's, a test alert's: no
        delivery makes them again) are kept, and recorded with this worker's next batch."""
        with self._kept_lock:
            kept, self._kept = self._kept, []
        if self.pending or kept:
            batch, self.pending = kept + self.pending, []
            from notify import NoticesNotRecordedError

            try:
                self.notifier.record_many(batch)
            except NoticesNotRecordedError as exc:
                later = [n for n in batch if n.rule in KEPT_RULES]
                with self._kept_lock:
                    self._kept = later + self._kept
                raise NoticesNotRecorded([n.incident_id for n in batch], str(exc), kept=len(later)) from exc

    @property
    def kept(self) -> int:
        """Notices kept (no claim stands behind them) waiting for the outbox: recorded with the next batch."""
        with self._kept_lock:
            return len(self._kept)

    def tick(self, pipeline: Any = None) -> list[Any]:
        """The timer's turn: send what is due (one sender, not one per invocation). No outcomes."""
        self.send()
        return []

    def send(self) -> None:
        """Record what is pending (and what was kept), then send what is due now. An outbox that
        still cannot record keeps what it kept; what is recorded already is sent all the same."""
        try:
            self.batch_done()
        except NoticesNotRecorded as exc:
            log("notices not recorded", level=logging.ERROR, error=str(exc), kept_for_next_batch=exc.kept)
        self.lines += self.notifier.flush(self.clock()).lines

    def drain(self, seconds: float) -> None:
        """Send what becomes due within `seconds` (the end of a command-line run)."""
        self.send()
        self.lines += self.notifier.drain(seconds).lines

    def flush_all(self) -> None:
        """Send everything recorded now, held messages and open digest windows included (the end
        of a command-line run, which will not be there when they come due)."""
        self.send()
        later = self.clock() + self.notifier.digest.window + self.notifier.digest.hold
        self.lines += self.notifier.flush(later).lines
        # What that flush folded into a tenant-wide digest (many scopes at once) is due a window on.
        self.lines += self.notifier.flush(later + self.notifier.digest.window).lines

    def _approval(self, step: Step) -> tuple[str | None, str | None]:
        if self.approval_of is None or step.outcome.status != "awaiting-approval":
            return None, None
        found = self.approval_of(step)
        if found is None or isinstance(found, str):
            return found, None
        expires = getattr(found, "expires_at", None)
        return found.id, expires.isoformat() if expires is not None else None

    def _test_notice(self, signal: Signal) -> Notice:
        """A test alert (the action group's Test button): told as a test, in a thread of its own
        (no incident is opened for it), so the person testing sees it reach the app and its people."""
        import hashlib

        from notify import Notice

        found = self.catalog.classify(signal)
        thread = "TEST-" + hashlib.sha256(signal.delivery_key.encode()).hexdigest()[:10]
        return Notice(
            incident_id=thread, event="decided", resource_id=signal.resource_id, signal_kind=signal.kind,
            signal_name=signal.name, meaning=f"A test alert, with a sample payload: {found.meaning[0].lower()}{found.meaning[1:]}", occurred=signal.occurred, category="test",
            initiator=found.initiator, impact="informational", action="none", mode="observe", status="noop",
            reason=("This is a test alert from an action group (IsSynthetic): it reached the app and was recorded; "
                    "no incident is opened and nothing is done"),
            next_step="Nothing for you: the alert path works", rule="test", detail=signal.summary or None,
            key=notice_key(signal, "test"),
        )

    def notice_for(self, step: Step) -> Notice | None:
        from notify import Notice, owner_emails
        from notify.signal_facts import kept

        outcome, signal, decision = step.outcome, step.signal, step.decision
        if outcome.status == "rejected" and signal is not None:
            return self._test_notice(signal)
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
        approval_id, expires = self._approval(step)
        facts = dict(decision.facts) if decision else {}
        rule = decision.rule if decision else outcome.rule
        details = kept(signal.details)
        if facts.get("location"):  # the region the brakes read, for the message; not the scope (below)
            details["location"] = str(facts["location"])
        # The signal's own region only: the storm scope a notice falls in (notify/digest.py) must not
        # depend on whether this decision happened to read the resource.
        location = str(signal.details.get("region") or "") or None
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
            # The catalog's step for a person; notify/content.py decides whether it still applies
            # (never once the app did it, is doing it, or decided against it).
            next_step=found.next_step,
            approval_id=approval_id,
            approval_expires=expires,
            location=location,
            routes=tuple(decision.notify) if decision and rule not in FOLLOW_UP_RULES else (),
            routine=found.routine,
            owner_emails=owner_emails(facts.get("tags")) if facts.get("tags") else (),
            detail=signal.summary or None,
            temp_disk_loss=found.temp_disk_loss,
            rule=rule or "",
            signal_facts=details,
            follow_up=not step.opened,
            # A later decision (the tick's, an approval's) is told in terms of its signal: its input
            # ("tick", "approval APR-...") tells it from the delivery's own step. A delivery's input
            # is left out: the same event delivered again through another door is the same notice.
            key=notice_key(signal, outcome.input if outcome.rule in LATER_RULES else "", event, outcome.status,
                           outcome.action),
        )
