"""The app's resources: Flex Consumption, identity-based storage, Key Vault references, roles."""

import json
import re

import pytest
from infra_paths import INFRA
from tree_walk import body, resources_of_type, walk

FUNCTION = "infra/app/function.bicep"
STORAGE = "infra/app/storage.bicep"
KEY_VAULT = "infra/app/keyvault.bicep"
MAIN = "infra/main.bicep"

# Every app setting the app reads (fixed project-wide), and where its value must come from.
APP_SETTINGS = [
    "RESPONDER_MODE", "RESPONDER_POLICY_PATH", "RESPONDER_SUBSCRIPTIONS",
    "RESPONDER_RESOURCE_GROUPS_INCLUDE", "RESPONDER_RESOURCE_GROUPS_EXCLUDE", "RESPONDER_PAUSED",
    "RESPONDER_LEDGER", "RESPONDER_TABLE_ENDPOINT", "RESPONDER_AZURE", "RESPONDER_TEAMS_WEBHOOKS",
    "RESPONDER_MAIL_SENDER", "RESPONDER_MAIL_TO", "RESPONDER_APPROVAL_SECRET", "RESPONDER_PUBLIC_URL",
    "RESPONDER_TICK_SCHEDULE", "RESPONDER_SWEEP_SCHEDULE", "RESPONDER_PURGE_SCHEDULE", "RESPONDER_RETENTION_DAYS",
    "RESPONDER_APPROVERS", "RESPONDER_APPROVER_SIGN_IN",
    "AZURE_CLIENT_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
]
SECRET_SETTINGS = ["RESPONDER_TEAMS_WEBHOOKS", "RESPONDER_APPROVAL_SECRET"]


@pytest.fixture(scope="module")
def function(bicep):
    return bicep(FUNCTION)


@pytest.fixture(scope="module")
def site(function):
    return function["resources"]["app"]["config"]


@pytest.fixture(scope="module")
def settings(bicep, function):
    """{name: value tree} of every app setting, from main.bicep and the function module."""
    found = {}
    sources = [
        bicep(MAIN)["variables"]["responderSettings"]["value"],
        function["variables"]["platformSettings"]["value"],
        function["resources"]["appSettings"]["config"]["properties"],
    ]
    for source in sources:
        for item in _dicts(source):
            for name, value in item.items():
                if name.isupper() or name.startswith("AzureWebJobsStorage"):
                    found[name] = value
    return found


def _dicts(node):
    return [item for item in walk(node) if isinstance(item, dict)]


def test_plan_is_flex_consumption(function):
    plan = function["resources"]["plan"]["config"]
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True


def test_site_runs_python_311_with_2048_mb(site):
    config = site["properties"]["functionAppConfig"]
    assert site["kind"] == "functionapp,linux"
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"]["instanceMemoryMB"] == 2048


def test_site_api_version(function):
    assert function["resources"]["app"]["api_version"] == "2024-04-01"


def test_package_is_read_with_the_user_assigned_identity(site):
    storage = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}


def test_site_uses_only_the_user_assigned_identity(site):
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"
    assert site["properties"]["httpsOnly"] is True


def test_host_storage_is_identity_based(settings):
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "AzureWebJobsStorage__accountName" in settings
    # No connection string (it would need a shared key).
    assert "AzureWebJobsStorage" not in settings


@pytest.mark.parametrize("name", APP_SETTINGS)
def test_every_app_setting_is_deployed(settings, name):
    assert name in settings


@pytest.mark.parametrize("name", SECRET_SETTINGS)
def test_secrets_are_key_vault_references(settings, name):
    assert re.fullmatch(r"@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.\w+\}\)", settings[name])


@pytest.mark.parametrize(("name", "value"), [
    ("RESPONDER_LEDGER", "table"),
    ("RESPONDER_AZURE", "live"),
])
def test_fixed_settings(settings, name, value):
    assert settings[name] == value


@pytest.mark.parametrize(("parameter", "default"), [
    ("responderMode", ""),  # each rule's own mode (the shipped ones observe); set, it is a ceiling tags cannot lift
    ("paused", False),
    ("policyPath", "rules/policy.yaml"),
    ("tickSchedule", "0 */1 * * * *"),
    ("sweepSchedule", "0 */15 * * * *"),
    ("enableMaintenanceEvents", False),
    ("connectSignals", False),
])
def test_safe_defaults(bicep, parameter, default):
    assert bicep(MAIN)["parameters"][parameter]["default"] == default


