"""The checks: each reads one part of the deployment and says PASS or FAIL, and for a failure the fix.

Every check is a function `(context) -> list[Check]`; a read that fails is that check's FAIL
(with what doctor itself needs to read it), never an exception that hides the other checks.
"""

from __future__ import annotations

import fnmatch
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .reads import Reader, ReadError, filter_assigned_to
from .target import Target, teams_routes

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MAIL_PERMISSIONS = ("Mail.Send", "Mail.ReadBasic")
EVENT_SUBSCRIPTION = "resource-health-responder"
ALERT_NAMES = ("responder-service-health", "responder-resource-health", "responder-scale-set-repair-state")
TABLE_WRITE = "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write"
PROVISION = "azd provision"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class Context:
    """What the checks share: the target, the reader, and what earlier checks read."""

    target: Target
    reader: Reader
    credential: Any = None
    table_verify: bool | str = True
    app_settings: dict[str, str] = field(default_factory=dict)
    settings: Any = None  # pipeline.Settings parsed from the app settings, when they parse
    host_name: str = ""


def _read_failed(name: str, exc: ReadError, needs: str) -> Check:
    return Check(name, FAIL, str(exc), f"doctor needs {needs} to read this" if exc.status in (401, 403) else
                 "check the azd environment names the deployment (azd env get-values), then run doctor again")


# -- settings --------------------------------------------------------------------------------

def read_references(ctx: Context) -> dict[str, dict]:
    """{setting name: properties} of the app's Key Vault references (status Resolved or not)."""
    items = ctx.reader.arm_list(f"{ctx.target.site}/config/configreferences/appsettings", "web", "Key Vault references")
    return {item["name"].rsplit("/", 1)[-1]: item.get("properties", {}) for item in items}


def unresolved(references: dict[str, dict]) -> dict[str, dict]:
    return {name: p for name, p in references.items() if (p.get("status") or "").lower() != "resolved"}


def references_check(references: dict[str, dict]) -> Check:
    name = "settings: Key Vault references resolved"
    pending = unresolved(references)
    if not pending:
        return Check(name, PASS, f"{len(references)} resolved ({', '.join(sorted(references)) or 'none'})")
    detail = "; ".join(f"{setting}: {p.get('status') or 'unknown'} ({p.get('details') or 'no detail'})"
                       for setting, p in sorted(pending.items()))
    return Check(name, FAIL, detail,
                 "right after a deployment the identity's Key Vault Secrets User role may still be propagating: wait a "
                 "few minutes and run doctor again; otherwise check the secret exists in the vault and `azd provision`")


def check_settings(ctx: Context) -> list[Check]:
    from pipeline import Settings, SettingsError

    try:
        listed = ctx.reader.arm_post(f"{ctx.target.site}/config/appsettings/list", "web", "app settings")
        references = read_references(ctx)
    except ReadError as exc:
        return [_read_failed("settings", exc, "Website Contributor (Microsoft.Web/sites/config/list/action) on the app")]
    ctx.app_settings = dict(listed.get("properties") or {})
    checks = [references_check(references)]
    # Parse what the app will see: each reference as its secret (known from azd's environment
    # for the Teams routes; the approval secret only needs to be long enough).
    env = dict(ctx.app_settings)
    for setting in references:
        env[setting] = {"RESPONDER_TEAMS_WEBHOOKS": ctx.target.teams_webhooks or "{}"}.get(setting, "x" * 48)
    try:
        ctx.settings = Settings.from_env(env)
    except SettingsError as exc:
        return checks + [Check("settings: parse", FAIL, str(exc), f"azd env set the value named above, then {PROVISION}")]
    if not ctx.settings.policy_path.is_file():
        return checks + [Check("settings: parse", FAIL, f"RESPONDER_POLICY_PATH: {ctx.settings.policy_path} is not in the package",
                               "give a path inside the project (relative to its root), then azd deploy")]
    return checks + [Check("settings: parse", PASS, f"{len(env)} settings; mode {ctx.settings.mode or 'per rule'}, "
                                                   f"ledger {ctx.settings.ledger}")]


