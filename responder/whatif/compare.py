"""What would have been different: each re-decided signal against the decision recorded for it,
and the totals both give (brakes, storms, ARM writes per subscription and hour, messages)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.notifications import EVENT_BY_STATUS

from .simulate import UNKNOWN, Replayed, brake_names

# Statuses that take the action (now, later with a person, or as would-act in observe mode).
TAKING = ("planned", "awaiting-approval", "started", "succeeded", "failed")
WRITES = ("started", "failed")  # an ARM write was sent


@dataclass(frozen=True)
class Outcome:
    """One decision as compared: what, how, what became of it, which brakes stopped it."""

    rule: str
    action: str
    mode: str
    status: str
    brakes: tuple[str, ...] = ()
    reason: str = ""

    @property
    def takes(self) -> bool:
        return self.action != "none" and self.status in TAKING

    def key(self) -> tuple[str, str, str, tuple[str, ...]]:
        # Doing nothing is the same in every mode: only an action's mode is a difference.
        return self.action, self.mode if self.action != "none" else "", self.status, self.brakes

    def text(self) -> str:
        if self.action == "none":
            return f"none ({self.status})"
        return f"{self.action} {self.mode} {self.status}"


@dataclass(frozen=True)
class Change:
    """A signal decided differently: `kind` says how (new action, no longer taken, now taken,
    mode change, status change, brakes, unknown)."""

    kind: str
    signal_id: int
    received: datetime
    resource_id: str
    signal: str
    before: Outcome
    after: Outcome

    @property
    def rule(self) -> str:
        return self.after.rule or self.before.rule

    def as_dict(self) -> dict[str, Any]:
        return {"type": "decision", "change": self.kind, "rule": self.rule, "signal_id": self.signal_id,
                "received": self.received.isoformat(), "resource_id": self.resource_id, "signal": self.signal,
                "before": _outcome_dict(self.before), "after": _outcome_dict(self.after)}


@dataclass
class Report:
    signals: int = 0
    changes: list[Change] = field(default_factory=list)
    brakes: dict[str, tuple[int, int]] = field(default_factory=dict)  # brake -> (recorded, re-decided) refusals
    storms: dict[str, tuple[int, int]] = field(default_factory=dict)  # scope -> (recorded, re-decided) trips
    writes: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (subscription, hour) -> counts
    hourly_cap: int = 0
    messages: dict[str, tuple[int, int]] = field(default_factory=dict)  # notice event -> counts
    unknown: int = 0

    @property
    def acts_differently(self) -> bool:
        return bool(self.changes)

    def lines(self) -> Iterable[dict[str, Any]]:
        """The report as JSON objects, one per line: each change, then the totals that differ."""
        for change in self.changes:
            yield change.as_dict()
        for brake, (before, after) in sorted(self.brakes.items()):
            if before != after:
                yield {"type": "brake", "brake": brake, "recorded": before, "would": after}
        for scope, (before, after) in sorted(self.storms.items()):
            if before != after:
                yield {"type": "storm", "scope": scope, "recorded": before, "would": after}
        for (subscription, hour), (before, after) in sorted(self.writes.items()):
            if before != after:
                yield {"type": "writes", "subscription": subscription, "hour": hour, "recorded": before, "would": after,
                       "cap": self.hourly_cap}
        for event, (before, after) in sorted(self.messages.items()):
            if before != after:
                yield {"type": "messages", "event": event, "recorded": before, "would": after}
        yield {"type": "summary", "signals": self.signals, "changed": len(self.changes), "unknown": self.unknown,
               "acts_differently": self.acts_differently}


def recorded_outcome(row: Mapping[str, Any] | None) -> Outcome:
    if row is None:
        return Outcome("", "none", "", "not recorded")
    return Outcome(row.get("rule") or "", row["action"], row["mode"], row["status"],
                   brake_names(json.loads(row.get("brakes") or "[]")), row.get("reason") or "")


def replayed_outcome(replayed: Replayed) -> Outcome:
    d = replayed.decision
    return Outcome(d.rule, d.action, d.mode, d.status, brake_names(d.brakes), d.reason)


def kind_of(before: Outcome, after: Outcome) -> str | None:
    if before.key() == after.key():
        return None
    if after.status == UNKNOWN:
        return "unknown"
    if after.action not in ("none", before.action):
        return "new action"  # taken, or refused by a brake: its status and brakes say which
    if before.takes and not after.takes:
        return "no longer taken"
    if after.takes and not before.takes:
        return "now taken"  # the same action, refused when it was recorded
    if before.action == after.action and before.mode != after.mode:
        return "mode change"
    if before.status != after.status:
        return "status change"
    return "brakes"


def notice_event(status: str, opened: bool, resolved: bool, storm: bool) -> str | None:
    """The notice a decision would be told with (pipeline/notifications.py), or None."""
    event = EVENT_BY_STATUS.get(status)
    if event is None:
        return None
    if resolved:
        return "resolved"
    if storm:
        return "storm"
    if opened and status != "awaiting-approval":
        return "opened"
    return event


def compare(signals: Sequence[Mapping[str, Any]], recorded: Mapping[int, Mapping[str, Any]], replayed: list[Replayed],
            hourly_cap: int) -> Report:
    report = Report(signals=len(signals), hourly_cap=hourly_cap)
    brakes: dict[str, list[int]] = {}
    storms: dict[str, list[int]] = {}
    writes: dict[tuple[str, str], list[int]] = {}
    messages: dict[str, list[int]] = {}
    for row, again in zip(signals, replayed, strict=True):
        before, after = recorded_outcome(recorded.get(int(row["id"]))), replayed_outcome(again)
        kind = kind_of(before, after)
        if kind is not None:
            report.changes.append(Change(kind, again.signal_id, again.received, again.resource_id, row["name"], before, after))
        report.unknown += after.status == UNKNOWN
        if after.status == UNKNOWN:
            continue  # what it would have written or told is not known: left out of both sides' totals
        resolved = bool(json.loads(row.get("facts") or "{}").get("resolved"))
        tripped_before = _tripped(recorded.get(int(row["id"])))
        hour = again.received.strftime("%Y-%m-%dT%H:00Z")
        subscription = _subscription(again.resource_id)
        for side, outcome, tripped in ((0, before, tripped_before), (1, after, again.storm_tripped)):
            for brake in outcome.brakes:
                brakes.setdefault(brake, [0, 0])[side] += outcome.status == "skipped"
            if tripped:
                storms.setdefault(tripped, [0, 0])[side] += 1
            if outcome.status in WRITES:
                writes.setdefault((subscription, hour), [0, 0])[side] += 1
            event = notice_event(outcome.status, again.opened, resolved, bool(tripped))
            if event is not None and (side == 1 or row.get("incident_id")):
                messages.setdefault(event, [0, 0])[side] += 1
    report.brakes = {k: (v[0], v[1]) for k, v in brakes.items()}
    report.storms = {k: (v[0], v[1]) for k, v in storms.items()}
    report.writes = {k: (v[0], v[1]) for k, v in writes.items()}
    report.messages = {k: (v[0], v[1]) for k, v in messages.items()}
    return report


def _tripped(row: Mapping[str, Any] | None) -> str | None:
    if not row:
        return None
    reading = json.loads(row.get("reading") or "{}")
    seen = reading.get("brakes") or {}
    return (seen.get("storm") or {}).get("scope") if seen.get("storm_tripped") else None


def _subscription(resource_id: str) -> str:
    from arm import ResourceId

    rid = ResourceId.try_parse(resource_id)
    return rid.subscription.lower() if rid is not None else "?"


def _outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {"rule": outcome.rule, "action": outcome.action, "mode": outcome.mode, "status": outcome.status,
            "brakes": list(outcome.brakes), "reason": outcome.reason}
