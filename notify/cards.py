"""Teams content: Adaptive Cards 1.5 in the message envelope a Workflows webhook takes.

Only elements Teams renders from a webhook (TextBlock, FactSet, Container, ColumnSet/Column,
Action.OpenUrl). Approval is a pair of links (Action.OpenUrl): Action.Submit does nothing in a
webhook card. Every card is fitted under Teams' 28 KB by shortening lists, then long texts.
"""

from __future__ import annotations

import json
from typing import Any

from .card_schema import CARD_CONTENT_TYPE, MAX_BYTES, VERSION, card_problems, payload_bytes
from .content import DigestView, IncidentView, STATUS_WORDS, when
from .errors import CardError
from . import links as approval_links

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams adds some bytes of its own around a posted message; keep a margin under the limit.
BUDGET = MAX_BYTES - 1024


def envelope(card: dict) -> dict:
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _text(text: str, limit: int | None, **props: Any) -> dict:
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def _heading(text: str) -> dict:
    return {"type": "TextBlock", "text": text, "weight": "bolder", "spacing": "medium", "wrap": True}


def _facts(pairs: list[tuple[str, str]], limit: int | None) -> dict:
    def cut(value: str) -> str:
        return value if limit is None or len(value) <= limit else value[: limit - 1].rstrip() + "…"

    return {"type": "FactSet", "facts": [{"title": t, "value": cut(v or "-")} for t, v in pairs]}


def _link(title: str, url: str, style: str | None = None) -> dict:
    action = {"type": "Action.OpenUrl", "title": title, "url": url}
    if style:
        action["style"] = style
    return action


def _card(body: list[dict], actions: list[dict]) -> dict:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "msteams": {"width": "Full"}, "body": body}
    if actions:
        card["actions"] = actions
    return card


def incident_card(view: IncidentView, *, steps: int | None = None, text_limit: int | None = None) -> dict:
    _, tone = view.status_words
    body: list[dict] = [
        {
            "type": "Container",
            "style": tone if tone != "default" else "emphasis",
            "bleed": True,
            "items": [
                _text(f"[{view.incident_id}] {view.resource.name}", text_limit, size="large", weight="bolder", style="heading"),
                _text(view.headline, text_limit, weight="bolder"),
            ],
        },
        _heading("What Azure said"),
        _facts(view.azure_facts, text_limit),
        _heading("Resource"),
        _facts(view.resource_facts, text_limit),
        _heading("What the app decided"),
        _facts(view.decision_facts, text_limit),
    ]
    if view.brakes:
        brakes = view.brakes[: 10 if text_limit is None else 5]
        body.append(_text("Brakes that applied:", None, isSubtle=True, spacing="small"))
        body += [_text(f"- {b}", text_limit, spacing="none") for b in brakes]
        if len(brakes) < len(view.brakes):
            body.append(_text(f"(and {len(view.brakes) - len(brakes)} more)", None, isSubtle=True, spacing="none"))
    shown = view.steps if steps is None else view.steps[-steps:] if steps else ()
    body.append(_heading("What happened"))
    if len(shown) < len(view.steps):
        body.append(_text(f"({len(view.steps) - len(shown)} earlier steps not shown)", None, isSubtle=True))
    for step in shown:
        body.append(
            {
                "type": "ColumnSet",
                "spacing": "small",
                "columns": [
                    {"type": "Column", "width": "auto", "items": [_text(when(step.at), None, isSubtle=True)]},
                    {"type": "Column", "width": "stretch", "items": [_text(step.text, text_limit)]},
                ],
            }
        )
    if view.next_step or view.note:
        items = []
        if view.next_step:
            items += [_text("Next step for you", None, weight="bolder"), _text(view.next_step, text_limit)]
        if view.note:
            items.append(_text(view.note, text_limit, isSubtle=True))
        body.append({"type": "Container", "style": "warning" if view.next_step else "default", "spacing": "medium", "items": items})
    actions = []
    links = view.approval_links
    if links:
        actions += [_link("Approve", links[0], "positive"), _link("Reject", links[1], "destructive")]
    actions.append(_link("Open in Azure portal", view.resource.portal_url))
    return envelope(_card(body, actions))


