"""Which deployment doctor checks: the values azd keeps in its environment after `azd up`.

`azd env get-values` prints them (the template's outputs and what was set with `azd env set`);
azd passes them to hooks as environment variables, and `--env-file` reads that output.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REQUIRED = {
    "AZURE_SUBSCRIPTION_ID": "subscription",
    "AZURE_RESOURCE_GROUP": "resource_group",
    "AZURE_FUNCTION_APP_NAME": "app_name",
    "RESPONDER_PRINCIPAL_ID": "principal_id",
}


class TargetError(ValueError):
    """The environment does not say which deployment to check."""


@dataclass(frozen=True)
class Target:
    subscription: str
    resource_group: str
    app_name: str
    principal_id: str
    monitored: tuple[str, ...]
    signals_group: str
    health_topic: str
    maintenance_topic: str
    action_group: str
    mail_sender: str
    teams_webhooks: str
    graph_permissions: bool
    scale_set_write_role: bool

    @property
    def site(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.Web/sites/{self.app_name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Target:
        missing = [name for name in REQUIRED if not (env.get(name) or "").strip()]
        if missing:
            raise TargetError(f"{', '.join(missing)} not set: run doctor where azd's environment is loaded "
                              "(`python -m responder doctor --env-file .azure/<env>/.env`, or from an azd hook)")

        def flag(name: str, default: str) -> bool:
            return (env.get(name) or default).strip().lower() in ("1", "true", "yes", "on")

        monitored = tuple(s.strip() for s in (env.get("RESPONDER_MONITORED_SUBSCRIPTIONS") or env["AZURE_SUBSCRIPTION_ID"]).split(",") if s.strip())
        return cls(
            subscription=env["AZURE_SUBSCRIPTION_ID"].strip(),
            resource_group=env["AZURE_RESOURCE_GROUP"].strip(),
            app_name=env["AZURE_FUNCTION_APP_NAME"].strip(),
            principal_id=env["RESPONDER_PRINCIPAL_ID"].strip(),
            monitored=monitored,
            signals_group=env.get("RESPONDER_SIGNALS_RESOURCE_GROUP_NAME") or "",
            health_topic=env.get("RESPONDER_HEALTH_TOPIC_NAME") or "",
            maintenance_topic=env.get("RESPONDER_MAINTENANCE_TOPIC_NAME") or "",
            action_group=env.get("RESPONDER_ACTION_GROUP_NAME") or "",
            mail_sender=env.get("RESPONDER_MAIL_SENDER") or "",
            teams_webhooks=env.get("RESPONDER_TEAMS_WEBHOOKS") or "",
            graph_permissions=flag("RESPONDER_GRAPH_PERMISSIONS", "true"),
            scale_set_write_role=flag("RESPONDER_SCALE_SET_WRITE_ROLE", "false"),
        )


def read_env_file(path: str | Path) -> dict[str, str]:
    """`NAME="value"` lines, as `azd env get-values` prints them (values shell-quoted)."""
    values: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, raw = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise TargetError(f"{path}:{number}: expected NAME=value, got {line[:60]!r}")
        try:
            parts = shlex.split(raw, posix=True)
        except ValueError as exc:
            raise TargetError(f"{path}:{number}: {name.strip()}: {exc}") from None
        values[name.strip()] = parts[0] if len(parts) == 1 else " ".join(parts)
    return values


def teams_routes(raw: str) -> dict[str, str]:
    """The Teams routes of RESPONDER_TEAMS_WEBHOOKS, or ValueError naming what is wrong."""
    try:
        routes = json.loads(raw or "{}")
    except ValueError:
        raise ValueError("RESPONDER_TEAMS_WEBHOOKS is not JSON") from None
    if not isinstance(routes, dict) or not all(isinstance(v, str) for v in routes.values()):
        raise ValueError("RESPONDER_TEAMS_WEBHOOKS must be a JSON object of route name -> webhook URL")
    return routes
