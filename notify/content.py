"""What a person reads, independent of the channel: the views that cards and emails render.

An `IncidentView` answers, for one incident: what Azure said, what the app decided and why
(with the brakes that applied), what it did and how that ended, and what is left for a person.
A `DigestView` lists many incidents that share one cause. Cards (cards.py) and emails
(mail.py) only lay these out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from .links import stand_ins
from .notice import Notice
from .resource import ResourceRef, parse_resource

ACTION_WORDS = {
    "redeploy": "redeploy the VM to a new host",
    "restart": "restart the VM",
    "reimage": "reimage the instance",
    "perform-maintenance": "start the planned maintenance now",
    "resume-automatic-repairs": "resume the scale set's automatic repairs",
    "enable-automatic-repairs": "enable the scale set's automatic repairs",
    "replace-failed-instance": "replace the failed instance",
    "none": "take no action",
}

MODE_WORDS = {
    "observe": "observe only: the app tells, never acts",
    "approve": "acts after a person approves",
    "auto": "acts on its own",
}

IMPACT_WORDS = {
    "downtime-reboot": "downtime (reboot)",
    "downtime-freeze": "downtime (freeze)",
    "freeze": "downtime (freeze)",
    "degraded": "degraded",
    "informational": "informational",
    "unknown": "unknown",
}

# Status as a person reads it, and the tone a channel may colour it with.
STATUS_WORDS = {
    "planned": ("Planned", "accent"),
    "awaiting-approval": ("Waiting for approval", "warning"),
    "started": ("In progress", "accent"),
    "succeeded": ("Succeeded", "good"),
    "failed": ("Failed", "attention"),
    "skipped": ("Skipped", "warning"),
    "duplicate": ("Duplicate: already handled", "default"),
    "rejected": ("Rejected", "warning"),
    "noop": ("Nothing to do", "default"),
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action)


def when(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


HEADLINES = {
    "planned": "Decided to {what}",
    "awaiting-approval": "Waiting for approval to {what}",
    "started": "In progress: {what}",
    "succeeded": "Succeeded: {what}",
    "failed": "Failed: {what}",
    "skipped": "Skipped: {what}",
    "duplicate": "Already handled: {what}",
    "rejected": "Rejected: {what}",
    "noop": "Nothing to do",
}


def headline(notice: Notice) -> str:
    """One line for the latest step of an incident: what Azure said, or where the action stands."""
    if notice.event == "opened":
        return f"Azure reported {notice.signal_name}"
    if notice.event == "resolved":
        return "Resolved: the resource is healthy again"
    if notice.event == "storm":
        return "Storm: many resources at once; automation paused"
    if notice.action == "none":
        return "No action needed" if notice.status == "planned" else STATUS_WORDS.get(notice.status, (notice.status, ""))[0]
    if notice.mode == "observe" and notice.status == "planned":
        return f"Would {action_words(notice.action)} (observe mode: the app only tells)"
    pattern = HEADLINES.get(notice.status, f"{notice.status}: {{what}}")
    return pattern.format(what=action_words(notice.action))


@dataclass(frozen=True)
class Step:
    at: datetime
    event: str
    status: str
    text: str


@dataclass(frozen=True)
class IncidentView:
    incident_id: str
    resource: ResourceRef
    latest: Notice
    first: Notice
    steps: tuple[Step, ...]
    note: str | None  # a routing note, e.g. the owner tag was empty

    @property
    def subject(self) -> str:
        # Stable for the whole incident, so mail clients thread follow-ups (see docs).
        return f"[{self.incident_id}] {self.resource.name}: {self.first.signal_name}"

    @property
    def headline(self) -> str:
        return headline(self.latest)

    @property
    def status_words(self) -> tuple[str, str]:
        if self.latest.event == "opened":
            return ("New", "accent")
        if self.latest.event == "resolved":
            return ("Resolved", "good")
        if self.latest.event == "storm":
            return ("Automation paused", "attention")
        return STATUS_WORDS.get(self.latest.status, (self.latest.status, "default"))

    @property
    def azure_facts(self) -> list[tuple[str, str]]:
        n = self.first
        facts = [
            ("Signal", f"{n.signal_name} ({n.signal_kind})"),
            ("Meaning", n.meaning),
            ("When", when(n.occurred)),
            ("Caused by", n.initiator),
            ("Impact", IMPACT_WORDS.get(n.impact, n.impact)),
            ("Category", n.category),
        ]
        if n.detail:
            facts.insert(2, ("Azure says", n.detail))
        if n.temp_disk_loss:
            facts.append(("Temporary disk", "data on the temporary disk is lost"))
        return facts

    @property
    def resource_facts(self) -> list[tuple[str, str]]:
        r = self.resource
        facts = [("Resource", f"{r.name} ({r.kind})")]
        if r.resource_group:
            facts.append(("Resource group", r.resource_group))
        if r.subscription:
            facts.append(("Subscription", r.subscription))
        if self.latest.location or self.first.location:
            facts.append(("Region", self.latest.location or self.first.location or ""))
        return facts

    @property
    def decision_facts(self) -> list[tuple[str, str]]:
        n = self.latest
        return [
            ("Status", self.status_words[0]),
            ("Action", action_words(n.action)),
            ("Mode", f"{n.mode} ({MODE_WORDS.get(n.mode, n.mode)})"),
            ("Why", n.reason),
        ]

    @property
    def brakes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for step_notice in (self.first, self.latest):
            for brake in step_notice.brakes:
                seen.setdefault(brake, None)
        return tuple(seen)

    @property
    def next_step(self) -> str | None:
        n = self.latest
        if n.event == "awaiting-approval" and n.approval_id:
            base = "Approve or reject with the links below."
            return f"{base} {n.next_step}" if n.next_step else base
        return n.next_step

    @property
    def approval_links(self) -> tuple[str, str] | None:
        return _approval(self.latest)


def incident_view(notices: list[Notice], note: str | None = None, times: list[datetime | None] | None = None) -> IncidentView:
    """The view of one incident from the notices of one message (oldest first); `times` are
    when each was submitted (a step's time), else the notice's own `occurred`."""
    if not notices:
        raise ValueError("an incident view needs at least one notice")
    ordered = list(notices)  # submission order is the incident's order
    times = times or [None] * len(ordered)
    steps = []
    said = None
    for n, at in zip(ordered, times):
        text = headline(n) if n.reason == said else f"{headline(n)}. {n.reason}".strip()  # a reason once is enough
        said = n.reason
        steps.append(Step(at or n.occurred_utc, n.event, n.status, text))
    steps = tuple(steps)
    first = ordered[0]
    return IncidentView(first.incident_id, parse_resource(first.resource_id), ordered[-1], first, steps, note)


@dataclass(frozen=True)
class DigestLine:
    incident_id: str
    resource: ResourceRef
    event: str
    status: str
    text: str
    approval: tuple[str, str] | None = None  # approve / reject links while approval is pending


@dataclass(frozen=True)
class DigestView:
    signals: tuple[tuple[str, int], ...]  # signal names, each with how many incidents, most first
    meaning: str  # the catalog's meaning when one signal name; else empty
    subscription: str | None
    location: str | None
    opened: datetime
    closed: datetime
    lines: tuple[DigestLine, ...]  # the first N incidents, those a person must act on first
    incidents: int  # how many incidents in all
    actions: int  # how many of them the app acted on (started, succeeded or failed)
    notices: int  # how many notices were folded in
    by_status: tuple[tuple[str, int], ...]
    by_action: tuple[tuple[str, int], ...]
    brakes: tuple[str, ...]
    next_step: str | None
    storm: bool = False  # the storm breaker tripped in this scope

    @property
    def more(self) -> int:
        return self.incidents - len(self.lines)

    @property
    def signal_name(self) -> str:
        if len(self.signals) == 1:
            return self.signals[0][0]
        return f"{len(self.signals)} signals"

    @property
    def subject(self) -> str:
        where = f" in {self.location}" if self.location else ""
        storm = "Storm, " if self.storm else ""
        return f"[Digest] {storm}{self.incidents} resources: {self.signal_name}{where} ({when(self.opened)})"

    @property
    def headline(self) -> str:
        where = f" in {self.location}" if self.location else ""
        sub = f", subscription {self.subscription}" if self.subscription else ""
        return f"{self.incidents} resources reported {self.signal_name}{where}{sub}"

    @property
    def covers(self) -> str:
        """What this one message stands for, so a reader knows nothing else will come for it."""
        storm = "Storm: automation is paused in this scope (its own message says why). " if self.storm else ""
        return (f"{storm}This digest covers {self.incidents} incidents, {self.actions} with an action taken, "
                f"and {self.notices} updates between {when(self.opened)} and {when(self.closed)}.")

    @property
    def signal_counts(self) -> str:
        return ", ".join(f"{name} ({count})" for name, count in self.signals)


# Which incidents a digest lists first: those waiting for a person, then failures, then actions.
LIST_ORDER = {"awaiting-approval": 0, "failed": 1, "started": 2, "succeeded": 2}


def digest_view(notices: list[Notice], opened: datetime, closed: datetime, listed: int = 10) -> DigestView:
    """Fold many notices of one scope into one view: latest step per incident, the first N listed."""
    if not notices:
        raise ValueError("a digest needs at least one notice")
    latest: dict[str, Notice] = {}
    for n in notices:  # keeps each incident where it first appeared, with its latest step
        latest[n.incident_id] = n
    ranked = sorted(latest.values(), key=lambda n: -1 if n.event == "storm" else LIST_ORDER.get(n.status, 3))
    lines = tuple(
        DigestLine(n.incident_id, parse_resource(n.resource_id), n.event, n.status, headline(n), _approval(n))
        for n in ranked[:listed]
    )
    first = notices[0]
    by_status = Counter(STATUS_WORDS.get(n.status, (n.status, ""))[0] for n in latest.values())
    by_action = Counter(n.action for n in latest.values())
    signals = Counter(n.signal_name for n in latest.values())
    brakes: dict[str, None] = {}
    steps: dict[str, None] = {}
    for n in latest.values():
        for b in n.brakes:
            brakes.setdefault(b, None)
        if n.next_step:
            steps.setdefault(n.next_step, None)
    storm = any(n.event == "storm" or any(b.startswith(STORM_BRAKE) for b in n.brakes) for n in notices)
    if storm:  # said once, in the storm's own message; repeated for every resource it is noise
        brakes = {b: None for b in brakes if not b.startswith(STORM_BRAKE)}
    ref = parse_resource(first.resource_id)
    return DigestView(
        signals=tuple(signals.most_common()),
        meaning=first.meaning if len(signals) == 1 else "",
        subscription=ref.subscription,
        location=first.location,
        opened=opened,
        closed=closed,
        lines=lines,
        incidents=len(latest),
        actions=sum(1 for n in latest.values() if n.action != "none" and n.status in ACTED),
        notices=len(notices),
        by_status=tuple(by_status.most_common()),
        by_action=tuple(by_action.most_common()),
        brakes=tuple(list(brakes)[:5]),
        next_step=next(iter(steps), None),
        storm=storm,
    )


ACTED = ("started", "succeeded", "failed")
STORM_BRAKE = "storm breaker"  # how the pipeline names the brake (pipeline/safety.py)


def _approval(n: Notice) -> tuple[str, str] | None:
    """Stand-ins for the Approve and Reject links while a person may still decide; the notifier
    signs them when the message is sent."""
    if n.event == "awaiting-approval" and n.status == "awaiting-approval":
        return stand_ins(n.approval_id)
    return None
