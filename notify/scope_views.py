"""Many incidents of one storm scope in one message: the digest (`DigestView`) and the storm
breaker's own message (`StormView`), each incident in it written from where it stands
(notify/state.py), as one incident's message is (notify/content.py).

A scope is the storm breaker's (notify/digest.py scope_of): a scale set, or a subscription's VMs
in one region. Its words, and so a storm's subject, come from the scope alone, so the storm
message and every digest after it share one subject and one thread.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from arm import ResourceId

from .content import STAGE_WORDS, _short, action_name, action_words, storm_step
from .humane import clock, first_upper, sentence, when
from .links import stand_ins
from .notice import Notice
from .resource import ResourceView, view_of
from .signal_facts import SERVICE_HEALTH
from .state import IncidentState, fold

STORM_BRAKE = "storm breaker"  # how the pipeline names the brake (pipeline/safety.py)
ACTED = ("started", "succeeded", "failed")
# Which incidents a digest lists first: those waiting for a person, then failures, then actions.
LIST_ORDER = {"awaiting-approval": 0, "failed": 1, "approval-expired": 2, "started": 3, "succeeded": 3, "observe": 4}


@dataclass(frozen=True)
class Scope:
    """The storm breaker's scope of a message (notify/digest.py scope_of), in words.

    Its words (and so the storm's subject) come from the scope alone, never from a notice, so the
    storm message and every digest after it share one subject; `shown_region` is the region as
    the notices know it, for the facts."""

    cause: str
    subscription: str | None
    region: str | None
    scale_set: str | None
    shown_region: str | None = None
    # The tenant-wide digest's spread (cause "tenant"): subscriptions, regions, scopes paused.
    subscriptions: int = 0
    regions: tuple[str, ...] = ()
    paused: int = 0

    @classmethod
    def of(cls, cause: str, first: Notice | None = None) -> Scope:
        shown = None
        if first is not None:
            facts = first.signal_facts or {}
            shown = first.location or facts.get("location") or facts.get("region") or None
        if cause.startswith("ss:"):
            ref = view_of(cause[3:])
            return cls(cause, ref.subscription, None, ref.name, shown)
        parts = cause.split(":")
        sub = parts[1] if len(parts) > 1 and parts[1] else None
        region = parts[2] if len(parts) > 2 and parts[2] else None
        return cls(cause, sub, region, None, region or shown)

    @classmethod
    def tenant(cls, notices: list[Notice]) -> Scope:
        """Across many scopes at once: how many subscriptions, which regions, how many scopes paused."""
        from .digest import TENANT, scope_of

        subscriptions = {rid.subscription.lower() for n in notices if (rid := ResourceId.try_parse(n.resource_id)) is not None}
        regions = sorted({(n.location or "").lower() for n in notices if n.location})
        # Where the breaker holds automation: its own storm notice, or a notice it held.
        paused = {scope_of(n) for n in notices if n.event == "storm" or any(b.lower().startswith(STORM_BRAKE) for b in n.brakes)}
        return cls(TENANT, None, None, None, None, len(subscriptions), tuple(regions), len(paused))

    @property
    def is_tenant(self) -> bool:
        return self.cause == "tenant"

    @property
    def words(self) -> str:
        if self.is_tenant:
            plural = "s" if self.subscriptions != 1 else ""
            return f"{self.subscriptions:,} subscription{plural}" + (f" in {', '.join(self.regions)}" if self.regions else "")
        if self.scale_set:
            return f"scale set {self.scale_set}"
        where = f" in {self.region}" if self.region else ""
        return f"VMs of subscription {self.subscription or 'unknown'}{where}"


@dataclass(frozen=True)
class DigestLine:
    incident_id: str
    resource: ResourceView
    stage: str
    status: str  # the stage in words
    why: str  # the reason behind that status, short
    approval: tuple[str, str] | None = None  # approve / reject links while approval is pending


@dataclass(frozen=True)
class DigestView:
    scope: Scope
    signals: tuple[tuple[str, int], ...]  # signal names, each with how many incidents, most first
    meaning: str  # the catalog's meaning when one signal name; else empty
    opened: datetime
    closed: datetime
    lines: tuple[DigestLine, ...]  # the first N incidents, those a person must act on first
    incidents: int
    actions: int  # how many the app acted on (started, succeeded or failed)
    notices: int
    by_outcome: tuple[tuple[str, int], ...]  # what the app did, in words, with how many
    brakes: tuple[str, ...]
    next_step: str | None
    storm: bool = False
    storm_reason: str | None = None
    pending: int = 0  # approvals waiting for a person in this digest
    approvals_page: str | None = None  # one page listing them all (approvals route), when the app has one
    now: datetime | None = None

    @property
    def more(self) -> int:
        return self.incidents - len(self.lines)

    @property
    def signal_name(self) -> str:
        return self.signals[0][0] if len(self.signals) == 1 else f"{len(self.signals)} signals"

    @property
    def subject(self) -> str:
        """One subject per scope for as long as the storm lasts (no time in it): one thread."""
        return scope_subject(self.scope, self.storm)

    @property
    def importance(self) -> str:
        return "high" if self.storm or self.pending or any(line.stage == "failed" for line in self.lines) else "normal"

    @property
    def headline(self) -> str:
        if self.scope.is_tenant:
            return f"{self.incidents:,} resources in {self.scope.words} reported {self.signal_name}"
        return f"{self.incidents} resources reported {self.signal_name}: {self.scope.words}"

    @property
    def covers(self) -> str:
        return (f"This digest covers {self.incidents} incidents ({self.actions} acted on) and {self.notices} updates "
                f"from {clock(self.opened)} to {clock(self.closed)}.")

    @property
    def where(self) -> list[tuple[str, str]]:
        facts = []
        if self.scope.is_tenant:
            facts.append(("Subscriptions", f"{self.scope.subscriptions:,}"))
            facts.append(("Regions", ", ".join(self.scope.regions) or "not known yet"))
            if self.scope.paused:
                facts.append(("Scopes where automation is paused", f"{self.scope.paused:,}"))
            return facts
        if self.scope.scale_set:
            facts.append(("Scale set", self.scope.scale_set))
        facts.append(("Subscription", self.scope.subscription or "unknown"))
        facts.append(("Region", self.scope.shown_region or "not known yet"))
        return facts

    @property
    def signal_counts(self) -> list[tuple[str, str]]:
        return [(name, str(count)) for name, count in self.signals]

    @property
    def service_health(self) -> str:
        return SERVICE_HEALTH


def scope_subject(scope: Scope, storm: bool) -> str:
    if scope.is_tenant:
        if storm:
            return f"[Storm] Automation paused in {scope.paused:,} scope{'s' if scope.paused != 1 else ''} across {scope.words}"
        return f"[Digest] Across {scope.words}"
    if storm:
        return f"[Storm] Automation paused: {scope.words}"
    return f"[Digest] {scope.words}"


def _line(state: IncidentState, now: datetime | None) -> DigestLine:
    g = state.governing
    view_stage = state.stage
    status = STAGE_WORDS[view_stage][0]
    if view_stage == "skipped" and STORM_BRAKE in g.reason.lower():
        why = "Held: automation is paused in this scope"  # the breaker's reason is said once, above
    elif view_stage in ("skipped", "noop", "failed", "approval-expired"):
        why = sentence(_short(g.reason)) if g.reason else ""
    elif view_stage == "awaiting-approval":
        expires = state.approval.expires if state.approval else None
        why = f"{first_upper(action_name(g.action))}; links expire {when(expires, now)}" if expires else first_upper(action_name(g.action))
    elif view_stage == "observe":
        why = f"Would {action_words(g.action)}"
    elif view_stage in ("started", "succeeded", "planned"):
        why = first_upper(action_name(g.action))
    else:
        why = ""
    links = stand_ins(state.approval.id) if view_stage == "awaiting-approval" and state.approval else None
    return DigestLine(g.incident_id, view_of(g.resource_id), view_stage, status, why, links)


def outcome_words(state: IncidentState) -> str:
    """What the app did about one incident, for the digest's counts."""
    g, stage = state.governing, state.stage
    name = action_name(g.action)
    if stage in ("skipped",) and STORM_BRAKE in g.reason.lower():
        return "No action: storm breaker"
    return {
        "awaiting-approval": f"Waiting for approval: {name}",
        "approval-expired": "Approval expired: nothing done",
        "observe": f"Observed only: would {name}",
        "planned": f"Planned: {name}",
        "started": f"In progress: {name}",
        "succeeded": f"Done: {name}",
        "failed": f"Failed: {name}",
        "skipped": "No action: decided against",
        "resolved": "Resolved",
        "noop": "No action taken",
        "storm": "Storm breaker tripped",
    }[stage]


def digest_view(notices: list[Notice], opened: datetime, closed: datetime, listed: int = 10, *,
                cause: str | None = None, now: datetime | None = None, approvals_page: str | None = None) -> DigestView:
    """Fold many notices of one scope into one view: each incident's state, the first N listed."""
    if not notices:
        raise ValueError("a digest needs at least one notice")
    by_incident: dict[str, list[Notice]] = {}
    for n in notices:
        by_incident.setdefault(n.incident_id, []).append(n)
    now = now or closed
    states = {i: fold(ns, now) for i, ns in by_incident.items()}
    storm_notes = [n for n in notices if n.event == "storm" or any(b.lower().startswith(STORM_BRAKE) for b in n.brakes)]
    storm = bool(storm_notes)
    storm_reason = None
    for n in storm_notes:
        found = next((b for b in n.brakes if b.lower().startswith(STORM_BRAKE)), None)
        if found:
            storm_reason = sentence(found.split(":", 1)[1].strip() if ":" in found else found)
            break
    tellable = {i: s for i, s in states.items() if s.stage != "storm"}
    ranked = sorted(tellable.values(), key=lambda s: LIST_ORDER.get(s.stage, 9))
    lines = tuple(_line(s, now) for s in ranked[:listed])
    signals = Counter(s.first.signal_name for s in tellable.values()) or Counter(n.signal_name for n in notices)
    outcomes = Counter(outcome_words(s) for s in tellable.values())
    brakes: dict[str, None] = {}
    for s in tellable.values():
        for b in s.governing.brakes:
            if not b.lower().startswith(STORM_BRAKE):  # said once, as the storm's reason
                brakes.setdefault(sentence(b), None)
    pending = sum(1 for s in tellable.values() if s.stage == "awaiting-approval")
    failed = sum(1 for s in tellable.values() if s.stage == "failed")
    first = ranked[0].first if ranked else notices[0]
    scope = Scope.tenant(notices) if cause == "tenant" else Scope.of(cause or "", first)
    if scope.is_tenant and storm and storm_reason:
        storm_reason = (f"The storm breaker paused automation in {scope.paused:,} scope{'s' if scope.paused != 1 else ''} "
                        f"(a subscription's VMs in one region, or a scale set); the first said: {storm_reason[0].lower()}{storm_reason[1:]}")
    if storm:
        step = storm_step(tuple(b for n in storm_notes for b in n.brakes), storm_reason or "")
    elif pending:
        where = "on the approvals page" if approvals_page else "with each resource's links"
        step = f"Approve or reject the {pending} pending action{'s' if pending > 1 else ''} {where}; each asks you to confirm."
    elif failed:
        step = f"Look at the {failed} failed action{'s' if failed > 1 else ''} in their resources' activity logs; the app does not retry them."
    else:
        step = None
    return DigestView(
        scope=scope,
        signals=tuple(signals.most_common()),
        meaning=sentence(first.meaning) if len(signals) == 1 else "",
        opened=opened,
        closed=closed,
        lines=lines,
        incidents=len(tellable),
        actions=sum(1 for s in tellable.values() if s.governing.status in ACTED and s.governing.action != "none"),
        notices=len(notices),
        by_outcome=tuple(outcomes.most_common()),
        brakes=tuple(list(brakes)[:5]),
        next_step=step,
        storm=storm,
        storm_reason=storm_reason,
        pending=pending,
        approvals_page=approvals_page if pending else None,
        now=now,
    )


@dataclass(frozen=True)
class StormView:
    """The storm breaker's own message: one event for the whole scope, sent at once."""

    scope: Scope
    notice: Notice
    reason: str  # the breaker's reason, in its words
    now: datetime

    @property
    def subject(self) -> str:
        return scope_subject(self.scope, True)

    importance = "high"

    @property
    def headline(self) -> str:
        return f"Storm: automation paused for {self.scope.words}"

    @property
    def facts(self) -> list[tuple[str, str]]:
        n = self.notice
        facts = []
        if self.scope.scale_set:
            facts.append(("Scale set", self.scope.scale_set))
        facts += [("Subscription", self.scope.subscription or "unknown"), ("Region", self.scope.shown_region or "not known yet"),
                  ("Why paused", self.reason), ("Tripped", when(n.occurred_utc, self.now)),
                  ("Tripped by", f"{view_of(n.resource_id).name}: {n.signal_name}")]
        return facts

    @property
    def next_step(self) -> str:
        return storm_step(self.notice.brakes, self.notice.reason)

    @property
    def covers(self) -> str:
        return ("While the breaker holds, the app takes no action in this scope; every resource it hears about is "
                "listed, with what it did, in the digest that follows under the same subject.")

    @property
    def service_health(self) -> str:
        return SERVICE_HEALTH


def storm_view(notice: Notice, cause: str, now: datetime) -> StormView:
    found = next((b for b in notice.brakes if b.lower().startswith(STORM_BRAKE)), notice.reason)
    reason = found.split(":", 1)[1].strip() if ":" in found else found
    return StormView(Scope.of(cause, notice), notice, sentence(reason), now)
