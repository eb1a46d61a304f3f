"""What a person reads, independent of the channel: the views that cards and emails render.

An `IncidentView` answers, for one incident, from where it stands (notify/state.py), never from
its latest notice alone: what Azure said, what the app decided and why (with the brakes that
applied), what it did and how that ended, and what is left for a person. A message never tells
a person to do what the app did, is doing, or decided against.

Many incidents of one scope are notify/scope_views.py. Cards (cards.py) and emails (mail.py)
only lay these out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .humane import first_upper, humanise_times, sentence, when
from .links import stand_ins
from .notice import Notice
from .resource import ResourceView, view_of
from .signal_facts import deadline, facts_of, service_health_link
from .state import IncidentState, fold

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
# The action as a noun, for "Redeploy succeeded", "Waiting for approval: redeploy".
ACTION_NAMES = {
    "redeploy": "redeploy", "restart": "restart", "reimage": "reimage", "perform-maintenance": "maintenance",
    "resume-automatic-repairs": "resuming automatic repairs", "enable-automatic-repairs": "enabling automatic repairs",
    "replace-failed-instance": "replacing the failed instance", "none": "no action",
}

MODE_WORDS = {
    "observe": "Observe: the app tells, never acts",
    "approve": "Approve: the app acts after a person approves",
    "auto": "Auto: the app acts on its own",
}

IMPACT_WORDS = {
    "downtime-reboot": "Downtime (reboot)",
    "downtime-freeze": "Downtime (freeze)",
    "freeze": "Downtime (freeze)",
    "degraded": "Degraded",
    "informational": "Informational",
    "unknown": "Unknown",
}

# Where an incident stands, as a person reads it, and the tone a channel colours it with.
STAGE_WORDS = {
    "storm": ("Automation paused", "attention"),
    "resolved": ("Resolved", "good"),
    "awaiting-approval": ("Action needed: approve or reject", "warning"),
    "approval-expired": ("Approval expired", "warning"),
    "observe": ("Observe only", "accent"),
    "planned": ("Planned", "accent"),
    "started": ("In progress", "accent"),
    "succeeded": ("Done", "good"),
    "failed": ("Failed: action needed", "attention"),
    "skipped": ("No action", "default"),
    "noop": ("No action", "default"),
}
# How urgent a message is for the mailbox (Graph's importance): a person must act, or may wait.
IMPORTANCE = {"awaiting-approval": "high", "failed": "high", "storm": "high", "resolved": "low", "noop": "low",
              "skipped": "low", "succeeded": "normal"}

# Kept for callers that speak in outcome statuses (digest rows of older renderings, tests).
STATUS_WORDS = {
    "planned": ("Planned", "accent"),
    "awaiting-approval": ("Waiting for approval", "warning"),
    "started": ("In progress", "accent"),
    "succeeded": ("Succeeded", "good"),
    "failed": ("Failed", "attention"),
    "skipped": ("No action", "default"),
    "duplicate": ("Duplicate: already handled", "default"),
    "rejected": ("Rejected", "warning"),
    "noop": ("No action", "default"),
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action)


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def urgency(n: Notice) -> str:
    """How serious what Azure said is, fixed by the incident's first notice (it is in the subject)."""
    facts = n.signal_facts or {}
    if n.category == "test":  # an action group's Test button: nothing is wrong anywhere
        return "Test"
    if n.signal_kind == "service-health":
        kind = str(facts.get("incident_type") or n.signal_name.split("/")[0]).lower()
        return {"incident": "Outage", "maintenance": "Planned maintenance", "actionrequired": "Action required",
                "security": "Security advisory"}.get(kind, "Information")
    if n.signal_kind in ("availability", "resource-health"):
        name = n.signal_name.lower()
        return "Outage" if name == "unavailable" else "Degraded" if name == "degraded" else "Information"
    if n.impact.startswith("downtime") or n.impact == "freeze":
        return "Planned maintenance" if n.category in ("planned-maintenance",) or n.signal_kind in ("scheduled-event", "maintenance-status") else "Outage"
    if n.signal_kind in ("scheduled-event", "maintenance-status") or n.category == "planned-maintenance":
        return "Planned maintenance"
    if n.impact == "degraded":
        return "Degraded"
    if n.signal_kind == "repair-state":
        return "Repairs suspended" if "suspend" in n.signal_name.lower() else "Information"
    return "Information"


# Words of the app's own machinery a reader need not know.
_JARGON = re.compile(r"\bcatalog default: ", re.IGNORECASE)


