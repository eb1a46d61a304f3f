"""Composing a message from its notices: a Teams card or an email, plus a one-line summary.

Runs once per message, at its first attempt; the result is stored in the outbox and every
retry sends it unchanged (the same card, the same internetMessageId).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from .cards import render_digest, render_incident, render_storm
from .content import IncidentView, incident_view
from .digest import STORM
from .links import scope_stand_in
from .mail import digest_html, digest_text, incident_html, incident_text, mail_payload, storm_html, storm_text
from .notice import Notice
from .outbox import DIGEST, Message
from .scope_views import DigestView, StormView, digest_view, storm_view


def compose(message: Message, texts: list[str], *, listed: int, sender: str | None, now: datetime | None = None) -> dict[str, Any]:
    """`{"summary", "label", "body"}`: body is the webhook payload or the email. `now` is when it
    is written: times read "in 3 h" from it, and an approval past its expiry shows no links."""
    notices = [Notice.from_json(t) for t in texts]
    now = now or message.due_at
    view: DigestView | StormView | IncidentView  # one of three, each branch its own
    if message.kind == DIGEST:
        view = digest_view(notices, opened=message.created_at, closed=message.due_at, listed=listed, cause=message.cause, now=now,
                           approvals_page=scope_stand_in(message.cause))  # used when something waits for a person
        label, subject, what = f"digest-{message.id}", view.subject, view.subject
        if message.channel == "teams":
            return {"summary": what, "label": label, "body": render_digest(view)}
        html, text, incident = digest_html(view), digest_text(view), None
    elif notices[0].event == STORM:  # the storm breaker's own message: one event for the scope
        view = storm_view(notices[0], message.cause, now)
        label, subject, what = f"storm-{message.id}", view.subject, view.subject
        if message.channel == "teams":
            return {"summary": what, "label": label, "body": render_storm(view)}
        html, text, incident = storm_html(view), storm_text(view), None
    else:
        view = incident_view(notices, note=message.note, times=[Notice.submitted_of(t) for t in texts], now=now)
        label, subject, what = view.incident_id, view.subject, f"{view.subject} | {view.headline}"
        if message.channel == "teams":
            return {"summary": what, "label": label, "body": render_incident(view)}
        html, text, incident = incident_html(view), incident_text(view), view.incident_id
    return {
        "summary": what,
        "label": label,
        "body": mail_payload(
            subject=subject,
            html=html,
            text=text,
            to=tuple(message.target.split(",")),
            message_id=internet_message_id(message, incident, sender),
            incident_id=incident,
            text_name=f"{label}.txt",
            importance=view.importance,
        ),
    }


def internet_message_id(message: Message, incident: str | None, sender: str | None) -> str:
    """Unique per message (the outbox id plus randomness, so two outboxes never collide)."""
    domain = (sender or "responder.invalid").rpartition("@")[2] or "responder.invalid"
    return f"<{incident or 'digest'}.{message.id}.{secrets.token_hex(6)}@{domain}>"
