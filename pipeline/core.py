"""The flow every signal takes, in every host (Functions, command line, tests):

dedupe -> incident -> classify -> decide -> admit (gate) -> hold one action per incident
-> remediate (gate, permit, write) -> record -> tell.

Decisions that come after their signal (an approval settled, an operation or a wave turn the
tick ended) share one tail, `settle_later`: record, move the incident's hold, tell. Rejected
inputs are recorded too, so nothing that arrived is lost.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from rules import Classification, Decision, Engine, Signal
from rules.evidence import FUTURE_SKEW
from rules.ports import CLAIMED, DECIDED, ClaimLost, IncidentRef, Occurrences, Store, Superseded
from rules.signals import signal_from_record
from telemetry.logs import bound, log

from .errors import NoticesNotRecorded
from .gate import Gate, request_for
from .outcome import Outcome
from .ports import TickEnd, WaveEnrolment

if TYPE_CHECKING:  # types only: intake/ is a lower floor, and safety imports nothing from here at run time
    from intake.deliveries import Delivery

    from .safety import Safety

# Decision statuses that keep an incident's one action held.
HOLDING_STATUSES = ("planned", "awaiting-approval", "started", "succeeded")

# How long a delivery's claim keeps other attempts away while it is being decided. Longer than
# host.json's functionTimeout (10 minutes), so an invocation still running is never overtaken; a
# claim whose worker died is taken again by the sender's next retry after this.
CLAIM_LEASE = timedelta(minutes=15)

# How often a decision is made again when another worker moved its incident first (Table Storage).
DECIDE_ATTEMPTS = 25

# The outcome status of a delivery another attempt is still deciding: the sender must retry.
DEFERRED = "deferred"
# _unclaimed's answer for a delivery whose claim was lost before its decision was recorded.
CLAIM_LOST = "claim-lost"
# settle_later's `hold`: free the incident's one action, so a later signal may try again.
RELEASE = "release"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Remediator(Protocol):
    """What acts on a decision (actions/ against ARM). Absent: decisions stay `planned`."""

    def carry_out(self, signal: Signal, decision: Decision, incident: IncidentRef, signal_id: int | None = None,
                  received: datetime | None = None, category: str = "") -> Decision: ...

    def tick(self) -> list[TickEnd]:
        """Move open operations on; return those that ended, with `state` and `message`."""

    def act(self, *, incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
            params: Mapping[str, Any], road: str = ..., approved_by: str | None = None) -> tuple[str, str, dict[str, Any]]:
        """A write whose moment comes after its signal (an approval given, a wave's turn), through
        the gate now: (started | failed | skipped, reason, facts read)."""

    @property
    def gate(self) -> Gate:
        """The one gate its writes pass; the pipeline's own, so a decision and its act see the same."""

    @property
    def waves(self) -> WaveEnrolment | None:
        """Where perform-maintenance goes in waves; None, it starts at once."""


@dataclass(frozen=True)
class Step:
    """One thing that happened, with its context, for whoever listens (notifications)."""

    outcome: Outcome
    signal: Signal | None = None
    classification: Classification | None = None
    decision: Decision | None = None
    opened: bool = False  # this signal opened its incident


Listener = Callable[[Step], None]


# A listener hears every step; some have more to do, each said by a hook a Protocol declares, so
# the pipeline asks for the hook by type (isinstance) rather than probing for an attribute name.
@runtime_checkable
class BatchListener(Protocol):
    """A listener that batches (notifications: one outbox write per delivery): flushed at a delivery's end."""

    def __call__(self, step: Step) -> None: ...

    def batch_done(self) -> None: ...


@runtime_checkable
class NoticeRecorder(Protocol):
    """A listener that records notices: a delivery's claims wait for them (`Pipeline.process`)."""

    records_notices: bool

    def __call__(self, step: Step) -> None: ...


@runtime_checkable
class TimedListener(Protocol):
    """A listener with timed work of its own (approvals expire): the timer's tick runs it."""

    def __call__(self, step: Step) -> None: ...

    def tick(self, pipeline: Pipeline) -> list[Outcome]: ...


class Pipeline:
    @property
    def _unsettled(self) -> dict[str, str] | None:
        """The delivery keys decided and not yet settled, each with its incident key."""
        return getattr(self._delivery, "unsettled", None)

    @_unsettled.setter
    def _unsettled(self, keys: dict[str, str] | None) -> None:
        self._delivery.unsettled = keys

    def __init__(
        self,
        ledger: Store,  # every port: the rooms above reach theirs through the pipeline (approvals, the sweep)
        engine: Engine,
        clock: Callable[[], datetime] = utc_now,
        remediator: Remediator | None = None,
        listeners: Iterable[Listener] = (),
        safety: Safety | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.clock = clock
        self.remediator = remediator
        self.listeners = list(listeners)
        self.safety = safety  # scope, pause, storm marks
        # Claims of the delivery this thread is processing, decided and not yet settled (`process`);
        # None outside a delivery, where each decision settles its claim at once (the sweep, tests).
        # Per thread: the Functions worker runs invocations on a pool of threads over one pipeline.
        self._delivery = threading.local()
        # The one gate of every write; without Azure, it still admits (pause, scope, age).
        self.gate: Gate | None = gate or (remediator.gate if remediator is not None else None) \
            or (Gate.admitting(safety, clock) if safety else None)

    def report(self, step: Step) -> None:
        """Tell the listeners of a step taken outside `handle` and `tick` (an approval settled)."""
        self._tell(step)

    def _tell(self, step: Step) -> None:
        # A listener's problem never stops the pipeline: the step is already recorded.
        for listener in self.listeners:
            try:
                listener(step)
            except Exception as exc:  # noqa: BLE001 - any listener failure is logged, not raised
                log("listener failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")

    def process(self, delivery: Delivery) -> list[Outcome]:
        """Every rejection and every signal of one delivery; one failing never stops the rest.

        The claims of the delivery's events are settled only once its notices are recorded
        (`end_batch`): when the outbox cannot take them, the claims are given back and
        NoticesNotRecorded is raised, so the sender's next delivery is decided and told again."""
        # Settling waits for the notices only where there are notices to record; otherwise each
        # decision settles its claim in its own transaction, as before (no commit of its own).
        self._unsettled = {} if any(isinstance(listener, NoticeRecorder) and listener.records_notices
                                    for listener in self.listeners) else None
        try:
            outcomes = [self.reject(r.input, r.where, r.problem, r.excerpt, tested=r.signal if r.test else None)
                        for r in delivery.rejections]
            outcomes += [self.handle(signal) for signal in delivery.signals]
        except BaseException:
            try:
                self.end_batch()  # what was decided before the failure is still told and settled
            except NoticesNotRecorded:
                pass  # its claims are given back; the failure that stopped the delivery is the one to raise
            raise
        self.end_batch()
        return outcomes

    def end_batch(self) -> None:
        """Listeners that batch (notifications: one outbox transaction per delivery) flush now;
        then the claims of the delivery's decided events are settled. A delivery's notices that
        could not be recorded give those claims back and raise NoticesNotRecorded."""
        unsettled, self._unsettled = self._unsettled or {}, None
        not_recorded: NoticesNotRecorded | None = None
        for listener in self.listeners:
            if isinstance(listener, BatchListener):
                try:
                    listener.batch_done()
                except NoticesNotRecorded as exc:
                    # A delivery's are made again by its redelivery (below); the tick's and an
                    # approval's are kept by the listener and recorded with its next batch.
                    not_recorded = exc
                    log("notices not recorded", level=logging.ERROR, error=str(exc), events=len(unsettled),
                        kept_for_next_batch=exc.kept)
                except Exception as exc:  # noqa: BLE001 - a listener failure is logged, not raised
                    log("listener failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")
        if not_recorded is not None and unsettled:
            for key, incident_key in unsettled.items():
                self._give_back(key, incident_key)
            raise NoticesNotRecorded(list(unsettled), str(not_recorded))
        if unsettled:
            # One commit for the delivery's claims on SQLite. On Table Storage each claim settles in
            # a transaction of its own (its IncidentLog partition): one more request per event than
            # a pipeline without notifications, whose claim settles inside the decision's transaction.
            # A claim gone meanwhile (its lease ran out and a later attempt took it over, or it was
            # purged) is that attempt's now: this decision and its notices are recorded, so the
            # delivery stands, and the delivery's other claims are settled all the same.
            with self.ledger.atomically():
                for key, incident_key in unsettled.items():
                    try:
                        self.ledger.settle_delivery(key, self.clock(), incident_key)
                    except ClaimLost as exc:
                        log("claim lost", level=logging.WARNING, delivery=key, error=str(exc),
                            settled="its decision and notices are recorded; a later attempt holds the claim")

    def reject(self, input_name: str, where: str, problem: str, excerpt: str = "", tested: Signal | None = None) -> Outcome:
        """Record an input that is not a signal to decide. `tested`: a test alert's signal (the
        action group's Test button): recorded, never decided, and told as a test, so the person
        testing sees the alert reach the app and its people."""
        reason = f"{input_name}: {where}: {problem}" if input_name else f"{where}: {problem}"
        self.ledger.record_rejection(input_name, where, problem, excerpt, self.clock())
        log("rejected", input=input_name, where=where, reason=problem)
        outcome = Outcome(input_name, "", "", "", "", "", "", "none", "", "rejected", reason)
        self._tell(Step(outcome, tested))
        return outcome

    def handle(self, signal: Signal) -> Outcome:
        now = self.clock()
        if signal.source != "sweep" and signal.occurred - now > FUTURE_SKEW:
            # A clock can be seconds off, not minutes: an event dated later is not believed.
            return self.reject(signal.input or signal.event_id, "occurredTime",
                               f"{signal.occurred.isoformat()} is {_span(signal.occurred - now)} in the future; "
                               "an event from the future is not believed")
        with bound(event_id=signal.event_id, resource_id=signal.resource_id, kind=signal.kind, name=signal.name):
            classification = self.engine.classify(signal)
            claimed = False
            try:
                # One transaction (on SQLite) from the claim to the decision, or to the moment
                # before anything is asked of Azure: one commit per signal, all or nothing.
                with self.ledger.atomically():
                    claim = self.ledger.claim_delivery(signal.delivery_key, now, CLAIM_LEASE, signal.incident_key)
                    claimed = claim == CLAIMED
                    if not claimed and self._unsettled and signal.delivery_key in self._unsettled:
                        claim = DECIDED  # the same event twice in one delivery: decided a moment ago
                    if not claimed:
                        decision = self._unclaimed(signal, claim)
                        if claim != DECIDED:  # a duplicate is logged, not recorded: it costs the claim's one request
                            self.ledger.record_decision(None, None, decision, now)
                        return self._report(signal, classification, decision, None, notify=False)
                    for attempt in range(DECIDE_ATTEMPTS):
                        try:
                            incident, signal_id, decision, acting = self._decide(signal, classification, now)
                            if not acting:
                                self._conclude(signal, incident, signal_id, decision, now)
                            break
                        except Superseded:
                            # Another worker moved the incident first; none of this decision was kept.
                            if attempt == DECIDE_ATTEMPTS - 1:
                                raise
                            log("decided again", level=logging.DEBUG, attempt=attempt + 1)
                            time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # nosec B311 - back-off jitter
                if acting:  # outside the transaction: Azure is asked, which takes time
                    # _decide acts only when there is a remediator
                    decision = cast(Remediator, self.remediator).carry_out(signal, decision, incident, signal_id, received=now,
                                                         category=classification.category)
                    with self.ledger.atomically():
                        self._move_hold(incident, decision)
                        self._conclude(signal, incident, signal_id, decision, now)
            except ClaimLost as exc:
                # Not a race to decide again: the claim is no longer this attempt's (purged, or taken
                # by a later attempt once its lease ran out). Nothing of the decision's last write was
                # kept; the sender's retry claims the delivery afresh.
                claimed = False
                log("claim lost", level=logging.WARNING, delivery=signal.delivery_key, error=str(exc))
                decision = self._unclaimed(signal, CLAIM_LOST)
                self.ledger.record_decision(None, None, decision, now)
                return self._report(signal, classification, decision, None, notify=False)
            except BaseException:
                if claimed:
                    self._give_back(signal.delivery_key, signal.incident_key)
                raise
            with bound(incident=incident.id):
                return self._report(signal, classification, decision, incident, opened=incident.new)

    def _decide(self, signal: Signal, classification: Classification, now: datetime) -> tuple[IncidentRef, int, Decision, bool]:
        """Record the signal and decide; True when the decision is an action to carry out now."""
        incident = self.ledger.open_incident(signal.incident_key, signal.resource_id, now, self.engine.policy.incident_ttl)
        with bound(incident=incident.id):
            signal_id = self.ledger.record_signal(signal, incident.id, now)
            decision = self.engine.decide(signal, classification, Recent(self.ledger, now))
            if self.safety is not None:
                self.safety.observe(signal, classification)
            if self.gate is not None and not signal.resolved:
                refused = self.gate.admit(request_for(signal, decision, incident.id, signal_id, now,
                                                      classification.category))
                if refused is not None:
                    decision = decision.but(status="skipped", reason=refused.reason, brakes=refused.brakes)
            if signal.resolved:
                self.ledger.close_incident(incident.id, now, decision.reason)
                return incident, signal_id, decision, False
            if decision.action == "none" or decision.status == "skipped":
                return incident, signal_id, decision, False
            decision, held = self._hold(signal, decision, incident)
            if not held:
                return incident, signal_id, decision, False
            if self.remediator is not None:
                return incident, signal_id, decision, True
            decision = decision.but(reading={"azure": False})  # nothing was read: re-deciding needs no reading
            if decision.mode == "auto":
                decision = decision.but(reason=decision.reason + " (no Azure connection in this run: nothing was started)")
            self._move_hold(incident, decision)
            return incident, signal_id, decision, False

    def _conclude(self, signal: Signal, incident: IncidentRef, signal_id: int, decision: Decision, now: datetime) -> None:
        """Record the decision and settle the claim: every later delivery of the event is a duplicate.
        Settled only with the decision, and within a delivery only once its notices are recorded
        (`end_batch`): a worker that dies before leaves a claim whose lease runs out, and the
        sender's retry decides the delivery again."""
        self.ledger.record_decision(signal_id, incident.id, decision, now)
        if self._unsettled is not None:
            # Settled once the delivery's notices are recorded (end_batch), with its incident key:
            # on Table Storage the claim lives in that incident's IncidentLog partition.
            self._unsettled[signal.delivery_key] = signal.incident_key
        else:
            self.ledger.settle_delivery(signal.delivery_key, now, signal.incident_key)

    def _give_back(self, delivery_key: str, incident_key: str) -> None:
        """The delivery could not be decided: free its claim so the sender's retry is not a duplicate."""
        try:
            self.ledger.release_delivery(delivery_key, incident_key)
        except Exception as exc:  # noqa: BLE001 - the lease frees the claim later; the first error is the one to raise
            log("claim not given back", level=logging.WARNING, error=f"{type(exc).__name__}: {exc}")

    def _unclaimed(self, signal: Signal, claim: str) -> Decision:
        """The decision for a delivery this attempt may not decide: decided before, held by another,
        or its claim lost."""
        mode = self.engine.mode_override or self.engine.policy.default_mode
        if claim == DECIDED:
            return Decision(action="none", mode=mode, status="duplicate", rule="dedupe",
                            reason=f"event {signal.event_id} was already received; a second delivery is logged, not acted on")
        if claim == CLAIM_LOST:
            return Decision(action="none", mode=mode, status=DEFERRED, rule="dedupe",
                            reason=(f"event {signal.event_id} lost its claim before its decision was recorded (purged, "
                                    "or taken by a later attempt once its lease ran out); the decision was not kept, "
                                    "and the sender is asked to deliver it again"))
        return Decision(action="none", mode=mode, status=DEFERRED, rule="dedupe",
                        reason=(f"event {signal.event_id} is being decided by another attempt that holds its claim; "
                                f"the sender is asked to deliver it again (a claim left by a stopped worker lapses after "
                                f"{int(CLAIM_LEASE.total_seconds() // 60)} minutes)"))

    def _hold(self, signal: Signal, decision: Decision, incident: IncidentRef) -> tuple[Decision, bool]:
        """Take the incident's one action. The hold is a conditional write: of many workers
        deciding at once, one holds it; the others' decisions say who has it."""
        held = self.ledger.hold_action(incident.id, decision.action, signal.delivery_key, self.clock(), status=decision.status)
        if held is not None and self._left_by_an_earlier_attempt(held, signal, incident):
            held = None
        if held is None:
            return decision, True
        if held.get("decision_ref") == signal.delivery_key and held["action"] == decision.action:
            # An earlier attempt at this very delivery acted and stopped before it was settled (its
            # notices could not be recorded, or its worker died): told as it stands, not done again.
            return decision.but(
                status=held["status"],
                reason=f"{decision.reason}; {held['action']} was {held['status']} by an earlier attempt at this delivery, "
                       "not done again",
            ), False
        same = held["action"] == decision.action
        return decision.but(
            status="duplicate" if same else "skipped",
            reason=f"incident {incident.id} already has {held['action']} {held['status']}; one action per incident",
        ), False

    def _move_hold(self, incident: IncidentRef, decision: Decision) -> None:
        if decision.status in HOLDING_STATUSES:
            self.ledger.update_hold(incident.id, decision.status)
        else:  # refused by a brake or by verification: a later signal may try again
            self.ledger.release_action(incident.id)

    def _left_by_an_earlier_attempt(self, held: Mapping[str, Any], signal: Signal, incident: IncidentRef) -> bool:
        """The hold was taken for this very delivery by an attempt that stopped before acting.

        Only the holder of the delivery's claim decides it, so that attempt is over (it failed, or
        its worker died). It never moved the hold on (that happens once an action is started or
        refused) and recorded no operation, so nothing was done: deciding again is safe, and
        leaving the hold would keep the incident from ever being remediated."""
        if held.get("decision_ref") != signal.delivery_key or held.get("status") in HOLDING_STATUSES[1:]:
            return False
        return not self.ledger.operations(incident.id)

    def tick(self) -> list[Outcome]:
        """The timer's work: operations followed to their end, each recorded and reported."""
        outcomes: list[Outcome] = []
        for listener in self.listeners:  # listeners with timed work of their own (approvals expire)
            if isinstance(listener, TimedListener):
                outcomes += listener.tick(self)
        if self.remediator is None:
            self.end_batch()
            return outcomes
        for ended in self.remediator.tick():
            decision = Decision(action=ended["action"], mode=ended["mode"], status=ended["state"], reason=ended["message"],
                                rule="tick")
            # Skipped: the condition was gone when its turn came, nothing holds the incident. Succeeded
            # or failed: kept (a failed remediation is a person's to look at, not a loop's).
            hold = RELEASE if ended["state"] == "skipped" else ended["state"]
            outcomes.append(self.settle_later("tick", ended["incident_id"], ended["signal_id"], ended["resource_id"],
                                              decision, hold))
        self.end_batch()
        return outcomes

    # -- the one tail of decisions that come after their signal -------------------------------

    def settle_later(self, input_name: str, incident_id: str, signal_id: int | None, resource_id: str,
                     decision: Decision, hold: str | None) -> Outcome:
        """Record a decision made after its signal (an approval, an operation or wave turn the
        tick ended), move the incident's one action (`hold`: a status to keep it at, RELEASE to
        free it for a later signal, None to leave it), and tell the listeners."""
        now = self.clock()
        self.ledger.record_decision(signal_id, incident_id, decision, now)
        if hold == RELEASE:
            self.ledger.release_action(incident_id)
        elif hold:
            self.ledger.update_hold(incident_id, hold)
        outcome, signal = self.outcome_later(input_name, incident_id, signal_id, resource_id, decision)
        with bound(incident=incident_id, resource_id=resource_id, event_id=outcome.event_id):
            log("decision", action=decision.action, mode=decision.mode, status=decision.status, rule=decision.rule,
                reason=decision.reason)
        self._tell(Step(outcome, signal, None, decision))
        return outcome

    def outcome_later(self, input_name: str, incident_id: str, signal_id: int | None, resource_id: str,
                      decision: Decision) -> tuple[Outcome, Signal | None]:
        """The outcome of a later decision, told in terms of the signal that started it."""
        row = self.ledger.signal(signal_id, resource_id) if signal_id else None
        signal = signal_from_record(row) if row else None
        outcome = Outcome(
            input=input_name,
            event_id=row["event_id"] if row else "",
            source=row["source"] if row else "",
            kind=row["kind"] if row else "",
            resource_id=resource_id,
            name=row["name"] if row else "",
            category=self._category(row["kind"], row["name"]) if row else self._category("", ""),
            action=decision.action,
            mode=decision.mode,
            status=decision.status,
            reason=decision.reason,
            incident_id=incident_id,
            rule=decision.rule,
        )
        return outcome, signal

    def _category(self, kind: str, name: str) -> str:
        from rules.catalog import SECTIONS

        entry = self.engine.catalog.entries(kind).get(name) if kind in SECTIONS else None
        return entry["category"] if entry else ""

    def _report(self, signal: Signal, classification: Classification, decision: Decision, incident: IncidentRef | None,
                opened: bool = False, notify: bool = True) -> Outcome:
        log("decision", action=decision.action, mode=decision.mode, status=decision.status, rule=decision.rule, reason=decision.reason)
        outcome = Outcome(
            input=signal.input,
            event_id=signal.event_id,
            source=signal.source,
            kind=signal.kind,
            resource_id=signal.resource_id,
            name=signal.name,
            category=classification.category,
            action=decision.action,
            mode=decision.mode,
            status=decision.status,
            reason=decision.reason,
            incident_id=incident.id if incident else "",
            rule=decision.rule,
        )
        if notify:
            self._tell(Step(outcome, signal, classification, decision, opened))
        return outcome


class Recent:
    """The ledger as a repeat rule's history, seen from now: occurrences within a window before
    now, and none after it (plus a clock's skew), so an event dated 2099 or one delivered days
    late is never a repeat."""

    def __init__(self, ledger: Occurrences, now: datetime) -> None:
        self.ledger, self.now = ledger, now

    def count_occurrences(self, resource_key: str, name: str, within: timedelta) -> int:
        return self.ledger.count_occurrences(resource_key, name, self.now - within, self.now + FUTURE_SKEW)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def process_all(pipeline: Pipeline, deliveries: Iterable[Delivery]) -> list[Outcome]:
    return [outcome for delivery in deliveries for outcome in pipeline.process(delivery)]
