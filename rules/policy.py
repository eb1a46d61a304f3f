"""The policy: which action, in which mode, for which signals. Data in policy.yaml, checked here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from .approvers import approver_entries
from .brakes import Brakes, parse_brakes, parse_mode_tag
from .catalog import EXTENSION_SCHEMA, Catalog, Classification
from .documents import parse_document, read_file
from .durations import parse_duration
from .errors import PolicyError, RulesError
from .evidence import DEFAULT_MAX_EVENT_AGE, EVIDENCE
from .matchers import MATCHER_SCHEMAS, MATCHERS, History, kinds_matched, name_patterns
from .ownership import LeaveAlone, parse_leave_alone
from .signals import Signal
from .validation import check
from .vocabulary import ACTIONS, MODES

DEFAULT_PATH = Path(__file__).with_name("policy.yaml")

_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "when", "do"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "when": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": MATCHER_SCHEMAS,
        },
        "do": {"enum": list(ACTIONS)},
        "mode": {"enum": list(MODES)},
        "reason": {"type": "string"},
        "params": {"type": "object"},
        "notify": {"type": "array", "items": {"type": "string"}},
        "tag_may_raise_to": {"enum": list(MODES)},
        # What the action needs to find in the live state (any one of them); default: by action.
        "evidence": {"type": "array", "minItems": 1, "items": {"enum": sorted(EVIDENCE)}},
        # An event older than this when it arrives is recorded and told, never acted on.
        "max_event_age": {"type": "string"},
        # Who may approve this rule's actions, instead of RESPONDER_APPROVERS (approvals/approvers.py).
        "approvers": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^(group|role):[^:]+$"}},
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "rules"],
    "properties": {
        "version": {"const": 1},
        "defaults": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": list(MODES)},
                "incident_ttl": {"type": "string"},
                "notify": {"type": "array", "items": {"type": "string"}},
            },
        },
        "rules": {"type": "array", "items": _RULE},
        # Sections read by other parts of the app (notifications, brakes, scope, maintenance,
        # leave_alone); each of those validates its own section when it reads it.
        "notify_routes": {"type": "object"},
        "brakes": {"type": "object"},
        "scope": {"type": "object"},
        "maintenance": {"type": "object"},
        "tags": {"type": "object"},
        "approvals": {"type": "object"},
        # Tags that say a VM keeps data on its temporary disk: redeploy and reimage lose it, so
        # they wait for a person even in auto mode.
        "temp_disk": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"tags": {"type": "array", "items": {"type": "string", "minLength": 1}}},
        },
        "leave_alone": {"type": "object"},
        # The owner's own catalog entries (annotations Azure added since, or their own meaning),
        # laid over the shipped catalog; checked here, with the catalog's entry schema.
        "catalog": EXTENSION_SCHEMA,
    },
}


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    when: Mapping[str, Any]
    action: str
    mode: str
    reason: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    notify: tuple[str, ...] = ()
    tag_may_raise_to: str | None = None  # how far a resource's responder-mode tag may raise the mode
    evidence: tuple[str, ...] = ()  # what the action needs in the live state; () for its default
    max_event_age: timedelta = DEFAULT_MAX_EVENT_AGE
    approvers: tuple[str, ...] = ()  # group:<object id> / role:<value>; () for the app's approvers

    def matches(self, signal: Signal, classification: Classification, history: History) -> bool:
        return all(MATCHERS[key](value, signal, classification, history) for key, value in self.when.items())


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    default_mode: str = "observe"
    incident_ttl: timedelta = timedelta(days=1)
    default_notify: tuple[str, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)
    brakes: Brakes = field(default_factory=Brakes)
    mode_tag: str = "responder-mode"
    temp_disk_tags: tuple[str, ...] = ("large-temp-disk",)
    # Machines a platform manages are left alone; this section adds the owner's markers and
    # may lift a built-in platform (rules/ownership.py).
    leave_alone: LeaveAlone = field(default_factory=LeaveAlone)
    # Read from a file the tests checked in full (rules/validation.py): the sections other
    # packages read (maintenance) need no second check against their schemas either.
    checked_in_tests: bool = False
    # The catalog the rules were checked against, with the policy's own `catalog:` entries laid
    # over it; None when the policy was parsed without a catalog. The engine classifies with it.
    catalog: Catalog | None = None
    # Set by __post_init__: the rules that can match each kind, and those that match any kind.
    _by_kind: dict[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    _any_kind: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The rules that can match each kind of signal, in policy order: a signal is matched
        # against those only (every signal is matched, so this is on the hot path).
        kinds = [kinds_matched(rule.when) for rule in self.rules]
        by_kind = {kind: tuple(r for r, ks in zip(self.rules, kinds, strict=True) if ks is None or kind in ks)
                   for kind in {k for ks in kinds for k in (ks or ())}}
        object.__setattr__(self, "_by_kind", by_kind)
        object.__setattr__(self, "_any_kind", tuple(r for r, ks in zip(self.rules, kinds, strict=True) if ks is None))

    def first_match(self, signal: Signal, classification: Classification, history: History) -> Rule | None:
        candidates = self._by_kind.get(signal.kind.lower(), self._any_kind)
        return next((r for r in candidates if r.matches(signal, classification, history)), None)

    def waits_for_a_person(self, mode_override: str | None = None) -> bool:
        """Whether any decision can wait for a person under this policy and the app's mode, if set."""
        if mode_override is not None:
            return mode_override == "approve"
        return self.default_mode == "approve" or any(rule.mode == "approve" for rule in self.rules)


