"""What a signal claims, and the evidence of it an action needs in the live state.

An event is a hint: the live state is the truth. But "the machine looks ill" is not enough
either: a three-day-old provisioning time-out must not reimage an instance that provisioned
fine and is degraded for another reason. So each rule states the evidence its action needs
(`evidence:` in policy.yaml, or the default below for its action and signal), the gate reads
the live state, and the decision's reason names the evidence found or missing.

Pure: the facts come from actions/ (what verification read), the judgement is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Resource Health's reasons for an Unavailable or Degraded that the owner caused, not the platform
# (availabilityStatuses' `reasonType` and the events' `context`/`category`).
OWNER_REASONS = ("userinitiated", "user initiated", "customerinitiated", "customer initiated", "customer")

# Provisioning error codes of an instance that never finished provisioning in time
# (ProvisioningState/failed/<code> in an instance view).
TIMEOUT_CODES = ("osprovisioningtimedout", "provisioningtimedout", "vmstarttimedout", "osprovisioningclienterror",
                 "vmagentstatuscommunicationerror")

DEFAULT_MAX_EVENT_AGE = timedelta(hours=6)
# An event dated further ahead than this is not believed: clocks differ by seconds, not minutes.
FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Finding:
    """One piece of evidence looked for: found or not, and what the live state said."""

    name: str
    found: bool
    said: str


def _state(facts: Mapping[str, Any]) -> str:
    return str(facts.get("availability_state") or "").lower()


def _owner_caused(facts: Mapping[str, Any]) -> bool:
    reason = str(facts.get("availability_reason_type") or "").lower()
    return any(word == reason or word in reason for word in OWNER_REASONS)


def _annotation_active(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    name = claim.get("annotation") or ""
    if not name:
        return Finding("annotation-active", False, "the signal named no annotation")
    if facts.get("annotation_active"):
        return Finding("annotation-active", True, f"{name} is still active on it")
    return Finding("annotation-active", False, f"{name} is no longer active on it")


def _platform_unhealthy(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    state = _state(facts)
    shown = facts.get("availability_state") or "Unknown"
    if state not in ("unavailable", "degraded"):
        return Finding("platform-unhealthy", False, f"Resource Health shows it {shown}")
    if _owner_caused(facts):
        return Finding("platform-unhealthy", False,
                       f"Resource Health shows it {shown} for a reason its owner caused "
                       f"({facts.get('availability_reason_type')})")
    return Finding("platform-unhealthy", True, f"Resource Health shows it {shown} for a platform cause")


def _platform_degraded(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    shown = facts.get("availability_state") or "Unknown"
    if _state(facts) != "degraded" or _owner_caused(facts):
        return Finding("platform-degraded", False, f"Resource Health shows it {shown}, not Degraded for a platform cause")
    return Finding("platform-degraded", True, "Resource Health shows it Degraded for a platform cause")


def _provisioning_timed_out(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    state = str(facts.get("provisioning_state") or "").lower()
    code = str(facts.get("provisioning_code") or "").lower()
    if not code and "/" in state:  # "failed/osprovisioningtimedout", as the status string had it
        state, code = state.split("/", 1)
    shown = f"{state}/{code}" if code else (state or "unknown")
    if state == "failed" and any(timeout in code for timeout in TIMEOUT_CODES):
        return Finding("provisioning-timed-out", True, f"its provisioning state is {shown}")
    return Finding("provisioning-timed-out", False, f"its provisioning state is {shown}, not failed with a time-out")


def _action_state(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    # The executor's own check (a window open, repairs suspended, instances failed) is the evidence.
    return Finding("action-state", True, "the action's own check of the live state")


def _repeat_occurrences(facts: Mapping[str, Any], claim: Mapping[str, Any]) -> Finding:
    seen, wanted = int(claim.get("occurrences") or 0), int(claim.get("repeat_count") or 0)
    if wanted and seen >= wanted:
        return Finding("repeat-occurrences", True, f"{seen} occurrences of {claim.get('annotation')} within the rule's window")
    return Finding("repeat-occurrences", False, f"{seen} occurrences within the rule's window, {wanted} needed")


EVIDENCE: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], Finding]] = {
    "annotation-active": _annotation_active,
    "platform-unhealthy": _platform_unhealthy,
    "platform-degraded": _platform_degraded,
    "provisioning-timed-out": _provisioning_timed_out,
    "repeat-occurrences": _repeat_occurrences,
    "action-state": _action_state,
}

# The evidence an action needs when its rule names none: any one of the list is enough.
MACHINE_ACTIONS = ("redeploy", "restart", "reimage")
_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "network": ("annotation-active", "platform-degraded"),  # Accelnet: the annotation, or still Degraded
    "provisioning": ("provisioning-timed-out",),
}


def default_evidence(action: str, kind: str, category: str) -> tuple[str, ...]:
    if action not in MACHINE_ACTIONS:
        return ("action-state",)
    if kind == "annotation":
        return _BY_CATEGORY.get(category, ("annotation-active", "platform-unhealthy"))
    return ("platform-unhealthy",)


def judge(evidence: tuple[str, ...], facts: Mapping[str, Any], claim: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether any of the evidence is in the live state, and a sentence naming what was found
    (or everything that was looked for and missing)."""
    findings = [EVIDENCE[name](facts, claim) for name in evidence]
    found = [f for f in findings if f.found]
    if found:
        if found[0].name == "action-state":  # the executor's own reason already says what it found
            return True, ""
        return True, f"{found[0].said} (evidence: {found[0].name})"
    missing = "; ".join(f"{f.said}" for f in findings)
    healthy = "already healthy: " if _state(facts) == "available" else ""
    return False, (f"{healthy}the live state does not show what the signal claims: {missing} "
                   f"(needs {' or '.join(evidence)})")
