"""App settings, read once from the environment (app settings in Azure, local.settings.json or
the shell locally, and the names the Functions platform sets). This is the one module of the
product that reads the environment: every name the app reads is in NAMES and parsed here, once,
into immutable settings; every other module receives them (`Settings.notify` for the notifier,
`Settings.telemetry` for Azure Monitor export). tests/pipeline/test_settings.py holds every name
to a good and a bad value, and tests/test_architecture.py holds the rest of the product to
reading none."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from notify.errors import NotifyConfigError
from notify.routes import parse_routes, split_addresses
from notify.settings import MAIL_CONFIRM, TEAMS_WHEN_UNSURE, NotifySettings, names
from rules import RulesError
from rules.approvers import approver_entries
from rules.durations import parse_duration
from rules.vocabulary import MODES
from telemetry.setup import TelemetrySettings

from .errors import NotifySettingsError, SettingsError

ROOT = Path(__file__).resolve().parent.parent
AZURES = ("none", "sim", "live")

# Every name the app reads, and what it is for (README's Configuration table lists the same).
NAMES: dict[str, str] = {
    "RESPONDER_MODE": "overrides every policy rule's mode",
    "RESPONDER_POLICY_PATH": "the policy file",
    "RESPONDER_CATALOG_EXTRA": "the owner's catalog entries",
    "RESPONDER_SUBSCRIPTIONS": "subscriptions in scope",
    "RESPONDER_RESOURCE_GROUPS_INCLUDE": "resource groups in scope",
    "RESPONDER_RESOURCE_GROUPS_EXCLUDE": "resource groups out of scope",
    "RESPONDER_PAUSED": "stop all automation",
    "RESPONDER_LEDGER": "where the state is",
    "RESPONDER_TABLE_ENDPOINT": "the Table Storage ledger's endpoint",
    "RESPONDER_TABLE_CONNECTION_STRING": "the Table Storage ledger's connection string",
    "RESPONDER_TABLE_PREFIX": "prefix of the ledger's table names",
    "RESPONDER_DEADLETTER_CONNECTION_STRING": "Event Grid's dead-letter storage, for replay --deadletter",
    "RESPONDER_AZURE": "which Azure to act on",
    "RESPONDER_ARM_ENDPOINT": "another Resource Manager URL",
    "RESPONDER_CA_BUNDLE": "a CA bundle to trust",
    "RESPONDER_TEAMS_WEBHOOKS": "Teams webhooks by name",
    "RESPONDER_MAIL_SENDER": "the sending mailbox",
    "RESPONDER_MAIL_TO": "default recipients",
    "RESPONDER_NOTIFY_ROUTES": "notification routes",
    "RESPONDER_NOTIFY_DEFAULT_ROUTES": "routes of a notice that names none",
    "RESPONDER_NOTIFY_ROUTINE": "send routine events too",
    "RESPONDER_NOTIFY_DIGEST_WINDOW": "digest window, seconds",
    "RESPONDER_NOTIFY_DIGEST_AFTER": "incidents told one by one before a digest",
    "RESPONDER_NOTIFY_DIGEST_LIST": "resources a digest lists",
    "RESPONDER_NOTIFY_HOLD": "how long an incident message waits, seconds",
    "RESPONDER_NOTIFY_MAX_ATTEMPTS": "attempts before a message is failed",
    "RESPONDER_MAIL_CONFIRM": "how an uncertain email is confirmed",
    "RESPONDER_TEAMS_WHEN_UNSURE": "what an unanswered Teams post does",
    "RESPONDER_OUTBOX_DIR": "write messages to files instead",
    "RESPONDER_GRAPH_URL": "another Graph base URL",
    "RESPONDER_APPROVAL_SECRET": "key of approval links",  # nosec B105 - a description, not a secret
    "RESPONDER_PUBLIC_URL": "base URL of approval links",
    "RESPONDER_APPROVERS": "who may decide approvals",
    "RESPONDER_APPROVER_SIGN_IN": "App Service sign-in is on for the app",
    "RESPONDER_TICK_SCHEDULE": "the tick's schedule",
    "RESPONDER_SWEEP_SCHEDULE": "the sweep's schedule",
    "RESPONDER_PURGE_SCHEDULE": "the purge's schedule",
    "RESPONDER_RETENTION_DAYS": "days the audit trail is kept",
    "RESPONDER_SCALE_SET_WRITE": "whether the scale-set write role is held",
    "RESPONDER_SWEEP_SOURCE": "the timer's sweep: Resource Graph or ARM lists",
    "RESPONDER_SWEEP_BUDGET": "time a sweep run may spend",
    "RESPONDER_SWEEP_BATCH": "subscriptions per Resource Graph query",
    "RESPONDER_SWEEP_MANAGEMENT_GROUP": "a management group to sweep instead",
    # Set by the platform (the Functions host, the template), not chosen by an operator:
    "AZURE_CLIENT_ID": "the user-assigned managed identity",
    "AZURE_SUBSCRIPTION_ID": "the default subscription of ARM clients",
    "WEBSITE_HOSTNAME": "the app's own host name in Azure",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "turns on telemetry export",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Entra ingestion to Application Insights",
}


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("


def unresolved_references(env: Mapping[str, str]) -> list[str]:
    """Names of the app's settings that still hold a Key Vault reference's literal text.

    App Service puts the secret in place of `@Microsoft.KeyVault(...)` once it can read it; until
    the identity's role on the vault has propagated (or when the secret or role is missing) the
    app receives the reference itself."""
    return sorted(name for name, value in env.items()
                  if (name.startswith("RESPONDER_") or name.startswith("AZURE_"))
                  and (value or "").lstrip().startswith(KEY_VAULT_REFERENCE))


def _policy_path(value: str | None, default: Path) -> Path:
    """A relative RESPONDER_POLICY_PATH is inside the app (its root), wherever the worker runs."""
    if not value:
        return default
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


def _flag(name: str, value: str | None) -> bool:
    folded = (value or "").strip().lower()
    if folded in ("", "0", "false", "no", "off"):
        return False
    if folded in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={value!r}: expected true or false")


def _approvers(value: str) -> tuple[str, ...]:
    """RESPONDER_APPROVERS: `group:<object id>` and `role:<value>`, comma-separated."""
    try:
        return approver_entries(_list(value), "RESPONDER_APPROVERS")
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


# The audit trail is kept at least a week (the brakes look back a day at most) and at most ten years.
RETENTION_DAYS = (7, 3650)


def _days(name: str, value: str | None, default: int) -> int:
    text = (value or "").strip()
    if not text:
        return default
    low, high = RETENTION_DAYS
    if not text.isdigit() or not low <= int(text) <= high:
        raise SettingsError(f"{name}={value!r}: expected a whole number of days from {low} to {high}")
    return int(text)


class _Reader:
    """The environment, read one name at a time; a name outside NAMES is a bug here."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def __call__(self, name: str, default: str = "") -> str:
        assert name in NAMES, f"{name} is read but not listed in NAMES"  # nosec B101 - a programming error
        value = self.env.get(name)
        return default if value is None else value


