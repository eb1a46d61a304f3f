"""The brakes' settings: what slows or stops automation, with safe defaults, from policy.yaml.

Pure data and arithmetic; the ledger counts and the pipeline applies them (pipeline/safety.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .durations import parse_duration
from .errors import PolicyError
from .validation import check
from .vocabulary import MODES

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "cooldown": {"type": "string"},
        "attempts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"count": {"type": "integer", "minimum": 1}, "within": {"type": "string"}},
        },
        "in_flight": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "per_subscription": {"type": "integer", "minimum": 1},
                "per_scale_set_share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            },
        },
        "hourly_writes_per_subscription": {"type": "integer", "minimum": 1},
        "storm": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scale_set_share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "vms_per_region": {"type": "integer", "minimum": 1},
                "window": {"type": "string"},
                "cooldown": {"type": "string"},
            },
        },
    },
}

TAGS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"mode": {"type": "string", "minLength": 1}},
}


@dataclass(frozen=True)
class Brakes:
    cooldown: timedelta = timedelta(hours=6)  # after a remediation on a resource
    attempts: int = 2  # remediations on one resource within `attempts_within`, then a person
    attempts_within: timedelta = timedelta(hours=24)
    in_flight_per_subscription: int = 5
    in_flight_scale_set_share: float = 0.05  # of capacity, at least one
    hourly_writes_per_subscription: int = 30
    storm_scale_set_share: float = 0.30
    storm_vms_per_region: int = 10
    storm_window: timedelta = timedelta(minutes=15)
    storm_cooldown: timedelta = timedelta(minutes=30)  # under the threshold this long to resume

    def in_flight_for_scale_set(self, capacity: int) -> int:
        return max(1, math.floor(capacity * self.in_flight_scale_set_share))


def parse_brakes(section: Mapping[str, Any] | None, where: str = "policy: brakes", checked_in_tests: bool = False) -> Brakes:
    section = section or {}
    if not checked_in_tests:
        check(section, SCHEMA, PolicyError, where)
    defaults = Brakes()
    attempts = section.get("attempts") or {}
    in_flight = section.get("in_flight") or {}
    storm = section.get("storm") or {}

    def duration(value: Any, default: timedelta, name: str) -> timedelta:
        return parse_duration(value, f"{where}: {name}") if value is not None else default

    return Brakes(
        cooldown=duration(section.get("cooldown"), defaults.cooldown, "cooldown"),
        attempts=attempts.get("count", defaults.attempts),
        attempts_within=duration(attempts.get("within"), defaults.attempts_within, "attempts.within"),
        in_flight_per_subscription=in_flight.get("per_subscription", defaults.in_flight_per_subscription),
        in_flight_scale_set_share=in_flight.get("per_scale_set_share", defaults.in_flight_scale_set_share),
        hourly_writes_per_subscription=section.get("hourly_writes_per_subscription", defaults.hourly_writes_per_subscription),
        storm_scale_set_share=storm.get("scale_set_share", defaults.storm_scale_set_share),
        storm_vms_per_region=storm.get("vms_per_region", defaults.storm_vms_per_region),
        storm_window=duration(storm.get("window"), defaults.storm_window, "storm.window"),
        storm_cooldown=duration(storm.get("cooldown"), defaults.storm_cooldown, "storm.cooldown"),
    )


def parse_mode_tag(section: Mapping[str, Any] | None, where: str = "policy: tags", checked_in_tests: bool = False) -> str:
    if not checked_in_tests:
        check(section or {}, TAGS_SCHEMA, PolicyError, where)
    tag: str = (section or {}).get("mode", "responder-mode")  # a string: TAGS_SCHEMA says so
    return tag


def effective_mode(rule_mode: str, tag: str | None, may_raise_to: str | None, ceiling: str | None = None,
                   paused: bool = False) -> tuple[str, str]:
    """The mode after a resource's `responder-mode` tag: it may lower the rule's mode (or turn
    it `off`), and raise it only up to what the rule allows, never above `ceiling`
    (RESPONDER_MODE, when set) and not at all while automation is paused. A value the app does
    not understand fails closed: `off`. Returns (mode or 'off', why)."""
    if tag is None:
        return rule_mode, ""
    wanted = tag.strip().lower()
    if wanted == "off":
        return "off", "the resource's responder-mode tag is off"
    if wanted not in MODES:
        return "off", (f"the resource's responder-mode tag value {tag!r} is not off, observe, approve or auto; "
                       "a value the app does not understand means off")
    rank = MODES.index
    if rank(wanted) <= rank(rule_mode):
        return wanted, f"the resource's responder-mode tag lowers the mode to {wanted}" if wanted != rule_mode else ""
    if paused:
        return rule_mode, f"the responder-mode tag asks for {wanted}; nothing raises a mode while automation is paused"
    allowed = may_raise_to if may_raise_to in MODES else rule_mode
    top = max(rank(allowed), rank(rule_mode))
    if ceiling in MODES:  # RESPONDER_MODE: no tag lifts a rule above it
        top = max(min(top, rank(ceiling)), rank(rule_mode))
    granted = MODES[min(rank(wanted), top)]
    if granted == rule_mode:
        limit = (f"RESPONDER_MODE={ceiling} is the ceiling" if ceiling in MODES and rank(ceiling) < rank(wanted)
                 else "the policy does not let a tag raise this rule")
        return rule_mode, f"the responder-mode tag asks for {wanted}; {limit}"
    return granted, f"the resource's responder-mode tag raises the mode to {granted}, as the policy allows"
