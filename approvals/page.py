"""The small HTML pages a person sees after following an Approve or Reject link.

Everything shown is escaped; the page never contains the token (the form posts back to the
same address) or the secret. Headers keep it out of caches, frames and Referer headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from arm import short_name

from .records import View

HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    # The token is in the address: no Referer may carry it to another site.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}
CONFIRM_FIELD = "confirm"  # the form posts confirm=<choice>; a bare POST (a scanner) decides nothing

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
    "table{border-collapse:collapse}td,th{text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top}"
    "button{font-size:1.1rem;padding:.5rem 1.4rem;border:0;border-radius:.3rem;color:#fff;cursor:pointer}"
    ".approve{background:#0f7b0f}.reject{background:#a4262c}.note{color:#555}"
)


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex,nofollow\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _rows(pairs: list[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs if v not in (None, ""))


def _facts(facts: Mapping[str, Any]) -> str:
    """What the live state showed, as a person reads it: `update_domain` as "Update domain",
    tags as `owner=web-team@…`, nothing unknown (None) shown."""
    shown = [(_label(k), _value(v)) for k, v in sorted(facts.items()) if v not in (None, "", {}, [])]
    if not shown:
        return ""
    return "<h2>What the live state showed</h2><table>" + _rows(shown) + "</table>"


def _label(key: str) -> str:
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def view_page(view: View, signed_in_as: str | None = None, not_yours: str | None = None) -> str:
    """The approval's page. `not_yours`: why the signed-in person may not decide (the page then
    says so, and who may, instead of showing a button that would answer 403)."""
    record = view.record
    verb = "Approve" if view.choice == "approve" else "Reject"
    title = f"{verb} {record.action} of {short_name(record.resource_id)}?"
    details = "<table>" + _rows([
        ("Action", record.action), ("Resource", record.resource_id), ("Incident", record.incident_id),
        ("Why", record.reason), ("Link expires", record.expires_at.strftime("%a %d %b %H:%M UTC")), ("State", view.story),
        ("Signed in as", signed_in_as),
    ]) + "</table>"
    if not view.actionable:
        return _document(title, details + _facts(record.facts) + "<p class=\"note\">This link can no longer decide anything.</p>")
    if not_yours:
        return _document(title, details + _facts(record.facts) + f"<p class=\"note\">{escape(not_yours)}</p>")
    what = ("The live state is checked again when you approve: if the condition is gone, nothing is done."
            if view.choice == "approve" else "Nothing will be done to the resource; the incident records who rejected it.")
    form = (
        "<form method=\"post\">"
        f"<input type=\"hidden\" name=\"{CONFIRM_FIELD}\" value=\"{escape(view.choice)}\">"
        f"<button type=\"submit\" class=\"{escape(view.choice)}\">{verb} {escape(record.action)}</button></form>"
    )
    return _document(title, details + _facts(record.facts) + f"<p class=\"note\">{escape(what)}</p>" + form)


def list_page(scope: str, pending: list, link) -> str:
    """Every approval pending in a storm scope, each with its own Approve and Reject links: each
    link opens that approval's own page, which shows what would happen and asks to confirm."""
    title = f"{len(pending)} approval{'s' if len(pending) != 1 else ''} waiting in {scope_words(scope)}"
    if not pending:
        return _document(title, "<p class=\"note\">Nothing is waiting: each was decided, or its time ran out.</p>")
    head = "".join(f"<th scope=\"col\">{h}</th>" for h in ("Resource", "Action", "Incident", "Links expire", "Decide"))
    rows = "".join(
        "<tr>"
        f"<td>{escape(short_name(r.resource_id))}</td><td>{escape(r.action)}</td><td>{escape(r.incident_id)}</td>"
        f"<td>{escape(r.expires_at.strftime('%a %d %b %H:%M UTC'))}</td>"
        f"<td><a href=\"{escape(link(r, 'approve'))}\">Approve…</a> · <a href=\"{escape(link(r, 'reject'))}\">Reject…</a></td>"
        "</tr>"
        for r in sorted(pending, key=lambda r: (r.expires_at, r.resource_id))
    )
    note = ("<p class=\"note\">Each link opens that approval's own page, which shows what would be done and asks you to "
            "confirm; nothing is decided from this list.</p>")
    return _document(title, note + f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def scope_words(scope: str) -> str:
    if scope.startswith("ss:"):
        return f"scale set {scope.rstrip('/').split('/')[-1]}"
    _, _, rest = scope.partition(":")
    subscription, _, region = rest.partition(":")
    return f"subscription {subscription}" + (f" in {region}" if region else "")


def outcome_page(choice: str, outcome) -> str:
    verb = {"approve": "Approved", "reject": "Rejected"}.get(choice, choice)
    body = "<table>" + _rows([
        ("Action", outcome.action), ("Resource", outcome.resource_id), ("Incident", outcome.incident_id),
        ("Outcome", outcome.status), ("Why", outcome.reason),
    ]) + "</table>"
    return _document(f"{verb}: {outcome.action} {outcome.status}", body)


def not_an_approver_page(message: str) -> str:
    """403 for a signed-in person outside the approvers: the message says who may decide."""
    return _document("You may not decide this approval", f"<p>{escape(message)}</p>"
                     "<p class=\"note\">Nothing was done. Forward the link to one of them, or ask the app's operators"
                     " to add you.</p>")


def sign_in_page(target: str) -> str:
    """401 for a decision posted by nobody signed in."""
    return _document("Sign in to decide", "<p>Only signed-in approvers may decide. "
                     f"<a href=\"{escape(target)}\">Sign in</a>, then use the button on the approval page.</p>")


def refusal_page(status: int, message: str, title: str | None = None) -> str:
    titles = {400: "This is not an approval link", 403: "This approval link is not genuine",
              404: "No such approval", 405: "This page decides nothing", 410: "This approval link can no longer be used", 413: "This request is too large",
              503: "Approvals are not available"}
    return _document(title or titles.get(status, "Approval refused"), f"<p>{escape(message)}</p>")
