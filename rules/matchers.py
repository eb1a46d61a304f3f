"""The vocabulary of a policy rule's `when`: one small function per key.

A matcher gets the rule's value, the signal, its classification and a view of history, and
says whether it matches. A rule matches when all of its keys do. The policy schema is built
from this table, so a key that is not here fails the load.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol

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
def _lowered(values: tuple[Any, ...]) -> frozenset[str]:
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
    return signal.kind == "annotation" and name_test(_hashable(value))(signal.name)


# Annotation names by pattern, so a rule follows a family Azure grows (`*LiveMigrationEligible`)
# without naming each member. An item is an exact name; a string with a glob character (`*`, `?`,
# `[`); or `{glob: ...}` / `{regex: ...}` (a regex must match the whole name). Case is ignored.
GLOB_CHARACTERS = frozenset("*?[")


def _hashable(value: Any) -> tuple[Any, ...]:
    """A rule's `annotation` value as a tuple of items, each a name or a (glob|regex, text) pair:
    the key of name_test's cache (YAML gives lists and dicts)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return tuple(item if isinstance(item, (str, tuple)) else next(iter(dict(item).items())) for item in items)


def name_patterns(value: Any) -> tuple[frozenset[str], tuple[tuple[str, re.Pattern[str]], ...]]:
    """The exact names (lower-cased) and the compiled patterns (each with how a person wrote it)
    of a rule's `annotation` value; a pattern that does not compile raises RulesError naming it."""
    exact: set[str] = set()
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for item in _hashable(value):
        if isinstance(item, str) and not (GLOB_CHARACTERS & set(item)):
            exact.add(item.lower())
            continue
        kind, text = ("glob", item) if isinstance(item, str) else item
        source = fnmatch.translate(text) if kind == "glob" else rf"(?:{text})\Z"
        try:
            patterns.append((f"{kind} {text!r}", re.compile(source, re.IGNORECASE)))
        except re.error as exc:
            raise RulesError(f"{kind} {text!r} is not a valid pattern: {exc}") from None
    return frozenset(exact), tuple(patterns)


@lru_cache(maxsize=1024)
def name_test(value: Any) -> Callable[[str], bool]:
    """A test of a name against a rule's (hashable) `annotation` value, built once per value."""
    exact, patterns = name_patterns(value)
    compiled = tuple(p for _, p in patterns)

    def test(name: str) -> bool:
        return name.lower() in exact or any(p.match(name) for p in compiled)

    return test


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
_PATTERN = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {"glob": {"type": "string", "minLength": 1}, "regex": {"type": "string", "minLength": 1}},
}
_NAMES = {"anyOf": [{"type": "string", "minLength": 1}, _PATTERN,
                    {"type": "array", "items": {"anyOf": [{"type": "string", "minLength": 1}, _PATTERN]}, "minItems": 1}]}

def kinds_matched(when: Mapping[str, Any]) -> frozenset[str] | None:
    """The signal kinds a rule's `when` can match, read off the matchers that test the kind
    (`annotation` matches annotations only, `kind` its values); None: any kind. Lets a policy
    try each signal against the rules that can match it (rules/policy.py)."""
    if "annotation" in when:
        return frozenset({"annotation"})
    if "kind" in when:
        return _one_of(when["kind"])
    return None


# JSON schema of each matcher's value; the policy schema is assembled from these.
MATCHER_SCHEMAS: dict[str, dict[str, Any]] = {
    "kind": {"anyOf": [{"enum": list(KINDS)}, {"type": "array", "items": {"enum": list(KINDS)}, "minItems": 1}]},
    "name": _STRINGS,
    "annotation": _NAMES,
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
