"""Each monitored subscription: role assignment, system topics, event subscriptions, alerts."""

import json
import re

import pytest
from infra_paths import INFRA, ROOT
from tree_walk import body

MAIN = "infra/main.bicep"
MONITORED = "infra/modules/monitored-subscription.bicep"
TOPICS = "infra/modules/health-topics.bicep"
SIGNALS = "infra/modules/health-signals.bicep"

HEALTH_EVENTS = [
    "Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
    "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
]
MAINTENANCE_EVENTS = ["Microsoft.ResourceNotifications.MaintenanceResources.ScheduledEventEmitted"]


@pytest.fixture(scope="module")
def signals(bicep):
    return bicep(SIGNALS)


def test_one_module_per_monitored_subscription(bicep):
    modules = bicep(MAIN)["modules"]
    for name in ("monitored", "deadLetterWriters", "signals"):
        loop = modules[name]["config"]["loop_type"]
        assert loop["detail"]["array_name"] == "subscriptionIds", name
    assert modules["monitored"]["detail"]["path"] == "modules/monitored-subscription.bicep"
    assert bicep(MONITORED)["globals"]["scope"]["value"] == "subscription"


def test_monitored_subscriptions_default_to_the_deployment_subscription(bicep):
    main = bicep(MAIN)
    assert main["parameters"]["monitoredSubscriptions"]["default"] == ""
    text = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert re.search(r"var subscriptionIds = empty\(trim\(monitoredSubscriptions\)\) \? \[\s+subscription\(\)\.subscriptionId", text)


def test_role_is_assigned_at_each_monitored_subscription(bicep):
    tree = bicep(MONITORED)
    assignment = body(tree["resources"]["responderAccess"])
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    assert "scope" not in assignment  # the module's scope: the monitored subscription itself
    assert tree["variables"]["roleDefinitionId"]["value"]["function"]["parameters"]["resource_name_1"] == "roleDefinitionName"


@pytest.mark.parametrize(("resource", "topic_type", "conditional"), [
    ("healthTopic", "Microsoft.ResourceNotifications.HealthResources", False),
    ("maintenanceTopic", "Microsoft.ResourceNotifications.MaintenanceResources", True),
])
def test_system_topics(bicep, resource, topic_type, conditional):
    topic = bicep(TOPICS)["resources"][resource]
    assert topic["type"] == "Microsoft.EventGrid/systemTopics"
    assert topic["api_version"] == "2025-02-15"
    config = body(topic)
    assert config["location"] == "global"
    assert config["properties"]["topicType"] == topic_type
    assert config["identity"] == {"type": "SystemAssigned"}
    assert ("condition" in topic["config"]) is conditional
    if conditional:
        assert topic["config"]["condition"] == "enableMaintenanceEvents"