def said(reason: str | None) -> str:
    """A reason the pipeline wrote, as a sentence a person reads."""
    return sentence(_JARGON.sub("", reason or ""))


def _short(reason: str) -> str:
    """The first clause of a reason, for a headline; the whole of it is under "Why". After an
    approval the clause that says who approved is not the why: the next one is."""
    clauses = [c.strip() for c in _JARGON.sub("", reason).split("; ") if c.strip()] or [""]
    text = clauses[0]
    if text.startswith("approved by ") and len(clauses) > 1:
        person = decided_by(text)
        text = f"{clauses[1]} (after it was {person[0].lower() + person[1:] if person else text})"
    elif text.startswith("rejected by "):
        text = decided_by(text) or text
    return humanise_times(text.rstrip("."))


@dataclass(frozen=True)
class Step:
    at: datetime
    event: str
    status: str
    text: str


# The clause approvals/settle.py starts a person's decision with: "approved by Ana Lopez (object id
# …) at 02:14 UTC from the approval link". A message names the person and the time; the object id
# and the way they decided stay in the ledger and the audit.
_DECIDED_BY = re.compile(r"^(approved|rejected) by (.+?)(?: \(object id [^)]*\))? at (\d\d:\d\d UTC)\b")


def decided_by(reason: str | None) -> str | None:
    """"Approved by Ana Lopez at 02:14 UTC" from a decision's reason; None for any other reason."""
    found = _DECIDED_BY.match(reason or "")
    return f"{first_upper(found.group(1))} by {found.group(2)} at {found.group(3)}" if found else None


def step_text(n: Notice) -> str:
    """One line of "What happened" for one notice, as it was at that moment."""
    what = action_name(n.action)
    person = decided_by(n.reason) if n.rule == "approval" else None
    if person and n.status in ("started", "failed", "planned"):
        return f"{person}, {what} {'started' if n.status == 'started' else n.status}"
    if person and n.status == "skipped":
        return f"{person}: nothing was done" if person.startswith("Rejected") else f"{person}: {_short(n.reason)}"
    if n.event == "storm":
        text = "Storm breaker tripped: automation paused in this scope"
    elif n.event == "resolved":
        text = "Azure reports the resource healthy again"
    elif n.status == "awaiting-approval":
        text = f"Asked a person to approve: {what}"
    elif n.action == "none" or n.status in ("noop",):
        text = f"Azure reported {n.signal_name}: no action"
    elif n.status == "duplicate":
        text = f"{n.signal_name} again: already handled"
    elif n.status == "planned":
        text = f"Would {action_words(n.action)} (observe mode)" if n.mode == "observe" else f"Decided to {action_words(n.action)}"
    elif n.status == "started":
        text = f"Started: {what}"
    elif n.status == "succeeded":
        text = f"{first_upper(what)} succeeded"
    elif n.status == "failed":
        text = f"{first_upper(what)} failed"
    elif n.status == "skipped":
        text = "No action"
    else:
        text = first_upper(n.status)
    return text