def load_policy(path: str | Path = DEFAULT_PATH, catalog: Catalog | None = None) -> Policy:
    """The policy in the file at `path`, parsed once per content: a policy rewritten at the same
    path (an operator's edit, a test's next case) is read anew within one process."""
    where = str(path)
    return _load(where, read_file(where, PolicyError, "policy"), catalog)


@lru_cache(maxsize=8)
def _load(path: str, raw: bytes, catalog: Catalog | None) -> Policy:
    document, checked_in_tests = parse_document(raw, path, PolicyError, "policy")
    return parse_policy(document, where=path, catalog=catalog, checked_in_tests=checked_in_tests)


def parse_policy(document: Any, where: str = "policy", catalog: Catalog | None = None, checked_in_tests: bool = False) -> Policy:
    """The policy a document describes; PolicyError naming the place of the first mistake.
    `checked_in_tests` skips the schemas (never the checks against the catalog) for a document
    rules/validation.py knows the tests checked."""
    if not checked_in_tests:
        check(document, SCHEMA, PolicyError, where)
    defaults = document.get("defaults") or {}
    if catalog is not None and document.get("catalog"):
        catalog = catalog.extended(document["catalog"])  # its schema is part of the policy's
    default_mode = defaults.get("mode", "observe")
    rules = []
    names = set()
    for index, raw in enumerate(document["rules"]):
        at = f"{where}: rules/{index} ({raw['name']})"
        if raw["name"] in names:
            raise PolicyError(f"{at}: the rule name is used twice")
        names.add(raw["name"])
        when = raw["when"]
        if "repeat" in when:
            parse_duration(when["repeat"]["within"], f"{at}: when.repeat.within")
        if "annotation" in when:
            _check_annotation_names(when["annotation"], catalog, at)
        rules.append(
            Rule(
                name=raw["name"],
                when=when,
                action=raw["do"],
                mode=raw.get("mode", default_mode),
                reason=raw.get("reason", ""),
                params=raw.get("params", {}),
                notify=tuple(raw.get("notify", defaults.get("notify", ()))),
                tag_may_raise_to=raw.get("tag_may_raise_to"),
                evidence=tuple(raw.get("evidence", ())),
                max_event_age=(parse_duration(raw["max_event_age"], f"{at}: max_event_age")
                               if "max_event_age" in raw else DEFAULT_MAX_EVENT_AGE),
                approvers=_approvers(raw.get("approvers", ()), f"{at}: approvers"),
            )
        )
    return Policy(
        rules=tuple(rules),
        default_mode=default_mode,
        incident_ttl=parse_duration(defaults.get("incident_ttl", "P1D"), f"{where}: defaults.incident_ttl"),
        default_notify=tuple(defaults.get("notify", ())),
        sections={k: v for k, v in document.items() if k not in ("version", "defaults", "rules")},
        brakes=parse_brakes(document.get("brakes"), f"{where}: brakes", checked_in_tests),
        mode_tag=parse_mode_tag(document.get("tags"), f"{where}: tags", checked_in_tests),
        temp_disk_tags=tuple((document.get("temp_disk") or {}).get("tags", ("large-temp-disk",))),
        leave_alone=parse_leave_alone(document.get("leave_alone"), f"{where}: leave_alone", checked_in_tests),
        checked_in_tests=checked_in_tests,
        catalog=catalog,
    )


def _check_annotation_names(value: Any, catalog: Catalog | None, at: str) -> None:
    """Every pattern compiles; with a catalog, every exact name is in it and every pattern matches
    at least one of its names (a pattern matching nothing is a typo, not a plan)."""
    try:
        exact, patterns = name_patterns(value)
    except RulesError as exc:
        raise PolicyError(f"{at}: when.annotation: {exc}") from None
    if catalog is None:
        return
    known = list(catalog.entries("annotation"))
    lowered = {n.lower() for n in known}
    unknown = sorted(n for n in exact if n not in lowered)
    # Named as written, for the message.
    written = [item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str)]
    if unknown:
        names = [w for w in written if w.lower() in unknown]
        raise PolicyError(f"{at}: when.annotation names {', '.join(names)}, not in the catalog")
    for shown, pattern in patterns:
        if not any(pattern.match(name) for name in known):
            raise PolicyError(f"{at}: when.annotation: {shown} matches no annotation in the catalog")


def _approvers(entries: list[str], where: str) -> tuple[str, ...]:
    try:
        return approver_entries(entries, where)
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
