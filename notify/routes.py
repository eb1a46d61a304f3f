"""Where a notice goes: policy routes resolved against the channels configured in settings.

Policy names routes; settings hold the secrets and addresses:

    notify_routes:                 # in policy (or RESPONDER_NOTIFY_ROUTES as JSON)
      ops-teams:    {teams: ops}                 # a name in RESPONDER_TEAMS_WEBHOOKS
      owner-email:  {email: owner-tag}           # the resource's owner tag (Notice.owner_emails)
      oncall-email: {email: [oncall@contoso.com]}
      ops-email:    {email: default}             # RESPONDER_MAIL_TO

A notice names its routes (`Notice.routes`); a notice without routes goes to the default
routes (`notify_default_routes`, else ops-teams and ops-email). A route whose channel is not
configured is reported, never raised: a notification problem must not stop a remediation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import NotifyConfigError
from .notice import Notice

BUILTIN_ROUTES: dict[str, dict[str, Any]] = {
    "ops-teams": {"teams": "ops"},
    "ops-email": {"email": "default"},
    "owner-email": {"email": "owner-tag"},
}
DEFAULT_ROUTE_NAMES = ("ops-teams", "ops-email")
OWNER_TAGS = ("owner", "owner-email", "ownerEmail")

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class Route:
    name: str
    channel: str  # "teams" | "email"
    webhook: str | None = None  # teams: a name in RESPONDER_TEAMS_WEBHOOKS
    recipients: tuple[str, ...] = ()  # email: fixed addresses
    owner_tag: bool = False  # email: the resource owner's addresses, from the notice
    default_recipients: bool = False  # email: RESPONDER_MAIL_TO


@dataclass(frozen=True)
class Destination:
    """One resolved place to send: the unit of grouping, digests and rate limits."""

    route: str
    channel: str  # "teams" | "email"
    target: str  # webhook name, or comma-joined sorted recipients
    note: str | None = None  # e.g. "no owner tag: sent to the default recipients"

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.target}"

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(self.target.split(",")) if self.channel == "email" and self.target else ()


@dataclass(frozen=True)
class Unrouted:
    route: str
    why: str


def split_addresses(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Addresses from a comma/semicolon list or an iterable; invalid ones are dropped."""
    if value is None:
        return ()
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else [str(v) for v in value]
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip().strip("<>")
        if _EMAIL.match(item):
            seen.setdefault(item.lower(), None)
    return tuple(seen)


def owner_emails(tags: Mapping[str, str] | None, tag_names: Iterable[str] = OWNER_TAGS) -> tuple[str, ...]:
    """The owner's addresses from a resource's tags (tag names compared case-insensitively)."""
    if not tags:
        return ()
    wanted = {t.lower() for t in tag_names}
    found: list[str] = []
    for name, value in tags.items():
        if name.lower() in wanted:
            found.extend(split_addresses(value))
    return tuple(dict.fromkeys(found))


def parse_route(name: str, spec: Any) -> Route:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise NotifyConfigError(f"route {name!r}: expected one of {{teams: NAME}} or {{email: ...}}, got {spec!r}")
    (channel, value), = spec.items()
    if channel == "teams":
        if not isinstance(value, str) or not value:
            raise NotifyConfigError(f"route {name!r}: teams needs a webhook name, got {value!r}")
        return Route(name, "teams", webhook=value)
    if channel == "email":
        if value == "owner-tag":
            return Route(name, "email", owner_tag=True)
        if value == "default":
            return Route(name, "email", default_recipients=True)
        addresses = split_addresses(value)
        if not addresses:
            raise NotifyConfigError(f"route {name!r}: email needs owner-tag, default or addresses, got {value!r}")
        return Route(name, "email", recipients=addresses)
    raise NotifyConfigError(f"route {name!r}: unknown channel {channel!r} (teams or email)")


def parse_routes(spec: Any) -> dict[str, Route]:
    """Policy's `notify_routes` (a mapping, or its JSON text) over the built-in routes."""
    if spec in (None, "", {}):
        spec = {}
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise NotifyConfigError(f"notify routes are not valid JSON: {exc}") from exc
    if not isinstance(spec, Mapping):
        raise NotifyConfigError(f"notify routes must be a mapping of route name to channel, got {type(spec).__name__}")
    merged = {**BUILTIN_ROUTES, **spec}
    return {name: parse_route(name, value) for name, value in merged.items()}


class Router:
    """Resolves a notice's routes to destinations, given the configured channels."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        webhooks: Mapping[str, str],
        mail_sender: str | None,
        mail_to: tuple[str, ...],
        default_routes: tuple[str, ...] = DEFAULT_ROUTE_NAMES,
    ) -> None:
        self.routes = dict(routes)
        self.webhooks = dict(webhooks)
        self.mail_sender = mail_sender
        self.mail_to = mail_to
        self.default_routes = default_routes

    def route(self, name: str) -> Route | None:
        """A policy route; else a webhook of that name is a Teams route of its own, so
        RESPONDER_TEAMS_WEBHOOKS may be keyed by route name as well as by webhook name."""
        if name in self.routes:
            return self.routes[name]
        return Route(name, "teams", webhook=name) if name in self.webhooks else None

    def webhook_name(self, wanted: str) -> str | None:
        if wanted in self.webhooks:
            return wanted
        if len(self.webhooks) == 1:  # one webhook configured: it is "the" Teams channel
            return next(iter(self.webhooks))
        return None

    def resolve(self, notice: Notice) -> tuple[list[Destination], list[Unrouted]]:
        names = notice.routes or self.default_routes
        found: dict[str, Destination] = {}
        missing: list[Unrouted] = []
        for name in names:
            route = self.route(name)
            if route is None:
                missing.append(Unrouted(name, "no such route in notify_routes"))
                continue
            dest = self._destination(route, notice)
            if isinstance(dest, Unrouted):
                missing.append(dest)
            else:
                found.setdefault(dest.key, dest)  # two routes to one place send once
        if not found and notice.routes and names != self.default_routes:
            # Every named route failed: fall back to the defaults rather than tell no one.
            for name in self.default_routes:
                route = self.route(name)
                fallback = self._destination(route, notice) if route else None
                if isinstance(fallback, Destination):
                    found.setdefault(fallback.key, fallback)
        return list(found.values()), missing

    def _destination(self, route: Route, notice: Notice) -> Destination | Unrouted:
        if route.channel == "teams":
            webhook = self.webhook_name(route.webhook or "")
            if webhook is None and route.name in self.webhooks:  # keyed by route name
                webhook = route.name
            if webhook is None:
                return Unrouted(route.name, f"no Teams webhook named {route.webhook!r} in RESPONDER_TEAMS_WEBHOOKS")
            return Destination(route.name, "teams", webhook)
        if not self.mail_sender:
            return Unrouted(route.name, "RESPONDER_MAIL_SENDER is not set")
        note = None
        if route.owner_tag:
            recipients = split_addresses(notice.owner_emails)
            if not recipients:
                recipients, note = self.mail_to, "The resource has no owner tag; sent to the default recipients."
        elif route.default_recipients:
            recipients = self.mail_to
        else:
            recipients = route.recipients
        if not recipients:
            return Unrouted(route.name, "no recipients (owner tag empty and RESPONDER_MAIL_TO not set)")
        return Destination(route.name, "email", ",".join(sorted(recipients)), note)