@dataclass(frozen=True)
class IncidentView:
    incident_id: str
    resource: ResourceView
    state: IncidentState
    steps: tuple[Step, ...]
    note: str | None  # a routing note, e.g. the owner tag was empty
    now: datetime

    @property
    def first(self) -> Notice:
        return self.state.first

    @property
    def latest(self) -> Notice:
        return self.state.latest

    @property
    def stage(self) -> str:
        return self.state.stage

    @property
    def urgency(self) -> str:
        return urgency(self.first)

    @property
    def subject(self) -> str:
        """Fixed for the incident's life, so mail clients thread every follow-up and the Teams card
        title matches the mail: built from what cannot change within an incident (its id, its
        resource, a Service Health event's tracking id and type), never from a notice's signal or
        status, which do (an alert and an annotation of one incident name it differently; a mail
        client would start a new thread). How urgent it is now is the headline and the importance."""
        n = self.first
        if n.signal_kind == "service-health":
            tracking = (n.signal_facts or {}).get("tracking_id")
            return f"[{self.incident_id}] {self.urgency}: Service Health {tracking or 'notice'}"
        group = f" ({self.resource.resource_group})" if self.resource.resource_group else ""
        return f"[{self.incident_id}] {self.resource.name}{group}"

    @property
    def importance(self) -> str:
        if self.stage == "noop" and self.urgency == "Outage":
            return "high"
        return IMPORTANCE.get(self.stage, "normal")

    @property
    def status_words(self) -> tuple[str, str]:
        return STAGE_WORDS[self.stage]

    @property
    def headline(self) -> str:
        g, stage = self.state.governing, self.stage
        what = action_words(g.action)
        if stage == "storm":
            return "Storm: automation paused in this scope"
        if stage == "resolved":
            done = self.state.outcome
            after = f" after the {action_name(done.action)}" if done is not None and done.status == "succeeded" else ""
            return f"Resolved: {self.resource.name} is healthy again{after}"
        if stage == "awaiting-approval":
            expires = self.state.approval.expires if self.state.approval else None
            until = f"; links expire {when(expires, self.now)}" if expires else ""
            return f"Approval needed: {what}{until}"
        if stage == "approval-expired":
            return f"Approval expired: nothing was done (would {what})"
        if stage == "observe":
            return f"Would {what} (observe mode)"
        if stage == "planned":
            return f"Decided to {what}"
        if stage == "started":
            return f"In progress: {what}"
        if stage == "succeeded":
            return f"Done: {action_name(g.action)} succeeded"
        if stage == "failed":
            return f"Failed: {action_name(g.action)} did not complete"
        if stage == "skipped":
            return f"No action: {_short(g.reason)}"
        return "No action: " + (_short(g.reason) if g.rule not in ("catalog", "") else "the policy takes none for this signal")

    @property
    def azure_facts(self) -> list[tuple[str, str]]:
        n = self.first
        facts = [("Signal", f"{n.signal_name} ({n.signal_kind})"), ("Meaning", sentence(n.meaning))]
        if n.detail:
            facts.append(("Azure says", humanise_times(n.detail)))
        facts.append(("When", when(n.occurred_utc, self.now)))
        facts += facts_of(n.signal_kind, n.signal_facts or {}, self.now)
        facts += [("Caused by", n.initiator), ("Impact", IMPACT_WORDS.get(n.impact, n.impact)), ("Urgency", self.urgency)]
        if n.temp_disk_loss:
            facts.append(("Temporary disk", "Data on the temporary disk is lost"))
        return facts

    @property
    def resource_facts(self) -> list[tuple[str, str]]:
        r = self.resource
        facts = [("Resource", f"{r.name} ({r.kind})")]
        if r.resource_group:
            facts.append(("Resource group", r.resource_group))
        if r.subscription:
            facts.append(("Subscription", r.subscription))
        facts_of_notices = [n.signal_facts or {} for n in (self.latest, self.first)]
        region = (self.latest.location or self.first.location
                  or next((f.get("location") or f.get("region") for f in facts_of_notices if f.get("location") or f.get("region")), None))
        if region:
            facts.append(("Region", str(region)))
        return facts

    @property
    def decision_facts(self) -> list[tuple[str, str]]:
        d, g = self.state.decision, self.state.governing
        facts = [("Status", self.status_words[0]), ("Action", first_upper(action_words(d.action)))]
        if d.action != "none":  # the mode says how the app acts; with nothing to do it says nothing
            facts.append(("Mode", MODE_WORDS.get(d.mode, d.mode)))
        if d.rule not in ("tick", "approval"):
            facts.append(("Why", said(d.reason)))
        outcome = self.state.outcome
        if outcome is not None:
            facts.append(("Outcome", said(outcome.reason)))
        elif g is not d and g.reason:
            facts.append(("Outcome", said(g.reason)))
        if self.state.approval is not None and self.state.approval.expires is not None:
            label = "Approval expired" if self.stage == "approval-expired" else "Approval expires"
            facts.append((label, when(self.state.approval.expires, self.now)))
        due = deadline(self.first.signal_facts or {})
        if due is not None and self.stage not in ("resolved", "succeeded"):
            facts.append(("Deadline", f"Azure acts on its own {when(due, self.now)}"))
        return facts

    @property
    def brakes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for n in (self.state.decision, self.state.governing):
            for brake in n.brakes:
                seen.setdefault(sentence(brake), None)
        return tuple(seen)

    @property
    def next_step(self) -> str | None:
        return next_step(self.state, self.now, self.resource)

    @property
    def approval_links(self) -> tuple[str, str] | None:
        if self.stage == "awaiting-approval" and self.state.approval is not None:
            return stand_ins(self.state.approval.id)
        return None

    @property
    def links(self) -> list[tuple[str, str]]:
        """Links besides the approval's: the portal, and Service Health when Azure names an event."""
        out = []
        facts = self.first.signal_facts or {}
        if self.first.signal_kind == "service-health":
            out.append(("Open in Service Health", service_health_link(facts.get("tracking_id"), self.resource.subscription)))
        if self.resource.kind != "subscription":
            out.append(("Open in Azure portal", self.resource.portal_url))
        return out


