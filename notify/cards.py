"""Teams content: Adaptive Cards 1.5 in the message envelope a Workflows webhook takes.

Only elements Teams renders from a webhook (TextBlock, FactSet, Container, ColumnSet/Column,
Action.OpenUrl). Approval is a pair of links (Action.OpenUrl): Action.Submit does nothing in a
webhook card. Every card is fitted under Teams' 28 KB by shortening lists, then long texts.
"""

from __future__ import annotations

import json
from typing import Any

from . import links as approval_links
from .card_schema import CARD_CONTENT_TYPE, MAX_BYTES, VERSION, card_problems, payload_bytes
from .content import IncidentView
from .errors import CardError
from .humane import clock, plain
from .scope_views import DigestView, StormView

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# Teams adds some bytes of its own around a posted message; keep a margin under the limit.
BUDGET = MAX_BYTES - 1024


def envelope(card: dict) -> dict:
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _text(text: str, limit: int | None, *, raw: bool = False, **props: Any) -> dict:
    """A TextBlock. Text is outside text unless `raw` (our own Markdown links): escaped, so a
    `[link](...)` in Azure's words or a resource name reads as written and never becomes a link."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return {"type": "TextBlock", "text": text if raw else plain(text), "wrap": True, **props}


def _heading(text: str) -> dict:
    return {"type": "TextBlock", "text": text, "weight": "bolder", "spacing": "medium", "wrap": True}


def _facts(pairs: list[tuple[str, str]], limit: int | None) -> dict:
    def cut(value: str) -> str:
        return value if limit is None or len(value) <= limit else value[: limit - 1].rstrip() + "…"

    # FactSet values render Markdown too (Teams): escaped like any outside text.
    return {"type": "FactSet", "facts": [{"title": plain(t), "value": plain(cut(v or "-"))} for t, v in pairs]}


def _link(title: str, url: str, style: str | None = None) -> dict:
    action = {"type": "Action.OpenUrl", "title": title, "url": url}
    if style:
        action["style"] = style
    return action


def _card(body: list[dict], actions: list[dict], fallback: str) -> dict:
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "lang": "en",
                            "fallbackText": fallback, "msteams": {"width": "Full"}, "body": body}
    if actions:
        card["actions"] = actions
    return card


def _banner(title: str, headline: str, tone: str, limit: int | None, *extra: dict) -> dict:
    """The top of every card: the message's subject (the same as the email's), then where it stands."""
    return {
        "type": "Container",
        "style": tone if tone != "default" else "emphasis",
        "bleed": True,
        "items": [_text(title, limit, size="large", weight="bolder", style="heading"), _text(headline, limit, weight="bolder"), *extra],
    }


def _next(step: str | None, note: str | None, limit: int | None) -> list[dict]:
    if not step and not note:
        return []
    items = []
    if step:
        items += [_text("Next step for you", None, weight="bolder"), _text(step, limit)]
    if note:
        items.append(_text(note, limit, isSubtle=True))
    return [{"type": "Container", "style": "warning" if step else "default", "spacing": "medium", "items": items}]


def incident_card(view: IncidentView, *, steps: int | None = None, text_limit: int | None = None) -> dict:
    label, tone = view.status_words
    body: list[dict] = [
        _banner(view.subject, view.headline, tone, text_limit, _text(f"{view.urgency} · Status: {label}", None, isSubtle=True, spacing="none")),
        *_next(view.next_step, None, text_limit),
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
        body += [_text(f"• {b}", text_limit, spacing="none") for b in brakes]
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
                    {"type": "Column", "width": "auto", "items": [_text(clock(step.at), None, isSubtle=True)]},
                    {"type": "Column", "width": "stretch", "items": [_text(step.text, text_limit)]},
                ],
            }
        )
    if view.note:
        body.append(_text(view.note, text_limit, isSubtle=True, spacing="medium"))
    actions = []
    links = view.approval_links
    if links:
        actions += [_link("Approve", links[0], "positive"), _link("Reject", links[1], "destructive")]
    actions += [_link(title, url) for title, url in view.links]
    return envelope(_card(body, actions, f"{view.subject}: {view.headline}"))


def storm_card(view: StormView) -> dict:
    body: list[dict] = [
        _banner(view.subject, view.headline, "attention", None),
        *_next(view.next_step, None, None),
        _heading("The storm"),
        _facts(view.facts, None),
        _text(view.covers, None, isSubtle=True, spacing="medium"),
    ]
    actions = [_link("Open Service Health", view.service_health)]
    return envelope(_card(body, actions, f"{view.subject}: {view.headline}"))


def _row(cells: list[str], *, bold: bool = False) -> dict:
    """One table row; each cell is Markdown already made safe (outside text passed through plain())."""
    return {
        "type": "ColumnSet",
        "spacing": "small",
        "columns": [
            {"type": "Column", "width": "stretch", "items": [_text(c, None, raw=True, **({"weight": "bolder"} if bold else {}))]}
            for c in cells
        ],
    }


def digest_card(view: DigestView, *, lines: int | None = None, text_limit: int | None = None) -> dict:
    listed = view.lines if lines is None else view.lines[:lines]
    headline = view.headline
    body: list[dict] = [
        _banner(view.subject, headline, "attention" if view.storm else "warning", text_limit,
                _text(view.covers, None, isSubtle=True)),
        *_next(view.next_step, None, text_limit),
    ]
    if view.storm and view.storm_reason:
        body += [_heading("Automation is paused"), _text(view.storm_reason, text_limit)]
    body += [
        _heading("Where"),
        _facts(view.where, text_limit),
        _heading("What Azure said"),
        _facts(view.signal_counts, text_limit),
        _heading("What the app did"),
        _facts([(k, str(v)) for k, v in view.by_outcome], text_limit),
        _heading(f"Resources (first {len(listed)} of {view.incidents})"),
        _row(["Resource", "Status", "Why"], bold=True),
    ]
    for line in listed:
        status = plain(f"{line.status} ({line.incident_id})")
        if line.approval and not view.approvals_page:  # Markdown links: Teams renders them in a TextBlock
            status += f" [Approve]({line.approval[0]}) · [Reject]({line.approval[1]})"
        body.append(_row([f"[{plain(line.resource.name)}]({line.resource.portal_url})", status, plain(line.why or "-")]))
    if view.incidents > len(listed):
        body.append(_text(f"… and {view.incidents - len(listed)} more {'resource' if view.incidents - len(listed) == 1 else 'resources'} not listed.", None, isSubtle=True))
    if view.brakes:
        body.append(_heading("Brakes that applied"))
        body += [_text(f"• {b}", text_limit, spacing="none") for b in view.brakes]
    actions = []
    if view.approvals_page:
        actions.append(_link(f"Review {view.pending} pending approvals", view.approvals_page, "positive"))
    if view.storm:
        actions.append(_link("Open Service Health", view.service_health))
    return envelope(_card(body, actions, f"{view.subject}: {headline}"))


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


def render_storm(view: StormView) -> dict:
    return fit(lambda n, t: storm_card(view), 0)