def _number(read: _Reader, name: str, default: float, kind: Callable[[str], Any], what: str) -> Any:
    raw = read(name).strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise NotifySettingsError(f"{name}={raw!r}: expected {what}") from None


def _choice(read: _Reader, name: str, choices: tuple[str, ...], error: type[SettingsError] = SettingsError) -> str:
    value = (read(name) or choices[0]).strip().lower()
    if value not in choices:
        raise error(f"{name} is {value!r}; expected one of {', '.join(choices)}")
    return value


def teams_webhooks(text: str) -> dict[str, str]:
    """RESPONDER_TEAMS_WEBHOOKS: a JSON object of route (or webhook) name -> webhook URL."""
    expected = "RESPONDER_TEAMS_WEBHOOKS: expected a JSON object of route name -> webhook URL"
    try:
        webhooks = json.loads(text or "{}")
    except ValueError as exc:
        raise NotifySettingsError(f"{expected} (not valid JSON: {exc})") from None
    if not isinstance(webhooks, dict) or not all(isinstance(v, str) and v for v in webhooks.values()):
        raise NotifySettingsError(expected)
    return webhooks


def notify_settings(env: Mapping[str, str]) -> NotifySettings:
    """The notification settings alone (Settings.from_env reads them with the rest)."""
    read = _Reader(env)
    routes_text = read("RESPONDER_NOTIFY_ROUTES").strip()
    routes = None
    if routes_text:
        try:
            routes = json.loads(routes_text)
            parse_routes(routes)  # its errors now, naming the route
        except (ValueError, NotifyConfigError) as exc:
            raise NotifySettingsError(f"RESPONDER_NOTIFY_ROUTES: {exc}") from None
    try:
        default_routes = names(read("RESPONDER_NOTIFY_DEFAULT_ROUTES"))
    except ValueError as exc:
        raise NotifySettingsError(f"RESPONDER_NOTIFY_DEFAULT_ROUTES: expected route names, comma-separated or a JSON list ({exc})") from None
    try:
        routine = _flag("RESPONDER_NOTIFY_ROUTINE", read("RESPONDER_NOTIFY_ROUTINE"))
    except SettingsError as exc:
        raise NotifySettingsError(str(exc)) from None
    return NotifySettings(
        teams_webhooks=teams_webhooks(read("RESPONDER_TEAMS_WEBHOOKS")),
        mail_sender=read("RESPONDER_MAIL_SENDER").strip(),
        mail_to=split_addresses(read("RESPONDER_MAIL_TO")),
        routes=routes,
        default_routes=default_routes,
        routine=routine,
        digest_window=_number(read, "RESPONDER_NOTIFY_DIGEST_WINDOW", NotifySettings.digest_window, float, "a number of seconds"),
        digest_list=_number(read, "RESPONDER_NOTIFY_DIGEST_LIST", NotifySettings.digest_list, int, "a whole number"),
        digest_after=_number(read, "RESPONDER_NOTIFY_DIGEST_AFTER", NotifySettings.digest_after, int, "a whole number"),
        hold=_number(read, "RESPONDER_NOTIFY_HOLD", NotifySettings.hold, float, "a number of seconds"),
        max_attempts=_number(read, "RESPONDER_NOTIFY_MAX_ATTEMPTS", NotifySettings.max_attempts, int, "a whole number"),
        mail_confirm=_choice(read, "RESPONDER_MAIL_CONFIRM", MAIL_CONFIRM, NotifySettingsError),
        teams_when_unsure=_choice(read, "RESPONDER_TEAMS_WHEN_UNSURE", TEAMS_WHEN_UNSURE, NotifySettingsError),
        outbox_dir=read("RESPONDER_OUTBOX_DIR").strip(),
        graph_url=read("RESPONDER_GRAPH_URL").strip(),
        ca_bundle=read("RESPONDER_CA_BUNDLE"),
    )


