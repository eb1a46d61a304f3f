"""Decide: from a signal, its classification and history, to an action, a mode and a reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from .catalog import Catalog, Classification
from .evidence import DEFAULT_MAX_EVENT_AGE
from .matchers import History
from .policy import Policy
from .signals import Signal

# Times a signal's details may carry (intake/deadlines.py) that a decision keeps as facts, for
# messages and for whoever plans the action: by when Azure wants it done, and the impact window.
DEADLINE_FACTS = ("redeploy_deadline", "impact_start", "impact_end")

# What each mode turns an action into before anything is verified or started.
_STATUS_BY_MODE = {"observe": "planned", "approve": "awaiting-approval", "auto": "planned"}


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # one of vocabulary.ACTIONS
    mode: str  # observe | approve | auto
    status: str  # one of vocabulary.STATUSES
    reason: str  # for a person
    rule: str = ""  # the policy rule that decided, or "catalog" for the default
    params: Mapping[str, Any] = field(default_factory=dict)
    notify: tuple[str, ...] = ()
    brakes: tuple[str, ...] = ()  # brakes that applied, each a readable sentence
    tag_may_raise_to: str | None = None  # from the rule: how far a responder-mode tag may raise the mode
    facts: Mapping[str, Any] = field(default_factory=dict)  # what was read of the resource (tags, location, ...)
    evidence: tuple[str, ...] = ()  # what the action needs in the live state (rules/evidence.py); () default
    max_event_age: timedelta = DEFAULT_MAX_EVENT_AGE
    repeat: Mapping[str, Any] | None = None  # the rule's `when.repeat`, when it is a repeat rule
    # What re-deciding it later needs (responder/whatif), recorded with it: the live state the gate
    # read and whether the claim held, the brakes' counters it consulted, how the start went.
    reading: Mapping[str, Any] = field(default_factory=dict)

    def but(self, **changes: Any) -> Decision:
        return replace(self, **changes)


# A Table Storage string holds 32K UTF-16 characters.
READING_LIMIT = 30_000


def recorded_reading(reading: Mapping[str, Any]) -> str:
    """A decision's reading as the ledger stores it (JSON). The verification's own facts are left
    out when they would not fit (a scale set's instance views); what the gate read and the
    verdict are always kept."""
    import json

    text = json.dumps(reading, default=str, sort_keys=True)
    if len(text) > READING_LIMIT and isinstance(reading.get("verified"), Mapping):
        verified = {k: v for k, v in reading["verified"].items() if k != "facts"}
        text = json.dumps({**reading, "verified": {**verified, "facts_left_out": True}}, default=str, sort_keys=True)
    if len(text) > READING_LIMIT:
        text = json.dumps({"left_out": f"the reading was {len(text)} characters, more than {READING_LIMIT}"})
    return text


class Engine:
    def __init__(self, catalog: Catalog, policy: Policy, mode_override: str | None = None):
        self.catalog = catalog
        self.policy = policy
        self.mode_override = mode_override

    def classify(self, signal: Signal) -> Classification:
        return self.catalog.classify(signal)

    def decide(self, signal: Signal, classification: Classification, history: History) -> Decision:
        if signal.resolved:
            return Decision(
                action="none",
                mode=self._mode(self.policy.default_mode),
                status="noop",
                reason=f"{signal.name}: the condition is over; the incident is resolved",
                rule="resolution",
                notify=self.policy.default_notify,
            )
        rule = self.policy.first_match(signal, classification, history)
        if rule is not None:
            action, mode, name = rule.action, rule.mode, rule.name
            reason = rule.reason or classification.meaning
            params, notify = rule.params, rule.notify or self.policy.default_notify
            may_raise = rule.tag_may_raise_to
            evidence, max_age, repeat = rule.evidence, rule.max_event_age, rule.when.get("repeat")
        else:
            action, mode, name = classification.default_action, self.policy.default_mode, "catalog"
            reason = ("catalog default: " if classification.known else "") + classification.meaning
            params, notify = {}, self.policy.default_notify
            may_raise = None
            evidence, max_age, repeat = (), DEFAULT_MAX_EVENT_AGE, None
        mode = self._mode(mode)
        status = "noop" if action == "none" else _STATUS_BY_MODE[mode]
        facts = {key: signal.details[key] for key in DEADLINE_FACTS if signal.details.get(key)}
        return Decision(action=action, mode=mode, status=status, reason=reason, rule=name, params=params, notify=notify,
                        tag_may_raise_to=may_raise, evidence=evidence, max_event_age=max_age, repeat=repeat,
                        facts=facts)

    def _mode(self, mode: str) -> str:
        return self.mode_override or mode
