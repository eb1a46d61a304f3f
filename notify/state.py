"""Where an incident stands, folded from its notices: what every message about it is written from.

A message is never written from its latest notice alone: a Resource Health alert that says
nothing new (a no-op) arriving while a redeploy waits for approval must not hide the approval,
and a tick's "redeploy succeeded" is an outcome, not the reason the app acted. So the notices of
an incident (oldest first) are folded into:

- `first`: what opened it, which names it for its whole life (the subject, the card title);
- `decision`: the latest notice that decided something about an action (or the first, when none did);
- `outcome`: the latest notice that says how an action ended or stands (started, succeeded, failed,
  skipped, an approval settled);
- `approval`: the approval still waiting for a person, until a notice settles it (or it expires);
- `resolved`, `storm`: the incident is over, or it is the storm breaker's own notice.

`stage` then names where the incident stands, one of STAGES, and every headline, status, button
and next step is chosen from it (notify/content.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .humane import parse_time
from .notice import Notice

# Notices that decide nothing about an action: they add a line to "What happened", no more.
QUIET = ("noop", "duplicate", "rejected", "deferred")
# Outcomes of an action a person can no longer approve: the approval is over once one arrives.
SETTLING = ("started", "succeeded", "failed")
FOLLOW_UP_RULES = ("tick", "approval")

STAGES = (
    "storm",              # the storm breaker tripped: automation paused in the scope
    "resolved",           # Azure says the resource is healthy again
    "awaiting-approval",  # a person's approval is needed, links live
    "approval-expired",   # nobody decided in time: nothing was done
    "observe",            # observe mode: the app would act, a person may
    "planned",            # decided to act; no Azure connection in this run
    "started",            # the action is running
    "succeeded",
    "failed",
    "skipped",            # decided against acting (verified healthy, a brake, rejected, ...)
    "noop",               # nothing to do for this signal
)


@dataclass(frozen=True)
class Approval:
    id: str
    expires: datetime | None


@dataclass(frozen=True)
class IncidentState:
    first: Notice
    latest: Notice
    decision: Notice  # the notice whose decision the message explains ("Why")
    outcome: Notice | None  # how the action ended or stands, when a later step said so
    approval: Approval | None  # still waiting for a person (maybe past its expiry: see stage)
    resolved: Notice | None
    storm: Notice | None
    stage: str

    @property
    def governing(self) -> Notice:
        """The notice the status, action and mode are read from."""
        return self.storm or self.outcome or self.decision


def fold(notices: list[Notice], now: datetime | None = None) -> IncidentState:
    """The state of one incident from its notices (oldest first); `now` decides whether a pending
    approval has expired (its links die then, whether or not the tick has settled it yet)."""
    if not notices:
        raise ValueError("an incident's state needs at least one notice")
    decision: Notice | None = None
    outcome: Notice | None = None
    approval: Approval | None = None
    resolved = storm = None
    for n in notices:
        if n.event == "resolved":
            resolved = n
            continue
        if n.event == "storm":
            storm = n
            continue
        if n.status == "awaiting-approval":
            decision, outcome = n, None
            if n.approval_id:
                approval = Approval(n.approval_id, parse_time(n.approval_expires))
            continue
        if n.status in QUIET or n.action == "none":
            continue  # says nothing about the action: an approval or an outcome stands
        if n.rule in FOLLOW_UP_RULES or n.status in SETTLING:
            outcome = n
            if n.rule == "approval" or n.status in SETTLING:
                approval = None
            continue
        if approval is not None and n.status == "skipped":
            continue  # another signal's action refused while one waits for a person: the approval stands
        decision, outcome = n, None
        if n.status in SETTLING:
            approval = None
    decision = decision or next((n for n in notices if n.event not in ("resolved", "storm")), notices[0])
    state = IncidentState(notices[0], notices[-1], decision, outcome, approval, resolved, storm, "")
    return _with_stage(state, now)


def _with_stage(state: IncidentState, now: datetime | None) -> IncidentState:
    from dataclasses import replace

    n = state.governing
    if state.storm is not None:
        stage = "storm"
    elif state.resolved is not None:
        stage = "resolved"
    elif state.approval is not None:
        expired = state.approval.expires is not None and now is not None and now >= state.approval.expires
        stage = "approval-expired" if expired else "awaiting-approval"
    elif n.rule == "approval" and "expired" in n.reason and n.status == "skipped":
        stage = "approval-expired"
    elif n.action == "none" or n.status in QUIET:
        stage = "noop"
    elif n.status == "planned":
        stage = "observe" if n.mode == "observe" else "planned"
    elif n.status in ("started", "succeeded", "failed", "skipped"):
        stage = n.status
    elif n.status == "awaiting-approval":  # asked, but this run has no approvals to link
        stage = "awaiting-approval"
    else:
        stage = "noop"
    return replace(state, stage=stage)