def next_step(state: IncidentState, now: datetime, resource: ResourceView) -> str | None:
    """What is left for a person, from where the incident stands. None when nothing is."""
    g, stage = state.governing, state.stage
    catalog = g.next_step or state.first.next_step
    what = action_words(g.action)
    due = deadline(state.first.signal_facts or {})
    before = f" before {when(due, now)}" if due is not None and due > now else ""
    if stage == "storm":
        return storm_step(g.brakes, g.reason)
    if stage in ("resolved", "succeeded", "started", "planned"):
        return None  # the app did it, is doing it, or will; nothing is asked of a person
    if stage == "awaiting-approval":
        expires = state.approval.expires if state.approval else None
        until = f" before the links expire {when(expires, now)}" if expires else ""
        return f"Approve or reject: {what}{until}. The app checks the live state again before it acts."
    if stage == "approval-expired":
        return sentence(f"Nobody approved in time, so the app did nothing. If {resource.name} still needs it, "
                        f"{what} yourself{before}, or wait: the app asks again if Azure reports it again")
    if stage == "observe":
        return sentence(f"If you agree, {what} yourself{before}; the app runs in observe mode and only tells")
    if stage == "failed":
        step = f"Look at the failed {action_name(g.action)} in the resource's activity log; the app does not retry a failed action"
        return sentence(step + (f". {catalog}" if catalog else ""))
    if stage == "skipped":
        return skipped_step(g, resource)
    return sentence(catalog) if catalog else None  # no action: the catalog's step is a person's own


def skipped_step(g: Notice, resource: ResourceView) -> str | None:
    """After the app decided not to act: nothing that contradicts why it did not."""
    reason = g.reason.lower()
    if "storm breaker" in reason:
        return storm_step(g.brakes, g.reason)
    if any(words in reason for words in ("left to azure", "not allowed", "azure does", "azure already")):
        return "Nothing for you: Azure carries out this maintenance itself, in its own window."
    if "verified against the live state" in reason or "nothing left to do" in reason:
        return f"Nothing for you: the app found no reason to act on {resource.name}. It decides again if Azure reports it again."
    if "rejected by" in reason:
        return None  # a person said no; nothing more is asked
    if any(word in reason for word in ("cooldown", "attempt", "cap", "paused", "pause", "mode tag", "scope")):
        return "Nothing for you now: a safety brake held the app back (see Brakes). It decides again when Azure reports it again."
    return None


def storm_step(brakes: tuple[str, ...], reason: str) -> str:
    """The storm's next step matches the breaker's own reason (pipeline/safety.py)."""
    said = " ".join((*brakes, reason)).lower()
    if "health probe" in said or "application" in said:
        return ("Check the scale set's health probe and the application's latest deployment: so many instances at "
                "once are more likely the probe or the application than the machines. Do not repair or reimage "
                "instances one by one.")
    return ("Check Azure Service Health for an incident affecting these VMs: so many at once are more likely a platform "
            "incident than broken machines. Do not redeploy VMs one by one; the app resumes on its own once it is calm.")


def incident_view(notices: list[Notice], note: str | None = None, times: list[datetime | None] | None = None,
                  now: datetime | None = None) -> IncidentView:
    """The view of one incident from the notices of one message (oldest first); `times` are
    when each was submitted (a step's time), else the notice's own `occurred`; `now` is when the
    message is written (times read "in 3 h" from it)."""
    if not notices:
        raise ValueError("an incident view needs at least one notice")
    ordered = list(notices)
    times = times or [None] * len(ordered)
    now = now or max((t for t in times if t is not None), default=ordered[-1].occurred_utc)
    steps = []
    last_reason = None
    for n, at in zip(ordered, times, strict=True):
        text = step_text(n)
        if (n.reason and n.reason != last_reason and n.status not in ("noop", "duplicate") and n.action != "none"
                and said(n.reason).lower() != sentence(text).lower()):
            text = f"{text}. {said(n.reason)}"  # a reason once is enough
            last_reason = n.reason
        steps.append(Step(at or n.occurred_utc, n.event, n.status, sentence(text)))
    first = ordered[0]
    return IncidentView(first.incident_id, view_of(first.resource_id), fold(ordered, now), tuple(steps), note, now)