# -- the ledger ------------------------------------------------------------------------------

REACHABLE, WRITABLE = "ledger: reachable", "ledger: writable by the app"


def check_ledger(ctx: Context) -> list[Check]:
    if ctx.settings is None:
        return [Check(REACHABLE, SKIP, "the settings do not parse (above)")]
    url = ctx.settings.ledger.strip()
    if url == "table":
        return [_table_reachable(ctx), _table_writable(ctx)]
    if url in ("sqlite::memory:", ":memory:"):
        return [Check(REACHABLE, FAIL, "RESPONDER_LEDGER keeps the ledger in memory: nothing survives a restart",
                      "deploy with the template's RESPONDER_LEDGER=table")]
    path = Path(url.removeprefix("sqlite:"))
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return [Check(REACHABLE, FAIL, f"{path}: {exc}", "point RESPONDER_LEDGER at an existing ledger file")]
    reachable = Check(REACHABLE, PASS, f"SQLite ledger {path} opens")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return [reachable, Check(WRITABLE, FAIL, f"{path} is read-only", "make the file and its folder writable by the app")]
    return [reachable, Check(WRITABLE, PASS, f"{path} and its folder are writable")]


def _table_account(ctx: Context) -> str:
    from urllib.parse import unquote

    for part in ctx.settings.table_connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "accountname":
            return unquote(value.strip())
    endpoint = urlsplit(ctx.settings.table_endpoint)
    host = endpoint.hostname or ""
    if host == "localhost" or host.replace(".", "").isdigit():  # Azurite-style: the account is the path
        return endpoint.path.strip("/").split("/")[0]
    return host.split(".")[0]