def test_storage_refuses_shared_keys(bicep):
    account = bicep(STORAGE)["resources"]["storage"]["config"]["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"


def test_storage_holds_package_dead_letters_and_ledger(bicep):
    tree = bicep(STORAGE)
    containers = resources_of_type(tree, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {r["config"]["name"] for r in containers.values()} == {
        "deploymentContainerName", "deadLetterContainerName"}
    tables = resources_of_type(tree, "Microsoft.Storage/storageAccounts/tableServices/tables")
    assert [body(r)["name"] for r in tables.values()] == ["tableName"]
    assert [r["config"]["loop_type"]["detail"]["array_name"] for r in tables.values()] == ["ledgerTableNames"]


def test_ledger_tables_are_the_ledgers_own(bicep):
    # The Table Storage ledger names its tables (prefix + one per record kind); the template
    # creates exactly those, with the default prefix the app runs with.
    try:
        from ledger.table.keys import table_names
    except ImportError as exc:
        pytest.fail(f"cannot import the Table Storage ledger's table names (ledger.table.keys): {exc}", pytrace=False)
    deployed = bicep(MAIN)["variables"]["ledgerTableNames"]["value"]
    assert sorted(deployed) == sorted(table_names(None).values())


def test_key_vault_uses_rbac_and_purge_protection(bicep):
    vault = bicep(KEY_VAULT)["resources"]["vault"]["config"]["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True
    assert "accessPolicies" not in vault


def test_key_vault_holds_both_secrets(bicep):
    secrets = resources_of_type(bicep(KEY_VAULT), "Microsoft.KeyVault/vaults/secrets")
    assert {r["config"]["name"] for r in secrets.values()} == {"teams-webhooks", "approval-secret"}


def role_assignments(parsed_bicep):
    for path, entry in parsed_bicep.items():
        for name, resource in (entry["tree"] or {}).get("resources", {}).items():
            if resource["type"] == "Microsoft.Authorization/roleAssignments":
                yield path, name, body(resource)


def test_role_assignments_are_named_from_scope_principal_and_role(parsed_bicep):
    found = list(role_assignments(parsed_bicep))
    assert len(found) >= 7, [f"{p}:{n}" for p, n, _ in found]
    for path, name, config in found:
        guid = config["name"]["function"]
        assert guid["type"] == "guid", f"{path}:{name}"
        arguments = json.dumps(guid["parameters"])
        principal = config["properties"]["principalId"]
        role = json.dumps(config["properties"]["roleDefinitionId"])
        assert len(guid["parameters"]) == 3, f"{path}:{name}: guid(scope, principal, role)"
        assert json.dumps(principal) in arguments, f"{path}:{name} name must include the principal"
        assert role in arguments, f"{path}:{name} name must include the role"


@pytest.mark.parametrize(("role_id", "why"), [
    ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner: host storage and package"),
    ("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Storage Table Data Contributor: the ledger"),
    ("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User: Key Vault references"),
    ("3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher: Entra telemetry ingestion"),
])
def test_identity_gets_the_data_roles_it_needs(role_id, why):
    assert role_id in (INFRA / "app/rbac.bicep").read_text(encoding="utf-8"), why


def test_the_function_waits_for_its_roles(bicep):
    assert bicep(MAIN)["modules"]["functionApp"]["config"]["dependsOn"] == ["rbac"]


GRAPH = "infra/app/graph-permissions.bicep"


def test_graph_grants_mail_send_and_read_basic_to_the_identity(bicep):
    tree = bicep(GRAPH)
    assert tree["variables"]["mailPermissions"]["value"] == ["Mail.Send", "Mail.ReadBasic"]
    graph = tree["resources"]["microsoftGraph"]
    assert graph["type"] == "Microsoft.Graph/servicePrincipals" and graph["existing"] is True
    assert tree["variables"]["microsoftGraphAppId"]["value"] == "00000003-0000-0000-c000-000000000000"
    grant = tree["resources"]["mailGrants"]
    assert grant["type"] == "Microsoft.Graph/appRoleAssignedTo"
    assert grant["config"]["loop_type"]["detail"]["array_name"] == "mailPermissions"
    config = body(grant)
    assert config["principalId"] == "identityPrincipalId"
    # The app role id is looked up by name among Graph's own roles, not copied in.
    assert '"filter"' in json.dumps(config["appRoleId"])
    text = (INFRA / "app/graph-permissions.bicep").read_text(encoding="utf-8")
    assert re.search(r"^extension 'br:mcr\.microsoft\.com/bicep/extensions/microsoftgraph/v1\.0:[\d.]+'$", text, re.MULTILINE)


def test_graph_grants_are_on_by_default_and_only_with_a_sender(bicep):
    main = bicep(MAIN)
    assert main["parameters"]["enableGraphPermissions"]["default"] is True
    module = main["modules"]["graphPermissions"]
    assert module["detail"]["path"] == "app/graph-permissions.bicep"
    condition = json.dumps(module["config"]["condition"])
    assert "enableGraphPermissions" in condition and "mailSender" in condition


def test_the_app_is_told_whether_it_may_write_scale_sets(settings):
    assert "RESPONDER_SCALE_SET_WRITE" in settings
