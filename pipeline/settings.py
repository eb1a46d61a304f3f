"""App settings, read once from the environment (app settings in Azure, local.settings.json or
the shell locally). Every name the app reads is here, with its default."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import SettingsError

ROOT = Path(__file__).resolve().parent.parent
MODES = ("observe", "approve", "auto")


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
    table_endpoint: str = ""
    table_connection_string: str = ""
    azure: str = "none"  # none | sim | live
    arm_endpoint: str = ""  # another Resource Manager URL (the simulated Azure); empty: Azure's own
    ca_bundle: str = ""  # a CA bundle the ARM client trusts (the simulated Azure's certificate)
    teams_webhooks: Mapping[str, str] = field(default_factory=dict)
    mail_sender: str = ""
    mail_to: tuple[str, ...] = ()
    approval_secret: str = ""
    public_url: str = ""
    # Who may decide an approval: Entra groups (object ids) and app roles, as `group:<id>` and
    # `role:<name>` (approvals/approvers.py reads them); a rule may name its own.
    approvers: tuple[str, ...] = ()
    # Set by the deployment when it turns on App Service sign-in (Entra ID) for the approval
    # pages: only then are the X-MS-CLIENT-PRINCIPAL headers the platform's, never a caller's.
    approver_sign_in: bool = False
    tick_schedule: str = "0 */1 * * * *"
    sweep_schedule: str = "0 */15 * * * *"
    # Whether the identity holds the opt-in scale-set write role; the template sets it from
    # enableScaleSetWrite. Unset (a shell, the simulated Azure): assumed granted.
    scale_set_write: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        unresolved = unresolved_references(env)
        if unresolved:
            raise SettingsError(
                f"{', '.join(unresolved)}: unresolved Key Vault reference (the app received the literal "
                "@Microsoft.KeyVault(...) text): the identity cannot read the secret yet (role propagation "
                "takes minutes) or the secret is missing; `python -m responder doctor` names the cause")
        mode = (env.get("RESPONDER_MODE") or "").strip().lower() or None
        if mode is not None and mode not in MODES:
            raise SettingsError(f"RESPONDER_MODE={mode!r}: expected one of {', '.join(MODES)}")
        azure = (env.get("RESPONDER_AZURE") or "none").strip().lower()
        if azure not in ("none", "sim", "live"):
            raise SettingsError(f"RESPONDER_AZURE={azure!r}: expected none, sim or live")
        webhooks_raw = env.get("RESPONDER_TEAMS_WEBHOOKS") or "{}"
        try:
            webhooks = json.loads(webhooks_raw)
        except ValueError:
            raise SettingsError("RESPONDER_TEAMS_WEBHOOKS: expected a JSON object of route name -> webhook URL") from None
        if not isinstance(webhooks, dict) or not all(isinstance(v, str) for v in webhooks.values()):
            raise SettingsError("RESPONDER_TEAMS_WEBHOOKS: expected a JSON object of route name -> webhook URL")
        return cls(
            mode=mode,
            policy_path=_policy_path(env.get("RESPONDER_POLICY_PATH"), cls.policy_path),
            catalog_extra=Path(env["RESPONDER_CATALOG_EXTRA"]) if (env.get("RESPONDER_CATALOG_EXTRA") or "").strip() else None,
            subscriptions=tuple(s.lower() for s in _list(env.get("RESPONDER_SUBSCRIPTIONS"))),
            resource_groups_include=tuple(s.lower() for s in _list(env.get("RESPONDER_RESOURCE_GROUPS_INCLUDE"))),
            resource_groups_exclude=tuple(s.lower() for s in _list(env.get("RESPONDER_RESOURCE_GROUPS_EXCLUDE"))),
            paused=_flag("RESPONDER_PAUSED", env.get("RESPONDER_PAUSED")),
            ledger=env.get("RESPONDER_LEDGER") or cls.ledger,
            table_endpoint=env.get("RESPONDER_TABLE_ENDPOINT", ""),
            table_connection_string=env.get("RESPONDER_TABLE_CONNECTION_STRING", ""),
            azure=azure,
            arm_endpoint=env.get("RESPONDER_ARM_ENDPOINT", ""),
            ca_bundle=env.get("RESPONDER_CA_BUNDLE", ""),
            teams_webhooks=webhooks,
            mail_sender=env.get("RESPONDER_MAIL_SENDER", ""),
            mail_to=_list(env.get("RESPONDER_MAIL_TO")),
            approval_secret=env.get("RESPONDER_APPROVAL_SECRET", ""),
            public_url=env.get("RESPONDER_PUBLIC_URL", ""),
            approvers=_list(env.get("RESPONDER_APPROVERS")),
            approver_sign_in=_flag("RESPONDER_APPROVER_SIGN_IN", env.get("RESPONDER_APPROVER_SIGN_IN")),
            tick_schedule=env.get("RESPONDER_TICK_SCHEDULE") or cls.tick_schedule,
            sweep_schedule=env.get("RESPONDER_SWEEP_SCHEDULE") or cls.sweep_schedule,
            scale_set_write=_flag("RESPONDER_SCALE_SET_WRITE", env.get("RESPONDER_SCALE_SET_WRITE") or "true"),
        )
