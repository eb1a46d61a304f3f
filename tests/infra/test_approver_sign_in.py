"""Sign-in on the approval pages, as the template deploys it: App Service authentication
(authsettingsV2, Entra ID) on for the app when signInClientId is set, requiring nobody (Event
Grid and action groups keep their function keys), and the app told so by the setting that makes
it trust the X-MS-CLIENT-PRINCIPAL headers; the approvers come from azd's environment."""

import json

import pytest
from infra_paths import INFRA
from tree_walk import body, walk

FUNCTION = "infra/app/function.bicep"
MAIN = "infra/main.bicep"


@pytest.fixture(scope="module")
def auth(bicep):
    return bicep(FUNCTION)["resources"]["authSettings"]


def test_sign_in_is_deployed_exactly_when_a_client_id_is_given(auth):
    assert (auth["type"], auth["api_version"]) == ("Microsoft.Web/sites/config", "2024-04-01")
    condition = json.dumps(auth["config"]["condition"])
    assert '"not"' in condition and '"empty"' in condition and "signInClientId" in condition
    assert body(auth)["name"] == "authsettingsV2" and body(auth)["parent"] == "app"


def test_sign_in_is_on_but_required_of_nobody_so_keyed_callers_still_reach_their_functions(auth):
    properties = body(auth)["properties"]
    assert properties["platform"] == {"enabled": True}
    # Requiring it (or excluded paths) would stand between Event Grid's deliveries and the host;
    # the approvals route requires a signed-in approver itself (handlers/approvals.py).
    assert properties["globalValidation"] == {"requireAuthentication": False, "unauthenticatedClientAction": "AllowAnonymous"}
    assert properties["httpSettings"]["requireHttps"] is True
    assert properties["login"]["tokenStore"]["enabled"] is False


def test_entra_id_is_the_provider_the_approvals_route_sends_people_to(auth):
    from handlers.approvals import SIGN_IN

    entra = body(auth)["properties"]["identityProviders"]["azureActiveDirectory"]
    assert entra["enabled"] is True and entra["registration"]["clientId"] == "signInClientId"
    assert entra["registration"]["openIdIssuer"] == "${environment().authentication.loginEndpoint}${signInTenantId}/v2.0"
    assert "signInClientId" in entra["validation"]["allowedAudiences"]
    assert set(body(auth)["properties"]["identityProviders"]) == {"azureActiveDirectory"}
    assert SIGN_IN == "/.auth/login/aad"  # App Service's sign-in path for the azureActiveDirectory provider


def test_the_app_trusts_sign_in_headers_only_when_the_template_turned_sign_in_on(bicep):
    main = bicep(MAIN)
    settings = {name: value for item in _dicts(main["variables"]["responderSettings"]["value"])
                for name, value in item.items() if name.startswith("RESPONDER_APPROVER")}
    assert settings["RESPONDER_APPROVER_SIGN_IN"] == {"operator": {"type": "conditional", "operands": {
        "condition": {"function": {"type": "empty", "parameters": {"item_to_test": "signInClientId"}}},
        "true_value": "false", "false_value": "true"}}}
    assert settings["RESPONDER_APPROVERS"] == "approvers"
    params = body(main["modules"]["functionApp"])["params"]
    assert (params["signInClientId"], params["signInTenantId"]) == ("signInClientId", "signInTenantId")


@pytest.mark.parametrize(("parameter", "value", "default"), [
    ("approvers", "${RESPONDER_APPROVERS=}", ""),
    ("signInClientId", "${RESPONDER_SIGN_IN_CLIENT_ID=}", ""),
])
def test_azd_fills_the_approvers_and_the_sign_in_client(bicep, parameter, value, default):
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given[parameter]["value"] == value
    assert bicep(MAIN)["parameters"][parameter]["default"] == default


def _dicts(node):
    return [item for item in walk(node) if isinstance(item, dict)]