def digest_card(view: DigestView, *, lines: int | None = None, text_limit: int | None = None) -> dict:
    listed = view.lines if lines is None else view.lines[:lines]
    body: list[dict] = [
        {
            "type": "Container",
            "style": "warning",
            "bleed": True,
            "items": [
                _text(f"Digest: {view.headline}", text_limit, size="large", weight="bolder", style="heading"),
                _text(view.meaning or f"Signals: {view.signal_counts}", text_limit),
                _text(view.covers, None, isSubtle=True),
            ],
        },
        _heading("Where things stand"),
        _facts([(k, str(v)) for k, v in view.by_status] + [(f"Action: {k}", str(v)) for k, v in view.by_action], text_limit),
        _heading(f"Resources (first {len(listed)} of {view.incidents})"),
        {
            "type": "ColumnSet",
            "columns": [
                {"type": "Column", "width": "stretch", "items": [_text("Resource", None, weight="bolder")]},
                {"type": "Column", "width": "stretch", "items": [_text("Resource group", None, weight="bolder")]},
                {"type": "Column", "width": "stretch", "items": [_text("Status", None, weight="bolder")]},
            ],
        },
    ]
    for line in listed:
        status = STATUS_WORDS.get(line.status, (line.status, ""))[0]
        body.append(
            {
                "type": "ColumnSet",
                "spacing": "small",
                "columns": [
                    {"type": "Column", "width": "stretch", "items": [_text(f"[{line.resource.name}]({line.resource.portal_url})", None)]},
                    {"type": "Column", "width": "stretch", "items": [_text(line.resource.resource_group or "-", None)]},
                    {"type": "Column", "width": "stretch", "items": [_text(_status_cell(status, line), None)]},
                ],
            }
        )
    more = view.incidents - len(listed)
    if more > 0:
        body.append(_text(f"… and {more} more resources not listed.", None, isSubtle=True))
    if view.brakes:
        body.append(_heading("Brakes that applied"))
        body += [_text(f"- {b}", text_limit, spacing="none") for b in view.brakes]
    if view.next_step:
        body.append({"type": "Container", "style": "warning", "items": [_text("Next step for you", None, weight="bolder"), _text(view.next_step, text_limit)]})
    return envelope(_card(body, []))


def _status_cell(status: str, line) -> str:
    text = f"{status} ({line.incident_id})"
    if line.approval:  # markdown links: Teams renders them in a TextBlock
        text += f" [Approve]({line.approval[0]}) · [Reject]({line.approval[1]})"
    return text


def fit(render, total: int, *, budget: int = BUDGET) -> dict:
    """Render with as many list entries as fit in `budget` bytes, then with shorter texts.

    `render(count, text_limit)` builds the payload. Halving keeps the number of attempts small
    even for a 10,000-line digest; the result is checked against the Teams element set.
    """
    for text_limit in (None, 600, 200):
        count = total
        while True:
            payload = render(count, text_limit)
            if signed_size(payload) <= budget:
                problems = card_problems(payload)
                if problems:
                    raise CardError("card Teams would not render: " + "; ".join(problems[:5]))
                return payload
            if count == 0:
                break
            count //= 2
    raise CardError(f"card does not fit in {budget} bytes even with no list entries and short texts")


def signed_size(payload: dict) -> int:
    """Bytes as posted once its approval links are signed (they are stand-ins until the send)."""
    return payload_bytes(payload) + approval_links.ROOM_PER_LINK * approval_links.count(json.dumps(payload))


def render_incident(view: IncidentView) -> dict:
    return fit(lambda n, t: incident_card(view, steps=n, text_limit=t), len(view.steps))


def render_digest(view: DigestView) -> dict:
    return fit(lambda n, t: digest_card(view, lines=n, text_limit=t), len(view.lines))
