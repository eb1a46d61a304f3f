"""Email content: a stable subject per incident, an HTML body, and its plain-text rendering.

Graph's JSON `message` has a single body, so the HTML is the body and the plain text travels
as a small `text/plain` attachment (`INC-....txt`) for pagers, tickets and text-only readers.
Follow-ups keep the subject of the incident's first message: mail clients thread on it (Graph's
JSON sendMail does not let an app set In-Reply-To or References).
"""

from __future__ import annotations

from html import escape

from .content import DigestView, IncidentView, STATUS_WORDS, when

_TONES = {"good": "#107c10", "attention": "#a4262c", "warning": "#8a6d00", "accent": "#0063b1", "default": "#323130", "emphasis": "#323130"}


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">{escape(k)}</th>'
        f'<td style="padding:2px 0">{escape(v or "-")}</td></tr>'
        for k, v in pairs
    )


def _table(pairs: list[tuple[str, str]]) -> str:
    return f'<table style="border-collapse:collapse;font-size:14px">{_rows(pairs)}</table>'


def _page(inner: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#323130">{inner}'
        '<p style="color:#605e5c;font-size:12px">Sent by Resource Health Responder.</p></body></html>'
    )


def incident_html(view: IncidentView) -> str:
    _, tone = view.status_words
    parts = [
        f'<h2 style="margin:0">[{escape(view.incident_id)}] {escape(view.resource.name)}</h2>',
        f'<p style="font-size:16px;color:{_TONES.get(tone, "#323130")}"><b>{escape(view.headline)}</b></p>',
    ]
    if view.next_step:
        parts.append(f'<p style="background:#fff4ce;padding:8px"><b>Next step for you:</b> {escape(view.next_step)}</p>')
    links = view.approval_links
    if links:
        parts.append(
            f'<p><a href="{escape(links[0])}" style="background:#107c10;color:#fff;padding:6px 14px;text-decoration:none">Approve</a> '
            f'&nbsp; <a href="{escape(links[1])}" style="background:#a4262c;color:#fff;padding:6px 14px;text-decoration:none">Reject</a></p>'
        )
    parts += ["<h3>What Azure said</h3>", _table(view.azure_facts), "<h3>Resource</h3>", _table(view.resource_facts)]
    parts.append(f'<p><a href="{escape(view.resource.portal_url)}">Open in the Azure portal</a></p>')
    parts += ["<h3>What the app decided</h3>", _table(view.decision_facts)]
    if view.brakes:
        parts.append("<p>Brakes that applied:</p><ul>" + "".join(f"<li>{escape(b)}</li>" for b in view.brakes) + "</ul>")
    parts.append("<h3>What happened</h3><ul>" + "".join(f"<li>{escape(when(s.at))}: {escape(s.text)}</li>" for s in view.steps) + "</ul>")
    if view.note:
        parts.append(f'<p style="color:#605e5c">{escape(view.note)}</p>')
    return _page("".join(parts))


def incident_text(view: IncidentView) -> str:
    lines = [view.subject, view.headline, ""]
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
    block("Resource", view.resource_facts + [("Portal", view.resource.portal_url)])
    block("What the app decided", view.decision_facts + [("Brake", b) for b in view.brakes])
    lines.append("What happened")
    lines.extend(f"  {when(s.at)}  {s.text}" for s in view.steps)
    if view.note:
        lines += ["", view.note]
    return "\n".join(lines) + "\n"


def digest_html(view: DigestView) -> str:
    rows = "".join(
        f'<tr><td style="padding:2px 12px 2px 0"><a href="{escape(line.resource.portal_url)}">{escape(line.resource.name)}</a></td>'
        f'<td style="padding:2px 12px 2px 0">{escape(line.resource.resource_group or "-")}</td>'
        f'<td style="padding:2px 12px 2px 0">{escape(STATUS_WORDS.get(line.status, (line.status, ""))[0])}</td>'
        f"<td>{escape(line.incident_id)}</td><td>{_approval_links(line.approval)}</td></tr>"
        for line in view.lines
    )
    parts = [
        f'<h2 style="margin:0">Digest: {escape(view.headline)}</h2>',
        f"<p>{escape(view.meaning or 'Signals: ' + view.signal_counts)}</p>",
        f'<p style="color:#605e5c">{escape(view.covers)}</p>',
    ]
    if view.next_step:
        parts.append(f'<p style="background:#fff4ce;padding:8px"><b>Next step for you:</b> {escape(view.next_step)}</p>')
    parts += ["<h3>Where things stand</h3>", _table([(k, str(v)) for k, v in view.by_status] + [(f"Action: {k}", str(v)) for k, v in view.by_action])]
    parts.append(
        f"<h3>Resources (first {len(view.lines)} of {view.incidents})</h3>"
        '<table style="border-collapse:collapse;font-size:14px"><tr><th align="left">Resource</th><th align="left">Resource group</th>'
        f'<th align="left">Status</th><th align="left">Incident</th></tr>{rows}</table>'
    )
    if view.more > 0:
        parts.append(f"<p>… and {view.more} more resources not listed.</p>")
    if view.brakes:
        parts.append("<p>Brakes that applied:</p><ul>" + "".join(f"<li>{escape(b)}</li>" for b in view.brakes) + "</ul>")
    return _page("".join(parts))


def _approval_links(approval: tuple[str, str] | None) -> str:
    if not approval:
        return ""
    return f'<a href="{escape(approval[0])}">Approve</a> · <a href="{escape(approval[1])}">Reject</a>'


def digest_text(view: DigestView) -> str:
    lines = [view.subject, view.headline, view.meaning or f"Signals: {view.signal_counts}", view.covers, ""]
    if view.next_step:
        lines += [f"NEXT STEP: {view.next_step}", ""]
    lines += [f"  {k}: {v}" for k, v in view.by_status] + [""]
    lines.append(f"Resources (first {len(view.lines)} of {view.incidents})")
    for line in view.lines:
        status = STATUS_WORDS.get(line.status, (line.status, ""))[0]
        lines.append(f"  {line.resource.name}  {line.resource.resource_group or '-'}  {status}  {line.incident_id}")
        if line.approval:
            lines.append(f"    approve: {line.approval[0]}  reject: {line.approval[1]}")
    if view.more > 0:
        lines.append(f"  ... and {view.more} more resources not listed.")
    for b in view.brakes:
        lines.append(f"Brake: {b}")
    return "\n".join(lines) + "\n"


def mail_payload(*, subject: str, html: str, text: str, to: tuple[str, ...], message_id: str, incident_id: str | None, text_name: str) -> dict:
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
    }
