"""The catalog: what a signal means. Loaded from annotations.yaml and checked against a schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .documents import parse_document, read_file
from .errors import CatalogError
from .signals import Signal
from .validation import check
from .vocabulary import ACTIONS, IMPACTS, INITIATORS

DEFAULT_PATH = Path(__file__).with_name("annotations.yaml")

# Catalog section for each signal kind.
SECTIONS = {
    "annotation": "annotations",
    "availability": "availability",
    "resource-health": "resource_health",
    "service-health": "service_health",
    "scheduled-event": "scheduled_events",
    "repair-state": "repair_states",
    "maintenance-status": "maintenance_status",
}

_ENTRY = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "meaning", "initiator", "impact", "category", "temp_disk_loss",
        "platform_acting", "default_action", "next_step", "routine",
    ],
    "properties": {
        "meaning": {"type": "string", "minLength": 10},
        "initiator": {"enum": list(INITIATORS)},
        "impact": {"enum": list(IMPACTS)},
        "category": {"type": "string", "pattern": "^[a-z][a-z-]*$"},
        "temp_disk_loss": {"type": "boolean"},
        "platform_acting": {"type": "boolean"},
        "default_action": {"enum": list(ACTIONS)},
        "next_step": {"type": ["string", "null"]},
        "routine": {"type": "boolean"},
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", *SECTIONS.values()],
    "properties": {
        "version": {"const": 1},
        **{section: {"type": "object", "additionalProperties": _ENTRY} for section in SECTIONS.values()},
    },
}


# An owner's additions: any sections, any entries, each entry complete. Laid over the shipped
# catalog, so Azure's new names (or the owner's own reading of one) need no code change.
EXTENSION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        **{section: {"type": "object", "additionalProperties": _ENTRY} for section in SECTIONS.values()},
    },
}


@dataclass(frozen=True, slots=True)
class Classification:
    known: bool
    meaning: str
    initiator: str
    impact: str
    category: str
    temp_disk_loss: bool
    platform_acting: bool
    default_action: str
    next_step: str | None
    routine: bool


def _unknown(signal: Signal) -> Classification:
    # Never dropped: an unknown name is recorded and sent so a person can teach the catalog.
    return Classification(
        known=False,
        meaning=f"{signal.name or 'An unnamed signal'} is not in the catalog: {signal.summary or 'no summary given'}".strip(),
        initiator=signal.initiator or "unknown",
        impact=signal.impact_type or "unknown",
        category="unknown",
        temp_disk_loss=False,
        platform_acting=False,
        default_action="none",
        next_step="Read what Azure said and add this name to rules/annotations.yaml.",
        routine=False,
    )


class Catalog:
    def __init__(self, document: Mapping[str, Any]):
        self._sections = {kind: dict(document[section]) for kind, section in SECTIONS.items()}

    def extended(self, additions: Mapping[str, Any]) -> Catalog:
        """This catalog with an owner's entries added (an entry of the same name replaces ours)."""
        document = {section: {**self._sections[kind], **(additions.get(section) or {})} for kind, section in SECTIONS.items()}
        return Catalog(document)

    def entries(self, kind: str) -> Mapping[str, Mapping[str, Any]]:
        return self._sections[kind]

    def classify(self, signal: Signal) -> Classification:
        entry = self._sections.get(signal.kind, {}).get(self._lookup_name(signal))
        if entry is None:
            return _unknown(signal)
        # The event's own context beats the catalog's: Azure labels each occurrence.
        initiator = signal.initiator if signal.initiator and signal.initiator != "unknown" else entry["initiator"]
        return Classification(known=True, **{**entry, "initiator": initiator})

    @staticmethod
    def _lookup_name(signal: Signal) -> str:
        if signal.kind == "service-health":
            return str(signal.details.get("incident_type", ""))
        return signal.name


def load_catalog(path: str | Path = DEFAULT_PATH, extra: str | Path | None = None) -> Catalog:
    """The catalog at `path`, with the entries of an owner's `extra` file laid over it
    (RESPONDER_CATALOG_EXTRA: a document with any of the catalog's sections). Each file is
    parsed once per content: one rewritten at the same path is read anew within one process."""
    where = str(path)
    catalog = _load(where, read_file(where, CatalogError, "catalog"))
    if not extra:
        return catalog
    return _extended(catalog, str(extra), read_file(str(extra), CatalogError, "catalog additions"))


@lru_cache(maxsize=8)
def _extended(catalog: Catalog, extra: str, raw: bytes) -> Catalog:
    document, _ = parse_document(raw, extra, CatalogError, "catalog additions")
    if not isinstance(document, Mapping):
        raise CatalogError(f"{extra}: (top): expected a mapping of catalog sections")
    check(document, EXTENSION_SCHEMA, CatalogError, extra)
    return catalog.extended(document)


@lru_cache(maxsize=8)
def _load(path: str, raw: bytes) -> Catalog:
    document, checked_in_tests = parse_document(raw, path, CatalogError, "catalog")
    if not checked_in_tests:
        check(document, SCHEMA, CatalogError, path)
    return Catalog(document)
