"""The Notifier: the pipeline's one door into notifications.

    notifier = Notifier.from_settings(settings.notify, SqliteOutbox(path), clock)
    notifier.submit(notice)        # records into the outbox; never raises
    notifier.record_many(notices)  # a delivery's notices; raises when the outbox cannot take them
    notifier.flush(now)            # sends what is due; returns a FlushSummary

`submit` only records (one transaction); `flush` claims due messages one by one (the claim is
the lock between workers), renders them if this is their first attempt, stores the rendering,
and sends. A channel problem becomes outbox state, never an exception for the caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from .channel import Channel
from .compose import compose
from .digest import STORM, TENANT, DigestPolicy, place, place_tenant, scope_of
from .errors import ChannelError, NoticesNotRecordedError, NotifyError, UncertainDeliveryError
from .links import Signer, sign
from .notice import Notice
from .outbox import Entry, Message, OutboxStore, Placement, Window, entry_key
from .retry import RATE_LIMITS, Backoff, RateLimit
from .routes import Destination, Router
from .settings import NotifySettings, read_settings

log = logging.getLogger(__name__)


@dataclass
class Submitted:
    """What submit did with a notice (for logs; the pipeline need not look)."""

    queued: int = 0  # destinations it was queued for
    recorded: str | None = None  # "routine" when recorded and not sent
    unrouted: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class FlushSummary:
    sent: int = 0
    confirmed: int = 0  # uncertain sends found delivered, not sent again
    retrying: int = 0
    failed: int = 0
    deferred: int = 0  # held back by a rate limit, still due
    folded: int = 0  # told inside the tenant-wide digest instead of on their own
    lines: list[str] = field(default_factory=list)  # one line per message handled
    errors: list[str] = field(default_factory=list)
    next_due: datetime | None = None

    def add(self, other: FlushSummary) -> None:
        for name in ("sent", "confirmed", "retrying", "failed", "deferred", "folded"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lines += other.lines
        self.errors += other.errors
        self.next_due = other.next_due


def _quiet(notice: Notice) -> bool:
    """A notice that decides nothing about an action and ends nothing."""
    return notice.event not in ("resolved", STORM) and (notice.action == "none" or notice.status in ("noop", "duplicate"))


class SystemClock:
    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _now_of(clock: Any) -> datetime:
    """A clock is a callable returning now, or has `now` (a method or an attribute)."""
    if callable(clock):
        moment = clock()
    else:
        moment = clock.now() if callable(clock.now) else clock.now
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SendAllowance:
    """What one flush may send per channel key now: the free slots of its rate limit, read once
    per key and flush, so the due listing reads no message that could not go now."""

    def __init__(self, notifier: Notifier, now: datetime, crowded: set[str] | None = None) -> None:
        self.notifier, self.now, self.crowded = notifier, now, crowded or set()
        self.free: dict[str, int] = {}
        self.refused: dict[str, int] = {}  # channel key -> how often a listing was told no: deferred

    def _key(self, channel: str, target: str) -> tuple[str, RateLimit | None]:
        return self.notifier.rate_key(channel, target), self.notifier.rate_limits.get(channel)

    def left(self, channel: str, target: str) -> int:
        key, rate = self._key(channel, target)
        if rate is None or f"{channel}:{target}" in self.crowded:  # folding sends nothing: no slot needed
            return self.notifier.batch
        if key not in self.free:
            self.free[key] = self.notifier.store.available(key, self.now, rate.limit, rate.period)
        if self.free[key] <= 0:
            self.refused[key] = self.refused.get(key, 0) + 1
        return self.free[key]

    def take(self, channel: str, target: str) -> None:
        key, rate = self._key(channel, target)
        if rate is not None and f"{channel}:{target}" not in self.crowded:
            self.free[key] = self.left(channel, target) - 1


class Notifier:
    def __init__(
        self,
        *,
        router: Router,
        store: OutboxStore,
        clock: Any,
        channels: Mapping[str, Channel],
        digest: DigestPolicy = DigestPolicy(),
        backoff: Backoff = Backoff(),
        rate_limits: Mapping[str, RateLimit] = RATE_LIMITS,
        send_routine: bool = False,
        mail_sender: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 200,
        approval_links: Signer | None = None,
    ) -> None:
        self.router = router
        self.store = store
        self.clock = clock
        self.channels = dict(channels)
        self.digest = digest
        self.backoff = backoff
        self.rate_limits = dict(rate_limits)
        self.send_routine = send_routine
        self.mail_sender = mail_sender
        self.lease = lease
        self.batch = batch
        self.approval_links = approval_links

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_settings(
        cls,
        settings: NotifySettings,
        store: OutboxStore,
        clock: Any = None,
        *,
        policy_routes: Any = None,
        policy_default_routes: Any = None,
        credential: Any = None,
        channels: Mapping[str, Any] | None = None,
        outbox_dir: str | None = None,
    ) -> Notifier:
        """Build from the notification settings plus the policy's keys (see notify/settings.py).
        Raises NotifyConfigError for settings that cannot work, so a typo fails at start."""
        parts = read_settings(settings, policy_routes=policy_routes, policy_default_routes=policy_default_routes,
                              credential=credential, channels=channels, outbox_dir=outbox_dir)
        return cls(store=store, clock=clock or SystemClock(), **parts)

    def sign_links_with(self, signer: Signer) -> None:
        """Who signs approval links at send time (the wiring's Approvals.link_for): the outbox
        keeps stand-ins only, so this is needed by every worker that sends."""
        self.approval_links = signer

    # -- recording --------------------------------------------------------------------------

    def submit(self, notice: Notice) -> Submitted:
        """Record a notice for its routes. Never raises: a notification problem must not stop
        a remediation. Problems are logged and returned in `Submitted.error`."""
        results = self.submit_many([notice])
        return results[0] if results else Submitted(error="nothing recorded")

    def submit_many(self, notices: Iterable[Notice]) -> list[Submitted]:
        """`submit` for a batch, never raising: a store that fails is logged and returned in each
        result's `error` (the command line's way; a delivery uses `record_many`)."""
        try:
            return self.record_many(notices)
        except Exception as exc:  # noqa: BLE001 - never raises: the error is the caller's to read
            log.exception("notifications not recorded")
            cause = exc.__cause__ if isinstance(exc, NoticesNotRecordedError) and exc.__cause__ else exc
            return [Submitted(error=f"{type(cause).__name__}: {cause}")]

    def record_many(self, notices: Iterable[Notice]) -> list[Submitted]:
        """Record a delivery's notices (an Event Grid delivery holds up to 5000). A notice that
        cannot be made into a message (malformed) is logged and returned in its result; a store
        that fails raises NoticesNotRecordedError, so the delivery fails and its sender delivers
        it again, rather than the notices being dropped."""
        notices = list(notices)
        results = [Submitted() for _ in notices]
        entries: list[Entry] = []
        unsent: list[tuple[Entry, str, str]] = []
        told: dict[str, list[Destination]] = {}  # incident -> where it was told, this batch included
        try:
            now = _now_of(self.clock)
            for notice, result in zip(notices, results, strict=True):
                try:
                    text, cause = notice.to_json(now), scope_of(notice)
                    if notice.routine and not self.send_routine:
                        result.recorded = "routine"
                        unsent.append((Entry(None, cause, notice.incident_id, text, now, key=entry_key(notice.key, "")), "routine", "routine event: recorded, not sent (policy does not ask)"))
                        continue
                    try:
                        before = self._told(notice, told)
                    except Exception as exc:  # the store, not the notice: the delivery must be retried
                        raise NoticesNotRecordedError(f"where incident {notice.incident_id} was told could not be read: "
                                                      f"{type(exc).__name__}: {exc}") from exc
                    if notice.event == "resolved" and not before:
                        # Nobody heard it start (routine, or it opened resolved): nobody hears it end.
                        result.recorded = "untold"
                        unsent.append((Entry(None, cause, notice.incident_id, text, now, key=entry_key(notice.key, "")), "untold", "resolved, and nobody was told it began"))
                        continue
                    if before and notice.follow_up and _quiet(notice):
                        # A later signal that changes nothing (a Resource Health alert beside an
                        # annotation already acted on): a message of its own would say "No action"
                        # while an approval waits or a redeploy runs. Kept, not sent.
                        result.recorded = "quiet"
                        unsent.append((Entry(None, cause, notice.incident_id, text, now, key=entry_key(notice.key, "")), "quiet",
                                       "nothing new for a person: the incident's own messages say where it stands"))
                        continue
                    destinations, missing = self.router.resolve(notice) if notice.routes or not before else ([], [])
                    for dest in before:  # everyone told the start is told what follows, and the end
                        if all(d.key != dest.key for d in destinations):
                            destinations.append(dest)
                    for miss in missing:
                        result.unrouted.append(f"{miss.route}: {miss.why}")
                        unsent.append((Entry(None, cause, notice.incident_id, text, now, key=entry_key(notice.key, miss.route)), "unrouted", f"{miss.route}: {miss.why}"))
                    storm = notice.event == STORM
                    for dest in destinations:
                        entries.append(Entry(dest, cause, notice.incident_id, text, now, trips_storm=storm,
                                             key=entry_key(notice.key, dest.key, alone=storm)))
                        if storm:  # and heads the storm's digest, which then says why it is one
                            entries.append(Entry(dest, cause, notice.incident_id, text, now, key=entry_key(notice.key, dest.key)))
                    told[notice.incident_id] = destinations if not before else before + [d for d in destinations if d not in before]
                    result.queued = len(destinations)
                except NoticesNotRecordedError:
                    raise
                except Exception as exc:  # a malformed notice must not stop the others
                    log.exception("notification for %s not recorded", getattr(notice, "incident_id", "?"))
                    result.error = f"{type(exc).__name__}: {exc}"
            if entries:
                self.store.enqueue(entries, self._place)
            if unsent:
                self.store.record(unsent)
        except NoticesNotRecordedError:
            raise
        except Exception as exc:
            raise NoticesNotRecordedError(f"{len(notices)} notice(s) not recorded: {type(exc).__name__}: {exc}") from exc
        return results

    def _told(self, notice: Notice, told: dict[str, list[Destination]]) -> list[Destination]:
        """Where the notice's incident was told before: this batch first, then the outbox (asked
        for follow-ups only; a new incident was told nowhere)."""
        if notice.incident_id in told:
            return told[notice.incident_id]
        if not (notice.follow_up or notice.event == "resolved"):
            return []
        found = []
        for key, route in self.store.told(notice.incident_id):
            channel, _, target = key.partition(":")
            found.append(Destination(route, channel, target))
        told[notice.incident_id] = found
        return found

    def _place(self, entry: Entry, window: Window | None) -> Placement:
        return place(
            window,
            destination=cast(Destination, entry.destination).key,  # only routed entries are placed (enqueue)
            cause=entry.cause,
            incident_id=entry.incident_id,
            now=entry.submitted_at,
            policy=self.digest,
            trips_storm=entry.trips_storm,
        )

    # -- sending ----------------------------------------------------------------------------

    def flush(self, now: datetime | None = None) -> FlushSummary:
        """Send what is due at `now`: closed digest windows, elapsed backoffs, within rate
        limits. Never sleeps; `summary.next_due` says when to come back. Never raises."""
        summary = FlushSummary()
        try:
            now = now or _now_of(self.clock)
            self.store.recover(now)
            blocked: set[str] = set()
            waits: list[float] = []
            crowded = self._crowded()
            allowance = SendAllowance(self, now, crowded)
            for message in self.store.due(now, self.batch, allowance):
                if message.destination in crowded and message.cause != TENANT:
                    self._fold_into_tenant_digest(message, now, summary)
                    continue
                channel = self.channels.get(message.channel)
                if channel is None:
                    self._fail_unclaimed(message, now, f"no {message.channel} channel configured", summary)
                    continue
                key = self._rate_key(message)
                if key in blocked:
                    summary.deferred += 1
                    continue
                rate = self.rate_limits.get(message.channel)
                if rate is not None:
                    wait = self.store.reserve(key, now, rate.limit, rate.period)
                    if wait > 0:
                        blocked.add(key)
                        waits.append(wait)
                        summary.deferred += 1
                        continue
                claimed = self.store.claim(message.id, now, now + self.lease)
                if claimed is not None:
                    self._deliver(claimed, channel, now, summary)
            for key, refused in allowance.refused.items():  # due, not listed: the rate limit says when
                limit = self.rate_limits[key.partition(":")[0]]
                if (wait := self.store.reserve(key, now, limit.limit, limit.period)) > 0:
                    waits.append(wait)
                summary.deferred += refused
            summary.next_due = self.store.next_due()
            if waits and summary.next_due is not None and summary.next_due <= now:
                summary.next_due = now + timedelta(seconds=min(waits))  # due, but a rate limit says when
        except Exception as exc:
            log.exception("notification flush stopped")
            summary.errors.append(f"{type(exc).__name__}: {exc}")
        return summary

    def _crowded(self) -> set[str]:
        """Destinations hearing from `tenant_scopes` or more scopes at once, or from `tenant_storms`
        or more scopes in storm or flood, or whose tenant-wide digest is still open: their messages
        are folded into that digest, not sent one by one."""
        crowded = set()
        for destination, causes in self.store.active_scopes().items():
            busy = sum(1 for cause, digest in causes.items() if digest and cause != TENANT)
            if TENANT in causes or len(causes) >= self.digest.tenant_scopes or busy >= self.digest.tenant_storms:
                crowded.add(destination)
        return crowded

    def _fold_into_tenant_digest(self, message: Message, now: datetime, summary: FlushSummary) -> None:
        """Claim a due message, record its notices under the destination's tenant-wide digest, and
        mark it told there. Recorded before it is marked: a sender that stops in between leaves the
        message to be recovered and folded again (its notices once in the digest: keyed, below)."""
        claimed = self.store.claim(message.id, now, now + self.lease)
        if claimed is None:
            return
        destination = Destination(message.route, message.channel, message.target, message.note)
        # Keyed by the message folded and the notice's place in it: a sender that stops before the
        # message is marked leaves it to be folded again, and the digest takes each notice once.
        entries = [Entry(destination, TENANT, str(json.loads(text).get("incident_id") or ""), text, now,
                         key=entry_key(f"folded {message.id} {number}", destination.key))
                   for number, text in enumerate(self.store.notices(message.id))]
        if entries:
            self.store.enqueue(entries, lambda entry, window: place_tenant(window, destination=destination.key, now=now,
                                                                          policy=self.digest))
        self.store.mark_sent(message.id, now, note="told in the tenant-wide digest")
        summary.folded += 1
        summary.lines.append(f"folded {message.destination} #{message.id} into the tenant-wide digest")

    def drain(self, seconds: float, sleep: Callable[[float], None] | None = None) -> FlushSummary:
        """Flush repeatedly for up to `seconds`, sleeping until the next message is due
        (for a timer tick with a time budget, or the command line)."""
        pause = cast(Callable[[float], None], sleep or getattr(self.clock, "sleep", time.sleep))  # a test clock's sleep
        start = _now_of(self.clock)
        deadline = start + timedelta(seconds=seconds)
        total = FlushSummary()
        while True:
            now = _now_of(self.clock)
            total.add(self.flush(now))
            nxt = total.next_due
            if nxt is None or nxt > deadline or total.errors:
                return total
            pause(max(0.05, (nxt - _now_of(self.clock)).total_seconds()))

    def _rate_key(self, message: Message) -> str:
        return self.rate_key(message.channel, message.target)

    def rate_key(self, channel: str, target: str) -> str:
        """Whose rate limit a send counts against: the mailbox for email, the webhook for Teams."""
        if channel == "email":
            return f"email:{self.mail_sender or ''}"
        return f"{channel}:{target}"

    def _fail_unclaimed(self, message: Message, now: datetime, why: str, summary: FlushSummary) -> None:
        claimed = self.store.claim(message.id, now, now + self.lease)
        if claimed is not None:
            self.store.mark_failed(message.id, now, why)
            summary.failed += 1
            summary.lines.append(f"failed {message.destination} #{message.id}: {why}")

    def _deliver(self, message: Message, channel: Channel, now: datetime, summary: FlushSummary) -> None:
        uncertain = message.uncertain
        where = f"{message.destination} #{message.id}"
        try:
            stored = message.payload
            if stored is None:  # first attempt: render once, record, then send
                stored = self._render(message, now)
                self.store.save_payload(message.id, stored)
            # Signed now, never stored: the outbox keeps the stand-ins (notify/links.py).
            body, what = sign(stored["body"], self.approval_links), stored["summary"]
            if uncertain:
                verdict = channel.confirm(message.target, body)
                if verdict is True:
                    self.store.mark_sent(message.id, now)
                    summary.confirmed += 1
                    summary.lines.append(f"confirmed {where} {what} (it had gone out; not sent again)")
                    return
                if verdict is None and not getattr(channel, "resend_when_unsure", True):
                    why = f"delivery unconfirmed after: {message.last_error}; not sent again to avoid a duplicate"
                    self.store.mark_failed(message.id, now, why)
                    summary.failed += 1
                    summary.lines.append(f"failed {where} {what}: {why}")
                    return
                uncertain = False  # known not delivered (or resending is acceptable here)
            receipt = channel.send(message.target, body, label=stored.get("label", ""))
            self.store.mark_sent(message.id, now)
            summary.sent += 1
            summary.lines.append(f"sent {where} {what} -> {receipt}")
        except ChannelError as err:
            uncertain = uncertain or isinstance(err, UncertainDeliveryError)
            self._after_error(message, now, err, err.retryable, err.retry_after, uncertain, summary)
        except NotifyError as err:  # configuration or a card that cannot render: retrying will not help
            self._after_error(message, now, err, False, None, uncertain, summary)
        except Exception as err:  # a bug: keep the message, retry with backoff, fail after the last attempt
            log.exception("sending %s failed", where)
            self._after_error(message, now, err, True, None, uncertain, summary)

    def _after_error(self, message: Message, now: datetime, err: Exception, retryable: bool, retry_after: float | None, uncertain: bool, summary: FlushSummary) -> None:
        where = f"{message.destination} #{message.id}"
        text = f"{type(err).__name__}: {err}"
        if retryable and message.attempts < self.backoff.max_attempts:
            wait = self.backoff.delay(message.attempts, retry_after, message.id, uncertain=uncertain)
            self.store.mark_retry(message.id, now + timedelta(seconds=wait), text, uncertain=uncertain)
            summary.retrying += 1
            summary.lines.append(f"retry {where} in {wait:.0f}s (attempt {message.attempts}): {text}")
        else:
            self.store.mark_failed(message.id, now, text)
            summary.failed += 1
            summary.lines.append(f"failed {where} after {message.attempts} attempt(s): {text}")
        log.warning("notification %s: %s", where, text)

    # -- rendering ----------------------------------------------------------------------

    def _render(self, message: Message, now: datetime | None = None) -> dict[str, Any]:
        return compose(message, self.store.notices(message.id), listed=self.digest.listed, sender=self.mail_sender, now=now)

    def purge(self, keep: timedelta = timedelta(days=30), now: datetime | None = None) -> int:
        """Forget messages sent more than `keep` ago (for a daily timer); never raises."""
        try:
            return self.store.purge((now or _now_of(self.clock)) - keep)
        except Exception:
            log.exception("outbox purge failed")
            return 0

    def close(self) -> None:
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close:
                close()
