"""The vocabulary of a policy rule's `when`: one small function per key.

A matcher gets the rule's value, the signal, its classification and a view of history, and
says whether it matches. A rule matches when all of its keys do. The policy schema is built
from this table, so a key that is not here fails the load.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Callable, Protocol

from .catalog import Classification
from .durations import parse_duration
from .errors import RulesError
from .signals import Signal
from .vocabulary import INITIATORS, KINDS, RESOURCE_TYPES


class History(Protocol):
    def count_occurrences(self, resource_key: str, name: str, within: timedelta) -> int:
        """Distinct occurrences (occurred times) of this name on this resource within `within`
        before now, and not after now: a second delivery of one occurrence, an event dated in
        the future or one delivered days late is not a repeat."""


Matcher = Callable[[Any, Signal, Classification, History], bool]


def _one_of(value: Any) -> frozenset[str]:
    values = tuple(value) if isinstance(value, list) else (value,)
    try:
        return _lowered(values)
    except TypeError:  # an unhashable value: the schema refuses those, so this is only defence
        return frozenset(str(v).lower() for v in values)


@lru_cache(maxsize=4096)
def _lowered(values: tuple) -> frozenset[str]:
    """A rule's values, lower-cased once: every signal is matched against every rule."""
    return frozenset(str(v).lower() for v in values)


def _field(getter: Callable[[Signal, Classification], Any]) -> Matcher:
    def match(value: Any, signal: Signal, classification: Classification, history: History) -> bool:
        return str(getter(signal, classification) or "").lower() in _one_of(value)

    return match


def _resource_type(value: Any, signal: Signal, classification: Classification, history: History) -> bool:
    wanted = {RESOURCE_TYPES[v] for v in _one_of(value)}
    return signal.resource_type.lower() in wanted


def _annotation(value: Any, signal: Signal, classification: Classification, history: History) -> bool:
    return signal.kind == "annotation" and signal.name.lower() in _one_of(value)


def _repeat(value: Any, signal: Signal, classification: Classification, history: History) -> bool:
    within = parse_duration(value["within"], "when.repeat.within")
    return history.count_occurrences(signal.resource_key, signal.name, within) >= int(value["count"])


MATCHERS: dict[str, Matcher] = {
    "kind": _field(lambda s, c: s.kind),
    "name": _field(lambda s, c: s.name),
    "annotation": _annotation,
    "category": _field(lambda s, c: c.category),
    "initiator": _field(lambda s, c: c.initiator),
    "impact": _field(lambda s, c: c.impact),
    "resource_type": _resource_type,
    "incident_type": _field(lambda s, c: s.details.get("incident_type")),
    "stage": _field(lambda s, c: s.details.get("stage")),
    "event_status": _field(lambda s, c: s.details.get("event_status")),
    "known": lambda value, s, c, h: c.known is bool(value),
    "repeat": _repeat,
}

_STRINGS = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}

def kinds_matched(when: dict) -> frozenset[str] | None:
    """The signal kinds a rule's `when` can match, read off the matchers that test the kind
    (`annotation` matches annotations only, `kind` its values); None: any kind. Lets a policy
    try each signal against the rules that can match it (rules/policy.py)."""
    if "annotation" in when:
        return frozenset({"annotation"})
    if "kind" in when:
        return _one_of(when["kind"])
    return None


# JSON schema of each matcher's value; the policy schema is assembled from these.
MATCHER_SCHEMAS: dict[str, dict] = {
    "kind": {"anyOf": [{"enum": list(KINDS)}, {"type": "array", "items": {"enum": list(KINDS)}, "minItems": 1}]},
    "name": _STRINGS,
    "annotation": _STRINGS,
    "category": _STRINGS,
    "initiator": {"anyOf": [{"enum": list(INITIATORS)}, {"type": "array", "items": {"enum": list(INITIATORS)}}]},
    "impact": _STRINGS,
    "resource_type": {
        "anyOf": [
            {"enum": list(RESOURCE_TYPES)},
            {"type": "array", "items": {"enum": list(RESOURCE_TYPES)}, "minItems": 1},
        ]
    },
    "incident_type": _STRINGS,
    "stage": _STRINGS,
    "event_status": _STRINGS,
    "known": {"type": "boolean"},
    "repeat": {
        "type": "object",
        "additionalProperties": False,
        "required": ["count", "within"],
        "properties": {"count": {"type": "integer", "minimum": 2}, "within": {"type": "string"}},
    },
}

# Checked on import, not asserted: `python -O` strips asserts, and a matcher without a schema
# (or the reverse) would make the policy schema accept a key nothing can match.
if MATCHERS.keys() != MATCHER_SCHEMAS.keys():
    raise RulesError(f"matchers and their schemas differ: {sorted(MATCHERS.keys() ^ MATCHER_SCHEMAS.keys())}")
