"""The policy's `maintenance:` section: which VMs self-service maintenance waves leave to Azure,
when the owner allows maintenance to run, and how long to rest between update domains.

    maintenance:
      include_availability_sets: false     # Azure already maintains those one update domain at a time
      skip_tags: [short-lived, large-temp-disk, resized-often, uses-scheduled-events]
      window: {days: [Sat, Sun], start: "01:00", end: "05:00", time_zone: UTC}
      pause_between_update_domains: PT30M   # Azure itself waits 30 minutes

Pure: data and arithmetic, no I/O beyond the time-zone database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arm import short_name
from rules.durations import parse_duration
from rules.errors import PolicyError
from rules.validation import check

from .errors import WavePolicyError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # index = datetime.weekday()
DEFAULT_SKIP_TAGS = ("short-lived", "large-temp-disk", "resized-often", "uses-scheduled-events")
# A skip tag excludes a VM when its value says yes; a bare tag (empty value) is a yes too.
TRUE_VALUES = frozenset({"", "true", "yes", "y", "1", "on"})
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "include_availability_sets": {"type": "boolean"},
        "skip_tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
        "window": {
            "type": "object",
            "additionalProperties": False,
            "required": ["days", "start", "end"],
            "properties": {
                "days": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(DAYS)}},
                "start": {"type": "string"},
                "end": {"type": "string"},
                "time_zone": {"type": "string", "minLength": 1},
            },
        },
        "pause_between_update_domains": {"type": "string"},
    },
}


@dataclass(frozen=True)
class MaintenanceWindow:
    """The owner's own maintenance window: on `days`, from `start` to `end` local time in
    `time_zone`. An `end` at or before `start` crosses midnight: the window belongs to the
    day it starts on (Fri 22:00-02:00 runs into Saturday morning)."""

    days: tuple[str, ...] = ("Sat", "Sun")
    start: time = time(1, 0)
    end: time | None = time(5, 0)  # None: midnight at the end of the day ("24:00")
    time_zone: str = "UTC"

    @property
    def crosses_midnight(self) -> bool:
        return self.end is not None and self.end <= self.start

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.time_zone))
        day, clock = DAYS[local.weekday()], local.time().replace(tzinfo=None)
        if not self.crosses_midnight:
            return day in self.days and self.start <= clock and (self.end is None or clock < self.end)
        previous = DAYS[(local.weekday() - 1) % 7]
        return (day in self.days and clock >= self.start) or (previous in self.days and self.end is not None and clock < self.end)

    def next_opening(self, after: datetime) -> datetime | None:
        """The first moment at or after `after` inside the window (None: no day named)."""
        if self.contains(after):
            return after
        zone = ZoneInfo(self.time_zone)
        local = after.astimezone(zone)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if DAYS[day.weekday()] not in self.days:
                continue
            opening = datetime.combine(day, self.start, tzinfo=zone)
            if opening >= local:
                return opening.astimezone(after.tzinfo or UTC)
        return None

    def describe(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        days = "every day" if set(self.days) == set(DAYS) else ", ".join(d for d in DAYS if d in self.days)
        return f"{days} {self.start.strftime('%H:%M')}–{end} {self.time_zone}"


@dataclass(frozen=True)
class MaintenancePolicy:
    include_availability_sets: bool = False
    skip_tags: tuple[str, ...] = DEFAULT_SKIP_TAGS
    window: MaintenanceWindow = field(default_factory=MaintenanceWindow)
    pause_between_update_domains: timedelta = timedelta(minutes=30)

    def exclusion(self, facts: Mapping[str, Any]) -> str | None:
        """Why a VM is left to Azure instead of joining a wave, or None."""
        power = str(facts.get("power_state") or "").lower()
        if power in NOT_RUNNING:
            return (f"it is {power}: Azure refuses maintenance on a VM that is not running (409 OperationNotAllowed), "
                    "so it is left to Azure's own maintenance")
        if facts.get("auto_shutdown"):
            return (f"it is shut down every day at {facts['auto_shutdown']} by an auto-shutdown schedule: a VM stopped "
                    "every night is left to Azure's own maintenance")
        availability_set = facts.get("availability_set")
        if availability_set and not self.include_availability_sets:
            name = short_name(str(availability_set))
            return (f"in availability set {name}: Azure already maintains an availability set one update domain at a "
                    "time (policy maintenance.include_availability_sets is false)")
        tags = {str(k).lower(): str(v) for k, v in (facts.get("tags") or {}).items()}
        for tag in self.skip_tags:
            value = tags.get(tag.lower())
            if value is not None and value.strip().lower() in TRUE_VALUES:
                return f"tagged {tag}={value}: policy maintenance.skip_tags leaves such VMs to Azure's own maintenance"
        return None

    @property
    def action_params(self) -> dict[str, Any]:
        """Parameters for perform-maintenance's verification when a wave starts a member."""
        return {"availability_set_allowed": True} if self.include_availability_sets else {}

    @property
    def pause_text(self) -> str:
        minutes = int(self.pause_between_update_domains.total_seconds() // 60)
        return f"{minutes} min" if minutes < 120 or minutes % 60 else f"{minutes // 60} h"


# Power states in which a VM is not enrolled (the instance view's PowerState/<state>).
NOT_RUNNING = ("deallocated", "deallocating", "stopped", "stopping")


def _clock(value: str, where: str) -> time | None:
    text = str(value).strip()
    if not _CLOCK.match(text):
        raise WavePolicyError(f"{where}: {value!r} is not a time of day such as 01:00 (00:00 to 24:00)")
    return None if text == "24:00" else time(int(text[:2]), int(text[3:]))


def parse_maintenance(section: Mapping[str, Any] | None, where: str = "policy: maintenance",
                      checked_in_tests: bool = False) -> MaintenancePolicy:
    """Validate the `maintenance:` section and fill in the defaults; a mistake names its place.
    `checked_in_tests`: the section of a policy file rules/validation.py knows the tests checked."""
    section = section or {}
    if not checked_in_tests:
        check(section, SCHEMA, WavePolicyError, where)
    defaults = MaintenancePolicy()
    window = defaults.window
    if "window" in section:
        raw = section["window"]
        zone = raw.get("time_zone", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise WavePolicyError(f"{where}: window/time_zone: {zone!r} is not a time zone (use names such as "
                                  "UTC or Europe/Amsterdam)") from exc
        start = _clock(raw["start"], f"{where}: window/start")
        if start is None:
            raise WavePolicyError(f"{where}: window/start: 24:00 is the end of a day, not a start")
        end = _clock(raw["end"], f"{where}: window/end")
        if end == start:
            raise WavePolicyError(f"{where}: window: start and end are both {raw['start']}: the window would be empty")
        window = MaintenanceWindow(days=tuple(raw["days"]), start=start, end=end, time_zone=zone)
    pause = defaults.pause_between_update_domains
    if "pause_between_update_domains" in section:
        try:
            pause = parse_duration(section["pause_between_update_domains"], f"{where}: pause_between_update_domains")
        except PolicyError as exc:
            raise WavePolicyError(str(exc)) from exc
    return MaintenancePolicy(
        include_availability_sets=section.get("include_availability_sets", defaults.include_availability_sets),
        skip_tags=tuple(section.get("skip_tags", defaults.skip_tags)),
        window=window,
        pause_between_update_domains=pause,
    )
