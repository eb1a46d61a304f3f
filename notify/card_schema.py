"""What Teams renders from a Workflows webhook: Adaptive Card 1.5, a small set of elements.

`card_problems` walks a posted payload (the message envelope and its card) and lists every
element, property or value outside that set, plus the size limit. Cards are checked before
they are recorded in the outbox, and the tests check every card they render.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BYTES = 28 * 1024  # Teams' limit for one webhook message, envelope included
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
VERSION = "1.5"

SPACING = {"none", "small", "default", "medium", "large", "extraLarge", "padding"}
CONTAINER_STYLES = {"default", "emphasis", "good", "attention", "warning", "accent"}
COLORS = {"default", "dark", "light", "accent", "good", "warning", "attention"}
COMMON = {"type", "id", "spacing", "separator", "isVisible"}

# element type -> {property: allowed values (a set), or a checker name}
ELEMENTS: dict[str, dict[str, Any]] = {
    "TextBlock": {
        "text": "text",
        "wrap": "bool",
        "weight": {"default", "lighter", "bolder"},
        "size": {"default", "small", "medium", "large", "extraLarge"},
        "color": COLORS,
        "isSubtle": "bool",
        "maxLines": "int",
        "horizontalAlignment": {"left", "center", "right"},
        "fontType": {"default", "monospace"},
        "style": {"default", "heading"},
    },
    "FactSet": {"facts": "facts"},
    "Container": {
        "items": "elements",
        "style": CONTAINER_STYLES,
        "bleed": "bool",
        "verticalContentAlignment": {"top", "center", "bottom"},
    },
    "ColumnSet": {"columns": "columns", "style": CONTAINER_STYLES, "bleed": "bool", "horizontalAlignment": {"left", "center", "right"}},
    "Column": {"items": "elements", "width": "width", "style": CONTAINER_STYLES, "verticalContentAlignment": {"top", "center", "bottom"}},
}
ACTIONS: dict[str, dict[str, Any]] = {
    "Action.OpenUrl": {"title": "text", "url": "url", "style": {"default", "positive", "destructive"}, "tooltip": "text", "id": "text"},
}
CARD_PROPERTIES = {"type", "$schema", "version", "body", "actions", "msteams", "fallbackText", "speak", "lang"}


def payload_bytes(payload: dict) -> int:
    """Size as posted: compact JSON in UTF-8 (how the Teams channel posts it)."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def card_problems(payload: Any, max_bytes: int = MAX_BYTES) -> list[str]:
    problems: list[str] = []
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return ["envelope: expected {'type': 'message', 'attachments': [...]}"]
    if set(payload) - {"type", "attachments"}:
        problems.append(f"envelope: unexpected keys {sorted(set(payload) - {'type', 'attachments'})}")
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return problems + ["envelope: expected exactly one attachment"]
    att = attachments[0]
    if att.get("contentType") != CARD_CONTENT_TYPE:
        problems.append(f"attachment: contentType must be {CARD_CONTENT_TYPE}")
    if "contentUrl" not in att or att["contentUrl"] is not None:
        problems.append("attachment: contentUrl must be present and null")
    card = att.get("content")
    if not isinstance(card, dict):
        return problems + ["attachment: content must be a card object"]
    problems += _card(card)
    size = payload_bytes(payload)
    if size > max_bytes:
        problems.append(f"size: {size} bytes, over the {max_bytes}-byte limit")
    return problems


def _card(card: dict) -> list[str]:
    problems = []
    if card.get("type") != "AdaptiveCard":
        problems.append("card: type must be AdaptiveCard")
    if card.get("version") != VERSION:
        problems.append(f"card: version must be {VERSION!r}, got {card.get('version')!r}")
    for key in set(card) - CARD_PROPERTIES:
        problems.append(f"card: unsupported property {key!r}")
    msteams = card.get("msteams")
    if msteams is not None and (not isinstance(msteams, dict) or set(msteams) - {"width"} or msteams.get("width") not in (None, "Full")):
        problems.append("card: msteams may only hold width 'Full'")
    body = card.get("body", [])
    problems += _elements(body, "body")
    actions = card.get("actions", [])
    if not isinstance(actions, list):
        problems.append("card: actions must be a list")
    else:
        for i, action in enumerate(actions):
            problems += _action(action, f"actions[{i}]")
    return problems


