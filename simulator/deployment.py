"""A simulated deployment of the app, for `python -m responder doctor --azure sim`.

    deployment = deployment.install(sim)            # a healthy one; deployment.env: the azd values
    deployment.references["RESPONDER_APPROVAL_SECRET"] = "Unresolved"   # break it, then check

It serves what doctor reads, in Azure's shapes:

    ARM   POST {site}/config/appsettings/list                    the app settings
          GET  {site}/config/configreferences/appsettings        Key Vault reference status
          GET  {site}/config/authsettingsV2                      App Service authentication (without secrets)
          GET  {site}                                            host name
          POST {site}/functions/{name}/listkeys                  a function's own keys
          GET  {scope}/providers/Microsoft.Authorization/roleAssignments    (filter assignedTo)
          GET  /subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions/{name}
          GET  .../Microsoft.EventGrid/systemTopics/{topic}[/eventSubscriptions/{name}]
          GET  .../Microsoft.Insights/actionGroups/{name}, .../activityLogAlerts/{name}
    Table GET  /{account}/Tables                                   the ledger's tables (Azurite-style path)
    Graph GET  /v1.0/servicePrincipals(appId='...')              Microsoft Graph's app roles
          GET  /v1.0/servicePrincipals/{id}/appRoleAssignments   what the identity was granted

State is plain dicts and lists (attributes below) so a test can remove or change any piece.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from .server import Request, Response, arm_error

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's application roles the app uses, with their ids (the same in every tenant).
GRAPH_APP_ROLES = {
    "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
    "Mail.ReadBasic": "6be147d2-ea4f-4b5a-a3fa-3eab6f3c140a",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"  # built-in, the same id everywhere
SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
SITE = RG + r"/providers/Microsoft\.Web/sites/(?P<site>[^/]+)"


def _arm_list(items: list[dict]) -> dict:
    return {"value": items}


class SimDeployment:
    """One deployment: an app in one subscription, watching `subscriptions`."""

    def __init__(self, base_url: str, subscriptions: list[str], *, environment: str = "sim") -> None:
        token = "simtoken01"
        self.app_subscription = subscriptions[0]
        self.resource_group = f"rg-{environment}"
        self.app_name = f"func-rhr-{token}"
        self.storage_account = f"strhr{token}"
        self.host_name = f"{self.app_name}.azurewebsites.net"
        self.principal_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{environment}/identity"))
        self.client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{environment}/client"))
        self.subscriptions = list(subscriptions)
        self.signals_group = f"rg-{environment}-health-signals"
        self.health_topic = f"health-resources-{token}"
        self.maintenance_topic = ""
        self.action_group = f"ag-rhr-{token}"
        self.mail_sender = "responder@contoso.example"
        self.graph_service_principal = str(uuid.uuid5(uuid.NAMESPACE_URL, "graph"))
        self.function_keys = {"alerts": {"default": "alerts-key-" + token}, "event_grid": {"default": "eg-key-" + token}}
        self.app_settings: dict[str, str] = {
            "RESPONDER_AZURE": "live",
            "RESPONDER_LEDGER": "table",
            "RESPONDER_TABLE_ENDPOINT": f"{base_url}/{self.storage_account}",
            "RESPONDER_SUBSCRIPTIONS": ",".join(subscriptions),
            "RESPONDER_MODE": "observe",
            "RESPONDER_POLICY_PATH": "rules/policy.yaml",
            "RESPONDER_MAIL_SENDER": self.mail_sender,
            "RESPONDER_SCALE_SET_WRITE": "false",
            "RESPONDER_TEAMS_WEBHOOKS": self._reference("teams-webhooks"),
            "RESPONDER_APPROVAL_SECRET": self._reference("approval-secret"),
            "AZURE_CLIENT_ID": self.client_id,
        }
        self.secrets = {"teams-webhooks": json.dumps({"ops": "https://prod.logic.example/workflows/ops"}),
                        "approval-secret": "s" * 48}
        self.references: dict[str, str] = {"RESPONDER_TEAMS_WEBHOOKS": "Resolved", "RESPONDER_APPROVAL_SECRET": "Resolved"}
        # App Service authentication as ARM answers for an app that never configured it: off.
        self.auth_settings: dict[str, Any] = {"platform": {"enabled": False}, "globalValidation": {}, "identityProviders": {}}
        self.role_definitions: dict[str, dict] = {}
        self.role_assignments: list[dict] = []
        self.system_topics: dict[tuple[str, str], dict] = {}
        self.event_subscriptions: dict[tuple[str, str, str], dict] = {}
        self.action_groups: dict[tuple[str, str], dict] = {}
        self.alerts: dict[tuple[str, str], dict] = {}
        self.graph_grants: list[dict] = []
        self.tables = ["responderIncidents", "responderSignals", "responderDecisions"]
        self._healthy(base_url)

    # -- a healthy deployment, as the templates make it --------------------------------------

    def _reference(self, secret: str) -> str:
        return f"@Microsoft.KeyVault(SecretUri=https://kv-rhr-simtoken01.vault.azure.net/secrets/{secret})"

    @property
    def site_id(self) -> str:
        return (f"/subscriptions/{self.app_subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/sites/{self.app_name}")

    def _healthy(self, base_url: str) -> None:
        from actions import required_permissions, scale_set_write_permissions

        base = sorted(set(required_permissions()) - set(scale_set_write_permissions()))
        for sub in self.subscriptions:
            role = self.define_role(sub, "Resource Health Responder (sim)", base)
            self.assign_role(f"/subscriptions/{sub}", role)
            self.system_topics[(sub, self.health_topic)] = {
                "topicType": "Microsoft.ResourceNotifications.HealthResources", "provisioningState": "Succeeded",
                "source": f"/subscriptions/{sub}"}
            self.event_subscriptions[(sub, self.health_topic, "resource-health-responder")] = {
                "provisioningState": "Succeeded",
                "destination": {"endpointType": "AzureFunction",
                                "properties": {"resourceId": f"{self.site_id}/functions/event_grid"}}}
            group_id = self._group_id(sub, "actionGroups", self.action_group)
            self.action_groups[(sub, self.action_group)] = {
                "enabled": True,
                "azureFunctionReceivers": [{
                    "name": "resource-health-responder", "functionAppResourceId": self.site_id, "functionName": "alerts",
                    "httpTriggerUrl": f"https://{self.host_name}/api/alerts?code={self.function_keys['alerts']['default']}",
                    "useCommonAlertSchema": True}]}
            for name in ("responder-service-health", "responder-resource-health", "responder-scale-set-repair-state"):
                self.alerts[(sub, name)] = {"enabled": True, "actions": {"actionGroups": [{"actionGroupId": group_id}]}}
        for role in ("Mail.Send", "Mail.ReadBasic"):
            self.grant_graph(role)
        # The ledger's storage account: the identity writes its tables (Storage Table Data Contributor).
        contributor = self.define_role(self.app_subscription, "Storage Table Data Contributor", [], role_id=TABLE_DATA_CONTRIBUTOR,
                                       data_actions=[f"Microsoft.Storage/storageAccounts/tableServices/tables/entities/{verb}"
                                                     for verb in ("read", "write", "delete", "add/action", "update/action")])
        self.assign_role(self.storage_account_id, contributor)

    def _group_id(self, sub: str, kind: str, name: str) -> str:
        return f"/subscriptions/{sub}/resourceGroups/{self.signals_group}/providers/Microsoft.Insights/{kind}/{name}"

    @property
    def storage_account_id(self) -> str:
        return (f"/subscriptions/{self.app_subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Storage/storageAccounts/{self.storage_account}")

    def define_role(self, sub: str, display: str, actions: list[str], not_actions: list[str] | None = None, *,
                    role_id: str | None = None, data_actions: list[str] | None = None) -> str:
        """A role definition (a built-in one when `role_id` is given); its GUID name."""
        role_name = role_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub}/{display}"))
        self.role_definitions[role_name] = {"roleName": display, "type": "BuiltInRole" if role_id else "CustomRole",
                                            "permissions": [{"actions": list(actions), "notActions": list(not_actions or []),
                                                             "dataActions": list(data_actions or []), "notDataActions": []}]}
        return role_name

    def assign_role(self, scope: str, role_name: str, principal_id: str | None = None) -> None:
        sub = scope.split("/")[2]
        self.role_assignments.append({
            "scope": scope, "principalId": principal_id or self.principal_id,
            "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_name}"})

    def grant_graph(self, role: str) -> None:
        self.graph_grants.append({"appRoleId": GRAPH_APP_ROLES[role], "resourceId": self.graph_service_principal,
                                  "principalId": self.principal_id, "resourceDisplayName": "Microsoft Graph"})

    def env(self) -> dict[str, str]:
        """The azd environment values doctor reads (the template's outputs and what was set)."""
        return {
            "AZURE_SUBSCRIPTION_ID": self.app_subscription,
            "AZURE_RESOURCE_GROUP": self.resource_group,
            "AZURE_FUNCTION_APP_NAME": self.app_name,
            "RESPONDER_PRINCIPAL_ID": self.principal_id,
            "RESPONDER_MONITORED_SUBSCRIPTIONS": ",".join(self.subscriptions),
            "RESPONDER_SIGNALS_RESOURCE_GROUP_NAME": self.signals_group,
            "RESPONDER_HEALTH_TOPIC_NAME": self.health_topic,
            "RESPONDER_MAINTENANCE_TOPIC_NAME": self.maintenance_topic,
            "RESPONDER_ACTION_GROUP_NAME": self.action_group,
            "RESPONDER_MAIL_SENDER": self.mail_sender,
            "RESPONDER_TEAMS_WEBHOOKS": self.secrets["teams-webhooks"],
        }

    # -- the routes -----------------------------------------------------------------------------

    def _site(self, request: Request) -> bool:
        m = request.match
        return (m["sub"].lower(), m["rg"].lower(), m["site"].lower()) == (
            self.app_subscription.lower(), self.resource_group.lower(), self.app_name.lower())

    def get_site(self, request: Request) -> Response | dict:
        if not self._site(request):
            return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.Web/sites/{request.match['site']}' was not found.")
        return {"id": self.site_id, "name": self.app_name, "type": "Microsoft.Web/sites", "kind": "functionapp,linux",
                "properties": {"defaultHostName": self.host_name, "state": "Running"}}

    def list_app_settings(self, request: Request) -> Response | dict:
        if not self._site(request):
            return arm_error(404, "ResourceNotFound", "the site was not found")
        return {"id": f"{self.site_id}/config/appsettings", "name": "appsettings",
                "type": "Microsoft.Web/sites/config", "properties": dict(self.app_settings)}

    def list_references(self, request: Request) -> Response | dict:
        if not self._site(request):
            return arm_error(404, "ResourceNotFound", "the site was not found")
        items = []
        for name, value in self.app_settings.items():
            if not value.startswith("@Microsoft.KeyVault("):
                continue
            status = self.references.get(name, "Resolved")
            items.append({
                "id": f"{self.site_id}/config/configreferences/appsettings/{name}", "name": name,
                "type": "Microsoft.Web/sites/config/configreferences",
                "properties": {"reference": value, "status": status, "vaultName": "kv-rhr-simtoken01",
                               "secretName": value.rsplit("/", 1)[-1].rstrip(")"), "identityType": "UserAssigned",
                               "source": "KeyVault",
                               "details": "Reference has been successfully resolved." if status == "Resolved"
                               else "Key Vault reference was not able to be resolved because site was denied access to Key Vault reference's vault."}})
        return _arm_list(items)

    def get_auth_settings(self, request: Request) -> Response | dict:
        if not self._site(request):
            return arm_error(404, "ResourceNotFound", "the site was not found")
        return {"id": f"{self.site_id}/config/authsettingsV2", "name": "authsettingsV2", "type": "Microsoft.Web/sites/config",
                "properties": json.loads(json.dumps(self.auth_settings))}

    def sign_in_on(self, client_id: str, approvers: str) -> None:
        """Sign-in on the approval pages as the template configures it (infra/app/function.bicep)."""
        self.auth_settings = {
            "platform": {"enabled": True},
            "globalValidation": {"requireAuthentication": False, "unauthenticatedClientAction": "AllowAnonymous"},
            "identityProviders": {"azureActiveDirectory": {"enabled": True, "registration": {"clientId": client_id}}},
        }
        self.app_settings.update(RESPONDER_APPROVERS=approvers, RESPONDER_APPROVER_SIGN_IN="true")

    def list_function_keys(self, request: Request) -> Response | dict:
        keys = self.function_keys.get(request.match["function"])
        if not self._site(request) or keys is None:
            return arm_error(404, "NotFound", f"Function {request.match['function']} not found")
        return dict(keys)

    def list_role_assignments(self, request: Request) -> Response | dict:
        scope = request.match["scope"].rstrip("/").lower()
        wanted = re.search(r"(?:assignedTo|principalId eq )\('?([0-9a-f-]+)'?\)?", request.param("$filter") or "", re.I)
        items = []
        for assignment in self.role_assignments:
            held_at = assignment["scope"].lower()
            related = scope == held_at or scope.startswith(held_at + "/") or held_at.startswith(scope + "/")
            # For one principal ARM lists the assignments at, above and below the scope.
            if not related or (not wanted and held_at.startswith(scope + "/")):
                continue
            if wanted and assignment["principalId"].lower() != wanted.group(1).lower():
                continue
            name = str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(assignment, sort_keys=True)))
            items.append({"id": f"{assignment['scope']}/providers/Microsoft.Authorization/roleAssignments/{name}",
                          "name": name, "type": "Microsoft.Authorization/roleAssignments",
                          "properties": {**assignment, "principalType": "ServicePrincipal"}})
        return _arm_list(items)

    def get_role_definition(self, request: Request) -> Response | dict:
        definition = self.role_definitions.get(request.match["role"].lower())
        if definition is None:
            return arm_error(404, "RoleDefinitionDoesNotExist", "The specified role definition does not exist.")
        return {"id": request.path, "name": request.match["role"], "type": "Microsoft.Authorization/roleDefinitions",
                "properties": definition}

    def _signals_group(self, request: Request) -> bool:
        return request.match["rg"].lower() == self.signals_group.lower()

    def get_topic(self, request: Request) -> Response | dict:
        topic = self.system_topics.get((request.match["sub"], request.match["topic"]))
        if topic is None or not self._signals_group(request):
            return arm_error(404, "ResourceNotFound", f"The Resource 'Microsoft.EventGrid/systemTopics/{request.match['topic']}' was not found.")
        return {"id": request.path, "name": request.match["topic"], "type": "Microsoft.EventGrid/systemTopics",
                "location": "global", "properties": dict(topic)}

    def get_event_subscription(self, request: Request) -> Response | dict:
        m = request.match
        found = self.event_subscriptions.get((m["sub"], m["topic"], m["name"]))
        if found is None or not self._signals_group(request):
            return arm_error(404, "ResourceNotFound", f"The event subscription '{m['name']}' was not found.")
        return {"id": request.path, "name": m["name"], "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
                "properties": json.loads(json.dumps(found))}

    def get_action_group(self, request: Request) -> Response | dict:
        found = self.action_groups.get((request.match["sub"], request.match["name"]))
        if found is None or not self._signals_group(request):
            return arm_error(404, "ResourceNotFound", f"The action group '{request.match['name']}' was not found.")
        return {"id": request.path, "name": request.match["name"], "type": "Microsoft.Insights/ActionGroups",
                "location": "Global", "properties": json.loads(json.dumps(found))}

    def get_alert(self, request: Request) -> Response | dict:
        found = self.alerts.get((request.match["sub"], request.match["name"]))
        if found is None or not self._signals_group(request):
            return arm_error(404, "ResourceNotFound", f"The activity log alert '{request.match['name']}' was not found.")
        return {"id": request.path, "name": request.match["name"], "type": "Microsoft.Insights/ActivityLogAlerts",
                "location": "Global", "properties": json.loads(json.dumps(found))}

    def list_tables(self, request: Request) -> Response | dict:
        if request.match["account"].lower() != self.storage_account.lower():
            return Response(404, {"odata.error": {"code": "ResourceNotFound", "message": {"lang": "en-US", "value": "not found"}}})
        return {"odata.metadata": f"{request.server.base_url if request.server else ''}/{self.storage_account}/$metadata#Tables",
                "value": [{"TableName": name} for name in self.tables]}

    def get_graph(self, request: Request) -> Response | dict:
        if request.match["app"].lower() != GRAPH_APP_ID:
            return Response(404, {"error": {"code": "Request_ResourceNotFound", "message": "not found"}})
        return {"id": self.graph_service_principal, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph",
                "appRoles": [{"id": role_id, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": True}
                             for value, role_id in GRAPH_APP_ROLES.items()]}

    def list_graph_grants(self, request: Request) -> Response | dict:
        principal = request.match["principal"].lower()
        return {"value": [dict(g) for g in self.graph_grants if g["principalId"].lower() == principal]}


def install(sim: Any, subscriptions: list[str] | None = None) -> SimDeployment:
    """Plug a healthy deployment's endpoints into the simulated Azure and return its state."""
    subs = subscriptions or list(getattr(sim.fleet, "subscriptions", None) or []) or ["00000000-0000-0000-0000-00000000d0c7"]
    deployment = SimDeployment(sim.base_url, subs)
    routes = [
        ("GET", SITE + r"$", deployment.get_site),
        ("POST", SITE + r"/config/appsettings/list$", deployment.list_app_settings),
        ("GET", SITE + r"/config/configreferences/appsettings$", deployment.list_references),
        ("GET", SITE + r"/config/authsettingsV2$", deployment.get_auth_settings),
        ("POST", SITE + r"/functions/(?P<function>[^/]+)/listkeys$", deployment.list_function_keys),
        ("GET", r"(?P<scope>/subscriptions/.+?)/providers/Microsoft\.Authorization/roleAssignments$", deployment.list_role_assignments),
        ("GET", SUB + r"/providers/Microsoft\.Authorization/roleDefinitions/(?P<role>[^/]+)$", deployment.get_role_definition),
        ("GET", RG + r"/providers/Microsoft\.EventGrid/systemTopics/(?P<topic>[^/]+)$", deployment.get_topic),
        ("GET", RG + r"/providers/Microsoft\.EventGrid/systemTopics/(?P<topic>[^/]+)/eventSubscriptions/(?P<name>[^/]+)$",
         deployment.get_event_subscription),
        ("GET", RG + r"/providers/Microsoft\.Insights/actionGroups/(?P<name>[^/]+)$", deployment.get_action_group),
        ("GET", RG + r"/providers/Microsoft\.Insights/activityLogAlerts/(?P<name>[^/]+)$", deployment.get_alert),
        ("GET", r"/(?P<account>[a-z0-9]{3,24})/Tables$", deployment.list_tables),
        ("GET", r"/v1\.0/servicePrincipals\(appId='(?P<app>[^']+)'\)$", deployment.get_graph),
        ("GET", r"/v1\.0/servicePrincipals/(?P<principal>[^/]+)/appRoleAssignments$", deployment.list_graph_grants),
    ]
    for method, pattern, handler in routes:
        sim.add_route(method, pattern, handler)
    return deployment