SWEEP_SOURCES = ("graph", "arm")
SWEEP_MAX_BATCH = 1000  # subscriptions Resource Graph takes in one query


@dataclass(frozen=True)
class SweepSettings:
    """The timer's sweep (sweep/cycle.py): where it reads, how long a run may spend, how many
    subscriptions a query names (the cursor's step), or one management group instead."""

    source: str = "graph"
    budget_seconds: float = 420.0  # 7 of the 10 minutes host.json gives a function
    batch_size: int = 100
    management_group: str | None = None


def _sweep_budget(read: _Reader) -> float:
    name = "RESPONDER_SWEEP_BUDGET"
    text = read(name).strip()
    if not text:
        return SweepSettings.budget_seconds
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text, name).total_seconds()
        except RulesError:
            raise SettingsError(f"{name}={text!r}: expected seconds or an ISO 8601 duration such as PT7M") from None
    if seconds <= 0:
        raise SettingsError(f"{name}={text!r}: the budget must be positive")
    return seconds


def sweep_settings(env: Mapping[str, str]) -> SweepSettings:
    """The sweep's settings alone (Settings.from_env reads them with the rest)."""
    read = _Reader(env)
    source = (read("RESPONDER_SWEEP_SOURCE") or SWEEP_SOURCES[0]).strip().lower()
    if source not in SWEEP_SOURCES:
        raise SettingsError(f"RESPONDER_SWEEP_SOURCE={source!r}: expected graph or arm")
    batch = read("RESPONDER_SWEEP_BATCH").strip()
    if batch and (not batch.isdigit() or not 1 <= int(batch) <= SWEEP_MAX_BATCH):
        raise SettingsError(f"RESPONDER_SWEEP_BATCH={batch!r}: expected 1 to {SWEEP_MAX_BATCH} subscriptions")
    return SweepSettings(
        source=source,
        budget_seconds=_sweep_budget(read),
        batch_size=int(batch) if batch else SweepSettings.batch_size,
        management_group=read("RESPONDER_SWEEP_MANAGEMENT_GROUP").strip() or None,
    )