def _elements(items: Any, where: str) -> list[str]:
    if not isinstance(items, list):
        return [f"{where}: must be a list"]
    problems = []
    for i, element in enumerate(items):
        problems += _element(element, f"{where}[{i}]")
    return problems


def _element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where}: not an object"]
    kind = element.get("type")
    spec = ELEMENTS.get(kind) if isinstance(kind, str) else None  # a list or an object: no such type, and unhashable
    if spec is None:
        return [f"{where}: element type {kind!r} is not rendered by Teams webhooks (allowed: {sorted(ELEMENTS)})"]
    problems = []
    if kind == "TextBlock" and not element.get("text"):
        problems.append(f"{where}: TextBlock needs text")
    if kind == "FactSet" and not element.get("facts"):
        problems.append(f"{where}: FactSet needs facts")
    for key, value in element.items():
        if key in COMMON:
            problems += _common(key, value, f"{where}.{key}")
            continue
        rule = spec.get(key)
        if rule is None:
            problems.append(f"{where}: {kind} has no property {key!r}")
        else:
            problems += _value(rule, value, f"{where}.{key}")
    return problems


def _action(action: Any, where: str) -> list[str]:
    if not isinstance(action, dict):
        return [f"{where}: not an object"]
    kind = action.get("type")
    spec = ACTIONS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return [f"{where}: action {kind!r} is not supported by Teams webhooks (only Action.OpenUrl)"]
    problems = []
    if not action.get("url"):
        problems.append(f"{where}: Action.OpenUrl needs url")
    if not action.get("title"):
        problems.append(f"{where}: Action.OpenUrl needs title")
    for key, value in action.items():
        if key == "type":
            continue
        rule = spec.get(key)
        if rule is None:
            problems.append(f"{where}: {kind} has no property {key!r}")
        else:
            problems += _value(rule, value, f"{where}.{key}")
    return problems


def _common(key: str, value: Any, where: str) -> list[str]:
    if key == "spacing" and value not in SPACING:
        return [f"{where}: {value!r} not in {sorted(SPACING)}"]
    if key in ("separator", "isVisible") and not isinstance(value, bool):
        return [f"{where}: must be a boolean"]
    if key == "id" and not isinstance(value, str):
        return [f"{where}: must be a string"]
    return []


_WIDTH = re.compile(r"^(auto|stretch|\d+|\d+px)$")


def _value(rule: Any, value: Any, where: str) -> list[str]:
    if isinstance(rule, set):
        return [] if value in rule else [f"{where}: {value!r} not in {sorted(rule)}"]
    if rule == "text":
        return [] if isinstance(value, str) else [f"{where}: must be a string"]
    if rule == "bool":
        return [] if isinstance(value, bool) else [f"{where}: must be a boolean"]
    if rule == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: must be an integer"]
    if rule == "url":
        return [] if isinstance(value, str) and re.match(r"^https?://", value) else [f"{where}: must be an http(s) URL"]
    if rule == "width":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) or isinstance(value, str) and _WIDTH.match(value)
        return [] if ok else [f"{where}: width {value!r} must be auto, stretch, a weight or Npx"]
    if rule == "facts":
        if not isinstance(value, list):
            return [f"{where}: must be a list of facts"]
        bad = [i for i, f in enumerate(value) if not (isinstance(f, dict) and set(f) == {"title", "value"} and all(isinstance(v, str) for v in f.values()))]
        return [f"{where}[{i}]: a fact is {{title, value}} strings" for i in bad]
    if rule == "elements":
        return _elements(value, where)
    if rule == "columns":
        if not isinstance(value, list):
            return [f"{where}: must be a list"]
        problems = []
        for i, col in enumerate(value):
            if not isinstance(col, dict) or col.get("type") != "Column":
                problems.append(f"{where}[{i}]: a ColumnSet holds Columns only")
            else:
                problems += _element(col, f"{where}[{i}]")
        return problems
    return [f"{where}: no rule {rule!r}"]