def _table_reachable(ctx: Context) -> Check:
    """One page of the account's table list, as the app would reach it (its connection string,
    or its endpoint with doctor's login: azd grants AZURE_PRINCIPAL_ID Storage Table Data Reader)."""
    settings = ctx.settings
    where = settings.table_endpoint or "the connection string's account"
    if not (settings.table_endpoint or settings.table_connection_string):
        return Check(REACHABLE, FAIL, "RESPONDER_LEDGER=table without RESPONDER_TABLE_ENDPOINT", PROVISION)
    try:
        from azure.data.tables import TableServiceClient

        if settings.table_connection_string:
            service = TableServiceClient.from_connection_string(settings.table_connection_string)
        else:
            service = TableServiceClient(settings.table_endpoint, credential=ctx.credential, connection_verify=ctx.table_verify)
        with service:
            first_page: Iterable[Any] = next(iter(service.list_tables(results_per_page=5).by_page()), [])
            names = [table.name for table in first_page]
    except Exception as exc:  # noqa: BLE001 - any failure to reach the service is this check's answer
        return Check(REACHABLE, FAIL, f"{where}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                     "check RESPONDER_TABLE_ENDPOINT; doctor reads the tables with your login (Storage Table Data Reader, "
                     "which azd grants AZURE_PRINCIPAL_ID)")
    return Check(REACHABLE, PASS, f"{where} answers ({len(names)} table(s) on the first page)")


def _table_writable(ctx: Context) -> Check:
    if ctx.settings.table_connection_string:
        return Check(WRITABLE, PASS, "the app writes with the account key in RESPONDER_TABLE_CONNECTION_STRING")
    account = _table_account(ctx)
    storage = (f"/subscriptions/{ctx.target.subscription}/resourceGroups/{ctx.target.resource_group}"
               f"/providers/Microsoft.Storage/storageAccounts/{account}")
    try:
        granted = effective(ctx, storage)
    except ReadError as exc:
        return _read_failed(WRITABLE, exc, "Reader on the app's resource group")
    if not covers(granted, TABLE_WRITE, data=True):
        return Check(WRITABLE, FAIL, f"the identity may not write table entities in {account}",
                     f"{PROVISION} (infra/app/rbac.bicep assigns it Storage Table Data Contributor)")
    return Check(WRITABLE, PASS, f"the identity may write table entities in {account}")


# -- permissions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Granted:
    """The identity's role definitions' permission blocks at one scope."""

    blocks: tuple[dict, ...]


def effective(ctx: Context, scope: str) -> Granted:
    """What the app's identity may do at `scope`: its role assignments there (and above) and their roles."""
    assignments = ctx.reader.arm_list(f"{scope}/providers/Microsoft.Authorization/roleAssignments", "authorization",
                                      f"role assignments at {scope}", filter_assigned_to(ctx.target.principal_id))
    blocks: list[dict] = []
    for assignment in assignments:
        # ARM lists a principal's assignments at, above and below the scope: only those at it or
        # above it apply to all of it (one on a resource group does not make a subscription-wide grant).
        held_at = assignment["properties"].get("scope", "").rstrip("/").lower()
        if not (scope.lower() == held_at or scope.lower().startswith(held_at + "/")):
            continue
        role_id = assignment["properties"]["roleDefinitionId"]
        definition = ctx.reader.arm_get(role_id, "authorization", f"role definition {role_id}")
        blocks += definition.get("properties", {}).get("permissions", [])
    return Granted(tuple(blocks))


def _matches(pattern: str, operation: str) -> bool:
    return fnmatch.fnmatchcase(operation.lower(), pattern.lower())


def covers(granted: Granted, operation: str, data: bool = False) -> bool:
    allow, deny = ("dataActions", "notDataActions") if data else ("actions", "notActions")
    return any(any(_matches(p, operation) for p in block.get(allow, []))
               and not any(_matches(p, operation) for p in block.get(deny, []))
               for block in granted.blocks)


def check_permissions(ctx: Context) -> list[Check]:
    from actions import actions_needing_scale_set_write, required_permissions, scale_set_write_permissions

    write = scale_set_write_permissions()
    base = sorted(set(required_permissions()) - set(write))
    app_has_write = ctx.settings.scale_set_write if ctx.settings is not None else ctx.target.scale_set_write_role
    skipped = " and ".join(actions_needing_scale_set_write())
    checks = []
    for sub in ctx.target.monitored:
        name = f"permissions in {sub}"
        try:
            granted = effective(ctx, f"/subscriptions/{sub}")
        except ReadError as exc:
            checks.append(_read_failed(name, exc, "Reader in the subscription"))
            continue
        missing = [op for op in base if not covers(granted, op)]
        if missing:
            checks.append(Check(name, FAIL, f"the identity lacks {len(missing)} of {len(base)}: {', '.join(missing)}",
                                f"{PROVISION} (a new custom role takes minutes to reach a subscription: run doctor again first)"))
        else:
            checks.append(Check(name, PASS, f"the identity holds all {len(base)} operations the actions declare"))
        write_missing = [op for op in write if not covers(granted, op)]
        write_name = f"scale-set write role in {sub}"
        if not write_missing and app_has_write:
            checks.append(Check(write_name, PASS, f"granted: {skipped} may act"))
        elif write_missing and not app_has_write:
            checks.append(Check(write_name, PASS, f"not granted (opt-in): {skipped} are skipped with \"needs the scale-set write role\"",))
        elif write_missing:
            checks.append(Check(write_name, FAIL, f"RESPONDER_SCALE_SET_WRITE=true but the identity lacks {', '.join(write_missing)}",
                                f"azd env set RESPONDER_SCALE_SET_WRITE_ROLE true, then {PROVISION}"))
        else:
            checks.append(Check(write_name, FAIL, f"granted, but the app was told it is not (RESPONDER_SCALE_SET_WRITE=false): {skipped} are skipped",
                                f"azd env set RESPONDER_SCALE_SET_WRITE_ROLE true, then {PROVISION}"))
    return checks


# -- Event Grid ------------------------------------------------------------------------------

def check_event_grid(ctx: Context) -> list[Check]:
    t = ctx.target
    topics = [(t.health_topic, "HealthResources")] + ([(t.maintenance_topic, "MaintenanceResources")] if t.maintenance_topic else [])
    checks = []
    for sub in t.monitored:
        for topic, kind in topics:
            name = f"Event Grid {kind} in {sub}"
            base = f"/subscriptions/{sub}/resourceGroups/{t.signals_group}/providers/Microsoft.EventGrid/systemTopics/{topic}"
            try:
                found = ctx.reader.arm_get(base, "eventgrid", f"system topic {topic}")
            except ReadError as exc:
                if exc.status == 404:
                    checks.append(Check(name, FAIL, f"no system topic {topic} in {t.signals_group}", PROVISION))
                else:
                    checks.append(_read_failed(name, exc, "Reader in the subscription"))
                continue
            state = found.get("properties", {}).get("provisioningState")
            if state != "Succeeded":
                checks.append(Check(name, FAIL, f"system topic {topic} is {state}", PROVISION))
                continue
            checks.append(_event_subscription(ctx, name, base))
    return checks


def _event_subscription(ctx: Context, name: str, topic_path: str) -> Check:
    try:
        found = ctx.reader.arm_get(f"{topic_path}/eventSubscriptions/{EVENT_SUBSCRIPTION}", "eventgrid", "event subscription")
    except ReadError as exc:
        if exc.status == 404:
            return Check(name, FAIL, f"no event subscription {EVENT_SUBSCRIPTION}: events reach nobody",
                         "azd deploy, then azd env set RESPONDER_CONNECT_SIGNALS true and azd provision")
        return _read_failed(name, exc, "Reader in the subscription")
    properties = found.get("properties", {})
    destination = properties.get("destination", {})
    target = (destination.get("properties") or {}).get("resourceId", "")
    expected = f"{ctx.target.site}/functions/event_grid"
    if properties.get("provisioningState") != "Succeeded":
        return Check(name, FAIL, f"event subscription is {properties.get('provisioningState')}", PROVISION)
    if destination.get("endpointType") != "AzureFunction" or target.lower() != expected.lower():
        return Check(name, FAIL, f"events go to {destination.get('endpointType')} {target or '(no resource)'}, not {expected}", PROVISION)
    return Check(name, PASS, "topic and event subscription provisioned; delivering to event_grid")


# -- the action group and its alerts ------------------------------------------------------------

def check_alerts(ctx: Context) -> list[Check]:
    t = ctx.target
    try:
        host = ctx.host_name or ctx.reader.arm_get(t.site, "web", "function app")["properties"]["defaultHostName"]
        keys = ctx.reader.arm_post(f"{t.site}/functions/alerts/listkeys", "web", "the alerts function's keys")
    except ReadError as exc:
        return [_read_failed("action group", exc, "Website Contributor on the app (functions listkeys)")]
    current = {v for v in (keys.get("properties", keys) or {}).values() if isinstance(v, str)}
    checks = []
    for sub in t.monitored:
        name = f"action group in {sub}"
        path = f"/subscriptions/{sub}/resourceGroups/{t.signals_group}/providers/Microsoft.Insights/actionGroups/{t.action_group}"
        try:
            group = ctx.reader.arm_get(path, "action_groups", f"action group {t.action_group}")
        except ReadError as exc:
            checks.append(Check(name, FAIL, f"no action group {t.action_group}: alerts reach nobody",
                                "azd env set RESPONDER_CONNECT_SIGNALS true, then azd provision") if exc.status == 404
                          else _read_failed(name, exc, "Reader in the subscription"))
            continue
        checks.append(_receivers(name, group.get("properties", {}), t.site, host, current))
        checks.append(_activity_alerts(ctx, sub, path))
    return checks


def _receivers(name: str, properties: dict, site: str, host: str, current: set[str]) -> Check:
    receivers = [r for r in properties.get("azureFunctionReceivers", []) if (r.get("functionAppResourceId") or "").lower() == site.lower()]
    if not properties.get("enabled", False):
        return Check(name, FAIL, "the action group is disabled", PROVISION)
    if not receivers:
        return Check(name, FAIL, "no Azure Function receiver points at the app", PROVISION)
    for receiver in receivers:
        url = urlsplit(receiver.get("httpTriggerUrl") or "")
        code = (parse_qs(url.query).get("code") or [""])[0]
        if url.hostname != host or url.path != "/api/alerts":
            return Check(name, FAIL, f"receiver {receiver.get('name')} calls {url.scheme}://{url.hostname}{url.path}, not https://{host}/api/alerts", PROVISION)
        if not code:
            return Check(name, FAIL, f"receiver {receiver.get('name')} calls /api/alerts without a key: every alert is refused with 401", PROVISION)
        if current and code not in current:
            return Check(name, FAIL, f"receiver {receiver.get('name')} carries a key the alerts function no longer has (rotated?)",
                         f"{PROVISION} writes the current key into the receiver")
    return Check(name, PASS, f"{len(receivers)} receiver(s) call https://{host}/api/alerts with the alerts function's key")


def _activity_alerts(ctx: Context, sub: str, group_path: str) -> Check:
    name = f"activity log alerts in {sub}"
    missing, off, elsewhere = [], [], []
    for alert in ALERT_NAMES:
        path = f"/subscriptions/{sub}/resourceGroups/{ctx.target.signals_group}/providers/Microsoft.Insights/activityLogAlerts/{alert}"
        try:
            found = ctx.reader.arm_get(path, "alerts", f"alert {alert}").get("properties", {})
        except ReadError as exc:
            if exc.status != 404:
                return _read_failed(name, exc, "Reader in the subscription")
            missing.append(alert)
            continue
        if not found.get("enabled", False):
            off.append(alert)
        groups = [g.get("actionGroupId", "").lower() for g in found.get("actions", {}).get("actionGroups", [])]
        if group_path.lower() not in groups:
            elsewhere.append(alert)
    problems = [f"missing: {', '.join(missing)}"] * bool(missing) + [f"disabled: {', '.join(off)}"] * bool(off) + \
        [f"not sending to the action group: {', '.join(elsewhere)}"] * bool(elsewhere)
    if problems:
        return Check(name, FAIL, "; ".join(problems), PROVISION)
    return Check(name, PASS, f"{len(ALERT_NAMES)} alerts enabled, sending to the action group")


# -- approvals: who may decide, and the sign-in that names them ---------------------------------

APPROVERS, SIGN_IN = "approvals: approvers", "approvals: sign-in"
SIGN_IN_FIX = ("register the sign-in app (docs/approvals.md, The app registration), azd env set RESPONDER_SIGN_IN_CLIENT_ID <its appId>, "
               f"then {PROVISION}")
APPROVERS_FIX = f"azd env set RESPONDER_APPROVERS group:<object id of the approvers' Entra group> (or role:<app role value>), then {PROVISION}"


def check_approvals(ctx: Context) -> list[Check]:
    """RESPONDER_APPROVERS against whether any decision can wait for a person, and the app's
    App Service authentication (authsettingsV2) against RESPONDER_APPROVER_SIGN_IN: the app trusts
    the X-MS-CLIENT-PRINCIPAL headers exactly when that setting is on, so the two must agree."""
    if ctx.settings is None or not ctx.settings.policy_path.is_file():
        return [Check(APPROVERS, SKIP, "the settings or the policy path do not hold (above)")]
    settings = ctx.settings
    try:
        from rules import RulesError, load_catalog, load_policy

        asks = load_policy(settings.policy_path, load_catalog(settings.catalog_path, settings.catalog_extra)).waits_for_a_person(settings.mode)
    except (RulesError, OSError) as exc:
        return [Check(APPROVERS, FAIL, f"the policy does not load: {exc}", "fix the policy file, then azd deploy")]
    return [_approvers_check(settings, asks), _sign_in_check(ctx, asks)]


def _approvers_check(settings: Any, asks: bool) -> Check:
    named = ", ".join(settings.approvers)
    if settings.approvers:
        return Check(APPROVERS, PASS, f"RESPONDER_APPROVERS: {named} may decide (a rule's own approvers: its `approvers:`)")
    if asks:
        return Check(APPROVERS, FAIL, "RESPONDER_APPROVERS names nobody, and decisions can wait for a person "
                                      f"(mode {settings.mode or 'per rule'}): approve mode refuses to start in Azure", APPROVERS_FIX)
    return Check(APPROVERS, PASS, f"none named; no decision waits for a person (mode {settings.mode or 'per rule'})")


def _sign_in_check(ctx: Context, asks: bool) -> Check:
    try:
        auth = ctx.reader.arm_get(f"{ctx.target.site}/config/authsettingsV2", "web", "App Service authentication settings")
    except ReadError as exc:
        return _read_failed(SIGN_IN, exc, "Reader on the app (Microsoft.Web/sites/config/read)")
    properties = auth.get("properties") or {}
    platform_on = bool((properties.get("platform") or {}).get("enabled"))
    entra = (properties.get("identityProviders") or {}).get("azureActiveDirectory") or {}
    client_id = ((entra.get("registration") or {}).get("clientId") or "").strip()
    validation = properties.get("globalValidation") or {}
    told = ctx.settings.approver_sign_in
    if told and not platform_on:
        return Check(SIGN_IN, FAIL, "RESPONDER_APPROVER_SIGN_IN=true but App Service authentication is off: the app would trust "
                                    "X-MS-CLIENT-PRINCIPAL headers any caller can write", SIGN_IN_FIX)
    if platform_on and not told:
        return Check(SIGN_IN, FAIL, "App Service authentication is on but RESPONDER_APPROVER_SIGN_IN is not: the approval pages "
                                    "refuse every signed-in person", f"{PROVISION} (the template sets both from signInClientId)")
    if not platform_on:
        if asks:
            return Check(SIGN_IN, FAIL, "App Service authentication is off, and decisions can wait for a person: approve mode "
                                        "refuses to start in Azure without sign-in", SIGN_IN_FIX)
        return Check(SIGN_IN, PASS, "App Service authentication is off; no decision waits for a person")
    if entra.get("enabled") is False or not client_id:
        return Check(SIGN_IN, FAIL, "App Service authentication is on without the Entra ID provider the approval pages send people to",
                     SIGN_IN_FIX)
    if validation.get("requireAuthentication") or (validation.get("unauthenticatedClientAction") or "AllowAnonymous") != "AllowAnonymous":
        return Check(SIGN_IN, FAIL, "App Service authentication requires sign-in for every path: Event Grid and action groups "
                                    "cannot sign in, so their deliveries are refused",
                     f"{PROVISION} (the template requires nobody at the platform; the approvals route requires sign-in itself)")
    return Check(SIGN_IN, PASS, f"App Service authentication on with Entra ID (client {client_id}), required of nobody at the platform; "
                                "the approval pages require a signed-in approver")


# -- email and Teams ---------------------------------------------------------------------------

EXCHANGE_SCOPE = ("restrict it to the sender: in Exchange Online PowerShell, New-ApplicationAccessPolicy -AppId <AZURE_CLIENT_ID> "
                  "-PolicyScopeGroupId <mail-enabled group holding the sender> -AccessRight RestrictAccess "
                  "-Description 'Resource Health Responder'; check with Test-ApplicationAccessPolicy -Identity <another mailbox> -AppId <AZURE_CLIENT_ID> (expect Denied)")


def check_mail(ctx: Context) -> list[Check]:
    t = ctx.target
    name = "email: Graph permissions"
    if not t.mail_sender:
        return [Check(name, SKIP, "no mail sender (RESPONDER_MAIL_SENDER): email is off")]
    try:
        graph = ctx.reader.graph_get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles", "Microsoft Graph's service principal")
        grants = ctx.reader.graph_get(f"/servicePrincipals/{t.principal_id}/appRoleAssignments", "the identity's app role assignments")
    except ReadError as exc:
        return [_read_failed(name, exc, "Graph read access to service principals (Application.Read.All, or a directory reader)")]
    role_ids = {role.get("value"): role.get("id") for role in graph.get("appRoles", [])}
    held = {g.get("appRoleId") for g in grants.get("value", []) if g.get("resourceId") == graph.get("id")}
    missing = [p for p in MAIL_PERMISSIONS if role_ids.get(p) not in held]
    grant = (f"grant the identity (object id {t.principal_id}) Microsoft Graph application permissions {', '.join(missing)}: "
             f"azd env set RESPONDER_GRAPH_PERMISSIONS true and {PROVISION} as someone who may grant app roles, or an "
             "administrator grants them (Enterprise applications > the identity > Permissions)")
    checks = []
    if missing and not t.graph_permissions:
        checks.append(Check(name, SKIP, f"the deployment does not grant Graph permissions (RESPONDER_GRAPH_PERMISSIONS=false); "
                                        f"Entra shows no {', '.join(missing)} (fine if granted through Exchange RBAC for Applications)",
                            f"either {grant}, or in Exchange Online: New-ManagementRoleAssignment -App <service principal> "
                            "-Role 'Application Mail.Send' (and 'Application Mail.ReadBasic') -CustomResourceScope <scope of the sender>"))
    elif missing:
        checks.append(Check(name, FAIL, f"missing {', '.join(missing)}: email to {t.mail_sender} ends failed", grant))
    else:
        checks.append(Check(name, PASS, f"Mail.Send and Mail.ReadBasic granted: Graph can send as {t.mail_sender}"))
    # Exchange's scoping (application access policies, RBAC for Applications) is not readable through Graph.
    checks.append(Check("email: only as the sender", SKIP, "Exchange scoping cannot be read through Graph", EXCHANGE_SCOPE))
    return checks


def check_teams(ctx: Context) -> list[Check]:
    name = "Teams webhooks"
    try:
        routes = teams_routes(ctx.target.teams_webhooks)
    except ValueError as exc:
        return [Check(name, FAIL, str(exc), "azd env set RESPONDER_TEAMS_WEBHOOKS '{\"ops\": \"https://...\"}', then azd provision")]
    if not routes:
        return [Check(name, FAIL, "no Teams route: nobody is told in Teams",
                      "azd env set RESPONDER_TEAMS_WEBHOOKS '{\"ops\": \"https://...\"}', then azd provision")]
    plain = sorted(route for route, url in routes.items() if urlsplit(url).scheme != "https")
    if plain:
        return [Check(name, FAIL, f"not https: {', '.join(plain)}", "use the Workflows webhook's https URL")]
    return [Check(name, PASS, f"{len(routes)} route(s): {', '.join(sorted(routes))}")]


ALL: list[Callable[[Context], list[Check]]] = [check_settings, check_ledger, check_permissions, check_event_grid,
                                               check_alerts, check_approvals, check_mail, check_teams]


def run_all(ctx: Context) -> list[Check]:
    results: list[Check] = []
    for check in ALL:
        results += check(ctx)
    return results


def wait_for_references(ctx: Context, seconds: float, pause: float = 10.0, clock=time.monotonic, sleep=time.sleep) -> Check:
    """The post-provision hook's check: Key Vault references, read again until all resolve or time is up."""
    deadline = clock() + seconds
    while True:
        try:
            check = references_check(read_references(ctx))
        except ReadError as exc:
            check = _read_failed("settings: Key Vault references resolved", exc, "Reader on the app")
        if check.status == PASS or clock() >= deadline:
            return check
        sleep(min(pause, max(0.0, deadline - clock())))
