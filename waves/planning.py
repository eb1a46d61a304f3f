"""Planning a wave, pure: which wave a VM joins, its update-domain group, when its self-service
window is open, which group goes next, and the sentence a person reads when a VM is queued.

A wave is per scope: a subscription and region (when the region is known); a scale set's
instances form their own wave, since their update domains are the scale set's, not the region's.
Members are grouped by update domain; a member whose update domain is unknown forms a group of
its own, after the numbered ones, so it is never maintained beside another group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arm import ResourceId

UNKNOWN = "unknown"  # the group of members whose update domain is not known

# Member states. A member moves forward only by conditional updates (ledger/sqlite/waves.py).
PENDING = "pending"  # queued, waiting for its group's turn and its windows
STARTING = "starting"  # claimed by one worker, which is verifying and starting it now
RUNNING = "running"  # maintenance started; its operation is followed by the remediation tick
RECOVERING = "recovering"  # maintenance succeeded; waiting for Resource Health to show it Available
DONE = "done"  # maintained and Available again
SKIPPED = "skipped"  # left to Azure (excluded, window closed, refused, wave stopped)
FAILED = "failed"  # maintenance failed: the wave stops
IN_FLIGHT = (STARTING, RUNNING, RECOVERING)
UNFINISHED = (PENDING, *IN_FLIGHT)


def scope_of(resource_id: str, facts: Mapping[str, Any]) -> str:
    """subscription[:region][:scale set]: the scope one wave covers."""
    rid = ResourceId.parse(resource_id)
    region = str(facts.get("location") or "").strip().lower().replace(" ", "")
    scope = f"{rid.subscription.lower()}:{region}" if region else rid.subscription.lower()
    if rid.scale_set_name is not None:
        scope += f":{(rid.resource_group or '?').lower()}/{rid.scale_set_name.lower()}"
    return scope


def group_of(update_domain: Any) -> str:
    """'0', '1', ... or 'unknown'."""
    if update_domain is None or update_domain == "":
        return UNKNOWN
    try:
        return str(int(update_domain))
    except (TypeError, ValueError):
        return UNKNOWN


def group_order(group: str) -> tuple[int, int]:
    return (1, 0) if group == UNKNOWN else (0, int(group))


def group_name(group: str) -> str:
    return "update domain unknown" if group == UNKNOWN else f"update domain {group}"


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SelfServiceWindow:
    """When the customer may start maintenance (preMaintenanceWindowStart/EndTime)."""

    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, facts: Mapping[str, Any]) -> SelfServiceWindow:
        return cls(parse_time(facts.get("window_start")), parse_time(facts.get("window_end")))

    def open(self, now: datetime) -> bool:
        return bool(self.start and self.end and self.start <= now <= self.end)

    def closed(self, now: datetime) -> bool:
        """Closed for good: its end has passed (or Azure gave no window at all)."""
        return self.end is None or now > self.end


def span(groups: Iterable[str]) -> str:
    """'0..2', '0', '0..1 and unknown': the groups a wave has, for a person."""
    known = sorted({int(g) for g in groups if g != UNKNOWN})
    text = (f"{known[0]}..{known[-1]}" if len(known) > 1 else str(known[0])) if known else ""
    if UNKNOWN in set(groups):
        text = f"{text} and unknown" if text else "unknown"
    return text


def earlier_groups(group: str, groups: Iterable[str]) -> list[str]:
    return sorted({g for g in groups if group_order(g) < group_order(group)}, key=group_order)


def plan_reason(wave_id: str, group: str, groups: Iterable[str], window_text: str, pause_text: str,
                self_service: SelfServiceWindow) -> str:
    """What a queued VM waits for, in one sentence."""
    groups = set(groups) | {group}
    before = earlier_groups(group, groups)
    until = f" (until {self_service.end.strftime('%Y-%m-%d %H:%M')}Z)" if self_service.end else ""
    where = f"inside the self-service window{until} and the maintenance window ({window_text})"
    of = f" of {span(groups)}" if len(groups) > 1 else ""  # never "update domain 0 of 0"
    queued = f"queued in wave {wave_id}, {group_name(group)}{of}"
    if before:
        after = " and ".join(group_name(g) for g in before[-1:])
        return f"{queued}; starts when {after} has finished and {pause_text} have passed, {where}"
    return f"{queued}; starts {where}"


def next_group(candidates: Iterable[str]) -> str | None:
    """The group to start next among those with a member that may start now: the lowest."""
    ordered = sorted(set(candidates), key=group_order)
    return ordered[0] if ordered else None


# -- what a refusal at a member's turn means -----------------------------------------------------

# Remediation.act answers "skipped" for reasons that pass (a brake holding for now, a read that
# failed, an operation already under way) and for reasons that last (the maintenance is done,
# the window closed, the mode tag says off). The first keep the member queued; the second end
# its turn. The brakes' reasons start with the brake's name (pipeline/safety.py).
WAIT_PREFIXES = (
    "automation is paused",
    "storm breaker:",
    "cooldown:",
    "in-flight cap:",
    "hourly write cap:",
    "not acting: the live state could not be verified",
)
WAIT_PHRASES = ("an operation is already under way", "self-service window not open yet")


def refusal_passes(reason: str) -> bool:
    """True when a refused start should be tried again on a later tick."""
    text = reason.strip().lower()
    return text.startswith(WAIT_PREFIXES) or any(p in text for p in WAIT_PHRASES)
