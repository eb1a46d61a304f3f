"""Reading the notification settings: app settings (os.environ-like) and policy keys.

App settings: RESPONDER_TEAMS_WEBHOOKS, RESPONDER_MAIL_SENDER, RESPONDER_MAIL_TO,
RESPONDER_NOTIFY_* (routes, default routes, routine, digest window/after/list, hold, max attempts),
RESPONDER_MAIL_CONFIRM, RESPONDER_TEAMS_WHEN_UNSURE, RESPONDER_OUTBOX_DIR, and for the simulated Azure RESPONDER_GRAPH_URL
and RESPONDER_CA_BUNDLE. Policy keys, passed in the same mapping: notify_routes,
notify_default_routes, notify_routine. docs/notifications.md has the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .digest import DigestPolicy
from .errors import NotifyConfigError
from .retry import Backoff
from .routes import DEFAULT_ROUTE_NAMES, Router, parse_routes, split_addresses

# After a Teams post whose answer was lost: post again (a rare duplicate card), or keep the
# message failed, visible, for a person (never a duplicate). A webhook cannot be read back.
TEAMS_WHEN_UNSURE = ("resend", "keep")


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())


def read_settings(
    settings: Mapping[str, Any],
    *,
    credential: Any = None,
    channels: Mapping[str, Any] | None = None,
    outbox_dir: str | None = None,
) -> dict[str, Any]:
    """The Notifier's parts (router, channels, digest, backoff, ...) from settings."""
    s = settings
    try:
        webhooks = json.loads(s.get("RESPONDER_TEAMS_WEBHOOKS") or "{}")
    except json.JSONDecodeError as exc:
        raise NotifyConfigError(f"RESPONDER_TEAMS_WEBHOOKS is not valid JSON: {exc}") from exc
    if not isinstance(webhooks, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in webhooks.items()):
        raise NotifyConfigError("RESPONDER_TEAMS_WEBHOOKS must be a JSON object of webhook name -> URL")
    sender = (s.get("RESPONDER_MAIL_SENDER") or "").strip() or None
    mail_to = split_addresses(s.get("RESPONDER_MAIL_TO"))
    routes = parse_routes(s.get("notify_routes") or s.get("RESPONDER_NOTIFY_ROUTES"))
    defaults = _names(s.get("notify_default_routes") or s.get("RESPONDER_NOTIFY_DEFAULT_ROUTES")) or DEFAULT_ROUTE_NAMES
    unknown = [d for d in defaults if d not in routes]
    if unknown:
        raise NotifyConfigError(f"default notification routes not defined in notify_routes: {unknown}")
    try:
        digest = DigestPolicy(
            window=timedelta(seconds=float(s.get("RESPONDER_NOTIFY_DIGEST_WINDOW") or 300)),
            listed=int(s.get("RESPONDER_NOTIFY_DIGEST_LIST") or 10),
            individual=int(s.get("RESPONDER_NOTIFY_DIGEST_AFTER") or DigestPolicy.individual),
            hold=timedelta(seconds=float(s.get("RESPONDER_NOTIFY_HOLD") or DigestPolicy.hold.total_seconds())),
        )
        backoff = Backoff(max_attempts=int(s.get("RESPONDER_NOTIFY_MAX_ATTEMPTS") or 8))
    except ValueError as exc:
        raise NotifyConfigError(f"notification digest/retry settings: {exc}") from exc
    when_unsure = (s.get("RESPONDER_TEAMS_WHEN_UNSURE") or "resend").strip().lower()
    if when_unsure not in TEAMS_WHEN_UNSURE:
        raise NotifyConfigError(f"RESPONDER_TEAMS_WHEN_UNSURE is {when_unsure!r}; expected one of {', '.join(TEAMS_WHEN_UNSURE)}")
    outbox_dir = outbox_dir or s.get("RESPONDER_OUTBOX_DIR")
    verify: Any = s.get("RESPONDER_CA_BUNDLE") or True
    if channels is None:
        if outbox_dir:
            from .files import FileChannel

            # A dry run writes what would be sent: give it somewhere to "send" even unconfigured.
            webhooks = webhooks or {"ops": "file:"}
            sender = sender or "responder@localhost"
            mail_to = mail_to or ("ops@localhost",)
            channels = {"teams": FileChannel(outbox_dir, "teams"), "email": FileChannel(outbox_dir, "email")}
        else:
            from .graph_mail import GraphMailChannel
            from .teams import TeamsWebhookChannel

            channels = {}
            if webhooks:
                channels["teams"] = TeamsWebhookChannel(webhooks, verify=verify, resend_when_unsure=when_unsure == "resend")
            if sender:
                channels["email"] = GraphMailChannel(
                    sender,
                    credential=credential,
                    base_url=s.get("RESPONDER_GRAPH_URL") or None,
                    verify=verify,
                    confirm_sent=(s.get("RESPONDER_MAIL_CONFIRM") or "sent-items") != "none",
                )
    return {
        "router": Router(routes, webhooks=webhooks, mail_sender=sender, mail_to=mail_to, default_routes=defaults),
        "channels": channels,
        "digest": digest,
        "backoff": backoff,
        "send_routine": _truthy(s.get("notify_routine") or s.get("RESPONDER_NOTIFY_ROUTINE")),
        "mail_sender": sender,
    }