def telemetry_settings(env: Mapping[str, str] | None = None) -> TelemetrySettings:
    """Azure Monitor export's settings alone: read at start-up, before (and whatever becomes of)
    the rest, which a bad value makes fail at the first event instead."""
    read = _Reader(os.environ if env is None else env)
    return TelemetrySettings(
        connection_string=read("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        authentication_string=read("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"),
        client_id=read("AZURE_CLIENT_ID"),
    )


@dataclass(frozen=True)
class Settings:
    mode: str | None = None  # overrides every policy rule's mode when set
    policy_path: Path = ROOT / "rules" / "policy.yaml"
    catalog_path: Path = ROOT / "rules" / "annotations.yaml"
    catalog_extra: Path | None = None  # an owner's catalog entries, laid over the shipped catalog
    subscriptions: tuple[str, ...] = ()
    resource_groups_include: tuple[str, ...] = ()
    resource_groups_exclude: tuple[str, ...] = ()
    paused: bool = False
    ledger: str = "sqlite::memory:"
    ledger_configured: bool = False  # RESPONDER_LEDGER was set (the command line opens it rather than a temporary one)
    table_endpoint: str = ""
    table_connection_string: str = ""
    table_prefix: str = ""  # empty: the ledger's own default
    deadletter_connection_string: str = ""  # `replay --deadletter` without an identity (Azurite, a key)
    azure: str = "none"  # none | sim | live
    arm_endpoint: str = ""  # another Resource Manager URL (the simulated Azure); empty: Azure's own
    ca_bundle: str = ""  # a CA bundle the ARM client trusts (the simulated Azure's certificate)
    notify: NotifySettings = field(default_factory=NotifySettings)
    approval_secret: str = ""
    public_url: str = ""
    # Who may decide an approval: Entra groups (object ids) and app roles, as `group:<id>` and
    # `role:<value>` (rules/approvers.py's spelling; approvals/approvers.py checks people against
    # them); a rule may name its own.
    approvers: tuple[str, ...] = ()
    # Set by the deployment when it turns on App Service sign-in (Entra ID) for the approval
    # pages: only then are the X-MS-CLIENT-PRINCIPAL headers the platform's, never a caller's.
    approver_sign_in: bool = False
    tick_schedule: str = "0 */1 * * * *"
    sweep_schedule: str = "0 */15 * * * *"
    purge_schedule: str = "0 30 3 * * *"
    retention_days: int = 90  # the audit trail's retention (pipeline/retention.py)
    # Whether the identity holds the opt-in scale-set write role; the template sets it from
    # enableScaleSetWrite. Unset (a shell, the simulated Azure): assumed granted.
    scale_set_write: bool = True
    # Set by the platform: the managed identity, the default subscription, the app's host name.
    client_id: str = ""
    default_subscription: str = ""
    website_hostname: str = ""
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)

    @property
    def teams_webhooks(self) -> Mapping[str, str]:
        return self.notify.teams_webhooks

    @property
    def mail_sender(self) -> str:
        return self.notify.mail_sender

    @property
    def mail_to(self) -> tuple[str, ...]:
        return self.notify.mail_to

    def with_notify(self, env: Mapping[str, str]) -> Settings:
        """These settings with the notification names read from `env` instead (the simulated
        Azure's Teams webhook and mailbox, which the command line plugs in at run time)."""
        return replace(self, notify=notify_settings(env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        unresolved = unresolved_references(env)
        if unresolved:
            raise SettingsError(
                f"{', '.join(unresolved)}: unresolved Key Vault reference (the app received the literal "
                "@Microsoft.KeyVault(...) text): the identity cannot read the secret yet (role propagation "
                "takes minutes) or the secret is missing; `python -m responder doctor` names the cause")
        read = _Reader(env)
        mode = read("RESPONDER_MODE").strip().lower() or None
        if mode is not None and mode not in MODES:
            raise SettingsError(f"RESPONDER_MODE={mode!r}: expected one of {', '.join(MODES)}")
        azure = read("RESPONDER_AZURE", "none").strip().lower() or "none"
        if azure not in AZURES:
            raise SettingsError(f"RESPONDER_AZURE={azure!r}: expected none, sim or live")
        catalog_extra = read("RESPONDER_CATALOG_EXTRA")
        return cls(
            mode=mode,
            policy_path=_policy_path(read("RESPONDER_POLICY_PATH"), cls.policy_path),
            catalog_extra=Path(catalog_extra) if catalog_extra.strip() else None,
            subscriptions=tuple(s.lower() for s in _list(read("RESPONDER_SUBSCRIPTIONS"))),
            resource_groups_include=tuple(s.lower() for s in _list(read("RESPONDER_RESOURCE_GROUPS_INCLUDE"))),
            resource_groups_exclude=tuple(s.lower() for s in _list(read("RESPONDER_RESOURCE_GROUPS_EXCLUDE"))),
            paused=_flag("RESPONDER_PAUSED", read("RESPONDER_PAUSED")),
            ledger=read("RESPONDER_LEDGER") or cls.ledger,
            ledger_configured=bool(read("RESPONDER_LEDGER").strip()),
            table_endpoint=read("RESPONDER_TABLE_ENDPOINT").strip(),
            table_connection_string=read("RESPONDER_TABLE_CONNECTION_STRING").strip(),
            table_prefix=read("RESPONDER_TABLE_PREFIX").strip(),
            deadletter_connection_string=read("RESPONDER_DEADLETTER_CONNECTION_STRING").strip(),
            azure=azure,
            arm_endpoint=read("RESPONDER_ARM_ENDPOINT"),
            ca_bundle=read("RESPONDER_CA_BUNDLE"),
            notify=notify_settings(env),
            approval_secret=read("RESPONDER_APPROVAL_SECRET"),
            public_url=read("RESPONDER_PUBLIC_URL"),
            approvers=_approvers(read("RESPONDER_APPROVERS")),
            approver_sign_in=_flag("RESPONDER_APPROVER_SIGN_IN", read("RESPONDER_APPROVER_SIGN_IN")),
            tick_schedule=read("RESPONDER_TICK_SCHEDULE") or cls.tick_schedule,
            sweep_schedule=read("RESPONDER_SWEEP_SCHEDULE") or cls.sweep_schedule,
            purge_schedule=read("RESPONDER_PURGE_SCHEDULE") or cls.purge_schedule,
            retention_days=_days("RESPONDER_RETENTION_DAYS", read("RESPONDER_RETENTION_DAYS"), cls.retention_days),
            scale_set_write=_flag("RESPONDER_SCALE_SET_WRITE", read("RESPONDER_SCALE_SET_WRITE") or "true"),
            client_id=read("AZURE_CLIENT_ID").strip(),
            default_subscription=read("AZURE_SUBSCRIPTION_ID").strip(),
            website_hostname=read("WEBSITE_HOSTNAME").strip(),
            telemetry=telemetry_settings(env),
            sweep=sweep_settings(env),
        )