@pytest.mark.parametrize(("resource", "event_types"), [
    ("healthEvents", HEALTH_EVENTS),
    ("maintenanceEvents", MAINTENANCE_EVENTS),
])
def test_event_subscriptions_deliver_to_the_event_grid_function(signals, resource, event_types):
    subscription = signals["resources"][resource]
    assert subscription["type"] == "Microsoft.EventGrid/systemTopics/eventSubscriptions"
    assert subscription["api_version"] == "2025-02-15"
    properties = body(subscription)["properties"]
    assert properties["filter"]["includedEventTypes"] == event_types
    destination = signals["variables"][properties["destination"]]["value"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${functionAppId}/functions/${eventGridFunctionName}"
    assert signals["variables"]["eventGridFunctionName"]["value"] == "event_grid"
    retry = signals["variables"][properties["retryPolicy"]]["value"]
    assert retry["maxDeliveryAttempts"] >= 1 and retry["eventTimeToLiveInMinutes"] >= 60


def test_dead_letters_are_written_with_the_topic_identity(signals):
    dead_letter = signals["variables"]["deadLetter"]["value"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"]["endpointType"] == "StorageBlob"
    for resource in ("healthEvents", "maintenanceEvents"):
        assert body(signals["resources"][resource])["properties"]["deadLetterWithResourceIdentity"] == "deadLetter"


def test_dead_letter_writers_get_blob_data_contributor_on_the_container(bicep):
    tree = bicep("infra/app/deadletter-access.bicep")
    assert "ba92f5b4-2d11-453d-a403-e96b0029c9fe" in json.dumps(tree["variables"])
    for name in ("healthTopicWriter", "maintenanceTopicWriter"):
        scope = json.dumps(body(tree["resources"][name])["scope"])
        assert "nested_resource_accessor" in scope and '"deadLetterContainer"' in scope, name


def test_action_group_calls_the_alerts_function(signals):
    group = signals["resources"]["responderActions"]
    assert group["type"] == "Microsoft.Insights/actionGroups"
    config = body(group)
    assert config["location"] == "Global"
    assert len(config["properties"]["groupShortName"]) <= 12
    [receiver] = config["properties"]["azureFunctionReceivers"]
    assert receiver["functionAppResourceId"] == "functionAppId"
    assert signals["variables"]["alertsFunctionName"]["value"] == "alerts"
    assert receiver["functionName"] == "alertsFunctionName"
    assert signals["variables"]["alertsRoute"]["value"] == "alerts"
    assert receiver["useCommonAlertSchema"] is True


def test_the_alerts_url_carries_the_alerts_functions_own_key(signals):
    # The route is authLevel FUNCTION: a URL without `?code=` is refused with 401, silently.
    [receiver] = body(signals["resources"]["responderActions"])["properties"]["azureFunctionReceivers"]
    url = receiver["httpTriggerUrl"]
    assert url.startswith("https://${functionAppHostName}/api/${alertsRoute}?code=${"), url
    key_source = re.fullmatch(r".*\?code=\$\{(\w+)::(\w+)\.listKeys\(\)\.default\}", url)
    assert key_source, f"the key must come from listKeys on the alerts function: {url}"
    site, function = (signals["resources"][key_source.group(1)],
                      signals["resources"][f"{key_source.group(1)}__{key_source.group(2)}"])
    # The function's own key (sites/functions), not the host's (sites/host) or the master key.
    assert function["type"] == "Microsoft.Web/sites/functions"
    assert function["existing"] is True and body(function)["name"] == "alertsFunctionName"
    assert site["type"] == "Microsoft.Web/sites" and site["existing"] is True
    assert body(site)["name"] == "functionAppName"
    # In the app's resource group, not this module's (the signals group of a monitored subscription).
    assert body(site)["scope"]["function"]["parameters"] == {
        "resource_group_name": "appResourceGroupName", "subscription_id": "appSubscriptionId"}


def test_the_alerts_route_requires_a_function_key():
    source = (ROOT / "handlers/alerts.py").read_text(encoding="utf-8")
    assert '@bp.route(route="alerts", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)' in source


def leaf_conditions(alert):
    """{field: set of accepted values} of an activity log alert's condition."""
    accepted = {}
    for clause in alert["properties"]["condition"]["allOf"]:
        for leaf in clause.get("anyOf", [clause]):
            accepted.setdefault(leaf["field"], set()).add(leaf["equals"])
    return accepted


@pytest.mark.parametrize(("resource", "expected"), [
    ("serviceHealthAlert", {
        "category": {"ServiceHealth"},
        "properties.incidentType": {"Maintenance", "Incident", "ActionRequired", "Security"},
    }),
    ("resourceHealthAlert", {
        "category": {"ResourceHealth"},
        "resourceType": {"Microsoft.Compute/virtualMachines", "Microsoft.Compute/virtualMachineScaleSets"},
    }),
    ("repairStateAlert", {
        "category": {"Administrative"},
        "operationName": {"Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action"},
        "resourceType": {"Microsoft.Compute/virtualMachineScaleSets"},
        # Azure's own alert for this operation filters on Succeeded; Accepted and Started would
        # bring each change (and each of the app's own Resume calls) three times.
        "status": {"Succeeded"},
    }),
])
def test_activity_log_alerts(signals, resource, expected):
    alert = signals["resources"][resource]
    assert alert["type"] == "Microsoft.Insights/activityLogAlerts"
    config = body(alert)
    assert config["location"] == "Global"
    assert config["properties"]["enabled"] is True
    assert leaf_conditions(config) == expected
    assert config["properties"]["actions"] == "alertActions"


def test_signals_wait_for_the_code_and_the_dead_letter_roles(bicep):
    module = bicep(MAIN)["modules"]["signals"]["config"]
    assert module["condition"] == "connectSignals"
    assert set(module["config"]["dependsOn"]) == {"monitored", "deadLetterWriters"}


@pytest.mark.parametrize(("decorator", "name"), [
    ('@bp.function_name("event_grid")', "event_grid"),
    ('@bp.function_name("alerts")', "alerts"),
    ('@bp.route(route="alerts"', "alerts route"),
])
def test_the_functions_the_infrastructure_calls_exist(decorator, name):
    handlers = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "handlers").glob("*.py")))
    assert decorator in handlers, f"infra/modules/health-signals.bicep calls `{name}`, which handlers/ does not register"


def test_parameters_file_matches_main(bicep):
    declared = bicep(MAIN)["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert set(given) - set(declared) == set(), "parameters file sets parameters main.bicep lacks"
    required = {name for name, p in declared.items() if p["default"] is None}
    assert required - set(given) == set(), "main.bicep parameters without a default must come from azd"
    # azd fills each value from its environment; the app settings keep their own names there.
    for name, entry in given.items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), name


def test_teams_webhooks_are_a_secure_object_parameter(bicep):
    # azd substitutes without escaping: JSON into a string parameter breaks loading; it parses
    # JSON for object parameters. The preprovision hook sets {} when the value is empty.
    parameter = bicep(MAIN)["parameters"]["teamsWebhooks"]
    assert parameter["type"] == "object"
    assert "secure" in json.dumps(parameter["decorators"])
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["teamsWebhooks"]["value"] == "${RESPONDER_TEAMS_WEBHOOKS}"


@pytest.mark.parametrize(("parameter", "value"), [
    ("principalType", "${AZURE_PRINCIPAL_TYPE=User}"),
    ("enableGraphPermissions", "${RESPONDER_GRAPH_PERMISSIONS=true}"),
    ("enableScaleSetWrite", "${RESPONDER_SCALE_SET_WRITE_ROLE=false}"),
])
def test_parameters_azd_fills(parameter, value):
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given[parameter]["value"] == value


def test_the_deployers_principal_type_comes_from_azd(bicep):
    assert bicep(MAIN)["modules"]["rbac"]["config"]["params"]["userPrincipalType"] == "principalType"
    rbac = bicep("infra/app/rbac.bicep")
    assert body(rbac["resources"]["userStorageAccess"])["properties"]["principalType"] == "userPrincipalType"
    assert "'User'" not in json.dumps(body(rbac["resources"]["userStorageAccess"]))
