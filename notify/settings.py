"""The notification settings, as the app's one settings reader (pipeline/settings.py) parses them
from the environment, and the Notifier's parts built from them and the policy's keys.

App settings: RESPONDER_TEAMS_WEBHOOKS, RESPONDER_MAIL_SENDER, RESPONDER_MAIL_TO,
RESPONDER_NOTIFY_* (routes, default routes, routine, digest window/after/list, hold, max attempts),
RESPONDER_MAIL_CONFIRM, RESPONDER_TEAMS_WHEN_UNSURE, RESPONDER_OUTBOX_DIR, and for the simulated
Azure RESPONDER_GRAPH_URL and RESPONDER_CA_BUNDLE. Policy keys, passed beside them: notify_routes and
notify_default_routes. docs/notifications.md has the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .digest import DigestPolicy
from .errors import NotifyConfigError
from .retry import Backoff
from .routes import DEFAULT_ROUTE_NAMES, Router, parse_routes

# After a Teams post whose answer was lost: post again (a rare duplicate card), or keep the
# message failed, visible, for a person (never a duplicate). A webhook cannot be read back.
TEAMS_WHEN_UNSURE = ("resend", "keep")
# After an email whose answer was lost: look in the sender's Sent Items, or mark it failed.
MAIL_CONFIRM = ("sent-items", "none")


@dataclass(frozen=True)
class NotifySettings:
    """The notification app settings, parsed (pipeline/settings.py reads them; nothing here
    reads the environment). The defaults are an app with no channel configured."""

    teams_webhooks: Mapping[str, str] = field(default_factory=dict)  # webhook (or route) name -> URL
    mail_sender: str = ""
    mail_to: tuple[str, ...] = ()
    routes: Mapping[str, Any] | None = None  # RESPONDER_NOTIFY_ROUTES; the policy's notify_routes win
    default_routes: tuple[str, ...] = ()  # empty: DEFAULT_ROUTE_NAMES
    routine: bool = False
    digest_window: float = 300.0  # seconds
    digest_list: int = 10
    digest_after: int = DigestPolicy.individual
    hold: float = DigestPolicy.hold.total_seconds()
    max_attempts: int = 8
    mail_confirm: str = "sent-items"
    teams_when_unsure: str = "resend"
    outbox_dir: str = ""
    graph_url: str = ""
    ca_bundle: str = ""

    @property
    def configured(self) -> bool:
        """Whether any channel is: a Teams webhook, a mail sender, or an outbox folder."""
        return bool(self.teams_webhooks or self.mail_sender or self.outbox_dir)


def names(value: Any) -> tuple[str, ...]:
    """Route names from a JSON list, a comma-separated text, or a list (the policy's)."""
    if not value:
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())


def read_settings(
    settings: NotifySettings,
    *,
    policy_routes: Any = None,
    policy_default_routes: Any = None,
    credential: Any = None,
    channels: Mapping[str, Any] | None = None,
    outbox_dir: str | None = None,
) -> dict[str, Any]:
    """The Notifier's parts (router, channels, digest, backoff, ...) from settings and the
    policy's keys (which win over the app settings of the same meaning)."""
    s = settings
    webhooks = dict(s.teams_webhooks)
    sender = s.mail_sender or None
    mail_to = s.mail_to
    routes = parse_routes(policy_routes or s.routes)
    defaults = names(policy_default_routes) or s.default_routes or DEFAULT_ROUTE_NAMES
    unknown = [d for d in defaults if d not in routes]
    if unknown:
        raise NotifyConfigError(f"default notification routes not defined in notify_routes: {unknown}")
    try:
        digest = DigestPolicy(
            window=timedelta(seconds=s.digest_window),
            listed=s.digest_list,
            individual=s.digest_after,
            hold=timedelta(seconds=s.hold),
        )
        backoff = Backoff(max_attempts=s.max_attempts)
    except ValueError as exc:
        raise NotifyConfigError(f"notification digest/retry settings: {exc}") from exc
    outbox_dir = outbox_dir or s.outbox_dir
    verify: Any = s.ca_bundle or True
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
                channels["teams"] = TeamsWebhookChannel(webhooks, verify=verify, resend_when_unsure=s.teams_when_unsure == "resend")
            if sender:
                channels["email"] = GraphMailChannel(
                    sender,
                    credential=credential,
                    base_url=s.graph_url or None,
                    verify=verify,
                    confirm_sent=s.mail_confirm != "none",
                )
    return {
        "router": Router(routes, webhooks=webhooks, mail_sender=sender, mail_to=mail_to, default_routes=defaults),
        "channels": channels,
        "digest": digest,
        "backoff": backoff,
        "send_routine": s.routine,
        "mail_sender": sender,
    }
