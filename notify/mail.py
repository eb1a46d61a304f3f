"""Email content: a stable subject per incident, an HTML body, and its plain-text rendering.

Graph's JSON `message` has a single body, so the HTML is the body and the plain text travels
as a small `text/plain` attachment (`INC-....txt`) for pagers, tickets and text-only readers.
Follow-ups keep the subject of the incident's first message: mail clients thread on it (Graph's
JSON sendMail does not let an app set In-Reply-To or References).
"""

from __future__ import annotations

from html import escape

from .content import IncidentView
from .humane import clock
from .scope_views import DigestView, StormView

_TONES = {"good": "#107c10", "attention": "#a4262c", "warning": "#8a6d00", "accent": "#0063b1", "default": "#323130", "emphasis": "#323130"}
_CELL = "padding:2px 12px 2px 0;vertical-align:top"


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(
        f'<tr><th scope="row" style="text-align:left;{_CELL}">{escape(k)}</th><td style="{_CELL}">{escape(v or "-")}</td></tr>'
        for k, v in pairs
    )


def _table(pairs: list[tuple[str, str]]) -> str:
    return f'<table style="border-collapse:collapse;font-size:14px"><tbody>{_rows(pairs)}</tbody></table>'


def _grid(header: list[str], rows: list[list[str]]) -> str:
    """A table whose every row has as many cells as its header (cells are HTML already escaped)."""
    head = "".join(f'<th scope="col" style="text-align:left;{_CELL}">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    return f'<table style="border-collapse:collapse;font-size:14px"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _page(title: str, inner: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        f'<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#323130">{inner}'
        '<p style="color:#605e5c;font-size:12px">Sent by Resource Health Responder.</p></body></html>'
    )


def _next(step: str | None) -> str:
    return f'<p style="background:#fff4ce;padding:8px"><b>Next step for you:</b> {escape(step)}</p>' if step else ""


def _button(title: str, url: str, colour: str) -> str:
    return f'<a href="{escape(url)}" style="background:{colour};color:#fff;padding:6px 14px;text-decoration:none">{escape(title)}</a>'


def _top(subject: str, headline: str, tone: str, status: str | None = None) -> str:
    status_line = f'<p style="margin:0;color:#605e5c">{escape(status)}</p>' if status else ""
    return (f'<h1 style="margin:0;font-size:20px">{escape(subject)}</h1>'
            f'<p style="font-size:16px;color:{_TONES.get(tone, "#323130")}"><b>{escape(headline)}</b></p>{status_line}')


def incident_html(view: IncidentView) -> str:
    label, tone = view.status_words
    parts = [_top(view.subject, view.headline, tone, f"{view.urgency} · Status: {label}"), _next(view.next_step)]
    links = view.approval_links
    if links:
        parts.append(f"<p>{_button('Approve', links[0], '#107c10')} &nbsp; {_button('Reject', links[1], '#a4262c')}</p>")
    parts += ["<h2>What Azure said</h2>", _table(view.azure_facts), "<h2>Resource</h2>", _table(view.resource_facts)]
    parts.append("<p>" + " · ".join(f'<a href="{escape(url)}">{escape(title)}</a>' for title, url in view.links) + "</p>")
    parts += ["<h2>What the app decided</h2>", _table(view.decision_facts)]
    if view.brakes:
        parts.append("<p>Brakes that applied:</p><ul>" + "".join(f"<li>{escape(b)}</li>" for b in view.brakes) + "</ul>")
    parts.append("<h2>What happened</h2><ul>" + "".join(f"<li>{escape(clock(s.at))}: {escape(s.text)}</li>" for s in view.steps) + "</ul>")
    if view.note:
        parts.append(f'<p style="color:#605e5c">{escape(view.note)}</p>')
    return _page(view.subject, "".join(parts))


def incident_text(view: IncidentView) -> str:
    lines = [view.subject, view.headline, f"{view.urgency} · Status: {view.status_words[0]}", ""]
    if view.next_step:
        lines += [f"NEXT STEP: {view.next_step}", ""]
    links = view.approval_links
    if links:
        lines += [f"Approve: {links[0]}", f"Reject:  {links[1]}", ""]

    def block(title: str, pairs: list[tuple[str, str]]) -> None:
        lines.append(title)
        lines.extend(f"  {k}: {v}" for k, v in pairs)
        lines.append("")

    block("What Azure said", view.azure_facts)
    block("Resource", view.resource_facts + [(title.removeprefix("Open in "), url) for title, url in view.links])
    block("What the app decided", view.decision_facts + [("Brake", b) for b in view.brakes])
    lines.append("What happened")
    lines.extend(f"  {clock(s.at)}  {s.text}" for s in view.steps)
    if view.note:
        lines += ["", view.note]
    return "\n".join(lines) + "\n"


def storm_html(view: StormView) -> str:
    parts = [_top(view.subject, view.headline, "attention"), _next(view.next_step), "<h2>The storm</h2>", _table(view.facts),
             f'<p style="color:#605e5c">{escape(view.covers)}</p>',
             f'<p><a href="{escape(view.service_health)}">Open Service Health</a></p>']
    return _page(view.subject, "".join(parts))


def storm_text(view: StormView) -> str:
    lines = [view.subject, view.headline, "", f"NEXT STEP: {view.next_step}", ""]
    lines += [f"  {k}: {v}" for k, v in view.facts]
    lines += ["", view.covers, f"Service Health: {view.service_health}"]
    return "\n".join(lines) + "\n"


def _approval_links(approval: tuple[str, str] | None) -> str:
    if not approval:
        return ""
    return f' <a href="{escape(approval[0])}">Approve</a> · <a href="{escape(approval[1])}">Reject</a>'


def digest_html(view: DigestView) -> str:
    rows = [
        [f'<a href="{escape(line.resource.portal_url)}">{escape(line.resource.name)}</a>',
         escape(line.resource.resource_group or "-"),
         escape(line.status) + ("" if view.approvals_page else _approval_links(line.approval)),
         escape(line.why or "-"),
         escape(line.incident_id)]
        for line in view.lines
    ]
    parts = [_top(view.subject, view.headline, "attention" if view.storm else "warning"),
             f'<p style="color:#605e5c">{escape(view.covers)}</p>', _next(view.next_step)]
    if view.approvals_page:
        parts.append(f"<p>{_button(f'Review {view.pending} pending approvals', view.approvals_page, '#107c10')}</p>")
    if view.storm and view.storm_reason:
        parts += ["<h2>Automation is paused</h2>", f"<p>{escape(view.storm_reason)}</p>",
                  f'<p><a href="{escape(view.service_health)}">Open Service Health</a></p>']
    parts += ["<h2>Where</h2>", _table(view.where), "<h2>What Azure said</h2>", _table(view.signal_counts),
              "<h2>What the app did</h2>", _table([(k, str(v)) for k, v in view.by_outcome])]
    parts.append(f"<h2>Resources (first {len(view.lines)} of {view.incidents})</h2>")
    parts.append(_grid(["Resource", "Resource group", "Status", "Why", "Incident"], rows))
    if view.more > 0:
        parts.append(f"<p>… and {view.more} more {'resource' if view.more == 1 else 'resources'} not listed.</p>")
    if view.brakes:
        parts.append("<p>Brakes that applied:</p><ul>" + "".join(f"<li>{escape(b)}</li>" for b in view.brakes) + "</ul>")
    return _page(view.subject, "".join(parts))


def digest_text(view: DigestView) -> str:
    lines = [view.subject, view.headline, view.covers, ""]
    if view.next_step:
        lines += [f"NEXT STEP: {view.next_step}", ""]
    if view.approvals_page:
        lines += [f"Review {view.pending} pending approvals: {view.approvals_page}", ""]
    if view.storm and view.storm_reason:
        lines += [f"Automation is paused: {view.storm_reason}", f"Service Health: {view.service_health}", ""]
    lines += [f"  {k}: {v}" for k, v in view.where] + [""]
    lines += ["What Azure said"] + [f"  {k}: {v}" for k, v in view.signal_counts] + [""]
    lines += ["What the app did"] + [f"  {k}: {v}" for k, v in view.by_outcome] + [""]
    lines.append(f"Resources (first {len(view.lines)} of {view.incidents})")
    for line in view.lines:
        lines.append(f"  {line.resource.name}  {line.resource.resource_group or '-'}  {line.status}  {line.why or '-'}  {line.incident_id}")
        if line.approval and not view.approvals_page:
            lines.append(f"    Approve: {line.approval[0]}  Reject: {line.approval[1]}")
    if view.more > 0:
        lines.append(f"  ... and {view.more} more {'resource' if view.more == 1 else 'resources'} not listed.")
    for b in view.brakes:
        lines.append(f"Brake: {b}")
    return "\n".join(lines) + "\n"


def mail_payload(*, subject: str, html: str, text: str, to: tuple[str, ...], message_id: str, incident_id: str | None,
                 text_name: str, importance: str = "normal") -> dict:
    """The channel-neutral email recorded in the outbox (and rendered into Graph's model when sent)."""
    headers = {"X-Responder-Incident": incident_id} if incident_id else {}
    return {
        "subject": subject,
        "html": html,
        "text": text,
        "text_name": text_name,
        "to": list(to),
        "internet_message_id": message_id,
        "headers": headers,
        "importance": importance,
    }
