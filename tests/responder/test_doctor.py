"""`python -m responder doctor` against the simulated Azure: a healthy deployment passes every
check; each way a deployment can be broken fails the check that covers it, with the fix."""

from __future__ import annotations

import io
import json

import pytest

from actions import required_permissions, scale_set_write_permissions
from responder.doctor import report
from tests.responder.conftest import doctor

# The operations the main role grants (the actions' declarations, less the opt-in scale-set
# write role's): a lost role lacks each of them.
DECLARED = len(set(required_permissions()) - set(scale_set_write_permissions()))

SUB1 = "00000000-0000-0000-0000-0000000000d1"
SUB2 = "00000000-0000-0000-0000-0000000000d2"


def test_a_healthy_deployment_passes(deployed):
    sim, deployment = deployed
    checks = doctor(sim, deployment)
    assert [c for c in checks if c.status == "FAIL"] == []
    names = {c.name for c in checks}
    for sub in (SUB1, SUB2):
        assert {f"permissions in {sub}", f"Event Grid HealthResources in {sub}", f"action group in {sub}",
                f"activity log alerts in {sub}", f"scale-set write role in {sub}"} <= names
    assert {"settings: Key Vault references resolved", "settings: parse", "ledger: reachable", "ledger: writable by the app",
            "email: Graph permissions", "Teams webhooks", "approvals: approvers", "approvals: sign-in"} <= names
    out = io.StringIO()
    assert report(checks, out) == 0
    assert out.getvalue().splitlines()[-1] == f"{len(checks)} checks, 0 failed"


def test_approve_mode_with_sign_in_and_approvers_passes(deployed):
    sim, deployment = deployed
    deployment.sign_in_on(SIGN_IN_CLIENT, f"group:{GROUP},role:Responder.Approve")
    deployment.app_settings["RESPONDER_MODE"] = "approve"
    checks = {c.name: c for c in doctor(sim, deployment)}
    assert [c for c in checks.values() if c.status == "FAIL"] == []
    assert f"group:{GROUP}, role:Responder.Approve may decide" in checks["approvals: approvers"].detail
    assert f"Entra ID (client {SIGN_IN_CLIENT}), required of nobody" in checks["approvals: sign-in"].detail


def test_a_sqlite_ledger_is_checked_too(deployed, tmp_path):
    from responder.doctor.simulated import sqlite_ledger

    sim, deployment = deployed
    deployment.app_settings["RESPONDER_LEDGER"] = sqlite_ledger(tmp_path)
    ledger = {c.name: c for c in doctor(sim, deployment) if c.name.startswith("ledger")}
    assert [c.status for c in ledger.values()] == ["PASS", "PASS"]
    assert str(tmp_path) in ledger["ledger: reachable"].detail


def test_a_role_on_one_resource_group_is_not_a_subscription_wide_grant(deployed):
    sim, deployment = deployed
    for assignment in deployment.role_assignments:
        if assignment["scope"] == f"/subscriptions/{SUB1}":
            assignment["scope"] = f"/subscriptions/{SUB1}/resourceGroups/rg-one"
    failed = [c for c in doctor(sim, deployment) if c.status == "FAIL"]
    assert [c.name for c in failed] == [f"permissions in {SUB1}"]
    assert f"lacks {DECLARED} of {DECLARED}" in failed[0].detail


def test_doctor_only_reads(deployed):
    sim, deployment = deployed
    doctor(sim, deployment)
    for request in sim.requests:
        assert request.method == "GET" or request.path.lower().endswith(("/appsettings/list", "/listkeys")), request.path
    assert any(r.path.endswith("/strhrsimtoken01/Tables") for r in sim.requests), "the ledger's tables were read"


def _unresolved(d):
    d.references["RESPONDER_APPROVAL_SECRET"] = "AccessToKeyVaultDenied"


def _bad_mode(d):
    d.app_settings["RESPONDER_MODE"] = "sometimes"


def _policy_outside(d):
    d.app_settings["RESPONDER_POLICY_PATH"] = "rules/no-such-policy.yaml"


def _memory_ledger(d):
    d.app_settings["RESPONDER_LEDGER"] = "sqlite::memory:"


def _missing_ledger(d):
    d.app_settings["RESPONDER_LEDGER"] = "sqlite:/nonexistent/folder/ledger.sqlite"


def _role_lost_in_second(d):
    d.role_assignments = [a for a in d.role_assignments if not a["scope"].endswith(SUB2)]


def _table_ledger_nowhere(d):
    # Nothing answers there; the identity may still write the account's tables.
    d.app_settings["RESPONDER_TABLE_ENDPOINT"] = f"https://127.0.0.1:9/{d.storage_account}"


def _table_ledger_read_only(d):
    d.role_assignments = [a for a in d.role_assignments if a["scope"] != d.storage_account_id]


def _role_in(d, sub):
    [assignment] = [a for a in d.role_assignments if a["scope"] == f"/subscriptions/{sub}"]
    return d.role_definitions[assignment["roleDefinitionId"].rsplit("/", 1)[-1]]["permissions"][0]


def _role_narrowed(d):
    _role_in(d, SUB1)["actions"].remove("Microsoft.Compute/virtualMachines/redeploy/action")


def _role_denies(d):
    _role_in(d, SUB1)["notActions"].append("Microsoft.Compute/virtualMachines/*")


def _write_promised_not_granted(d):
    d.app_settings["RESPONDER_SCALE_SET_WRITE"] = "true"


def _write_granted_not_told(d):
    from actions import scale_set_write_permissions

    for sub in d.subscriptions:
        d.assign_role(f"/subscriptions/{sub}", d.define_role(sub, "scale-set write", scale_set_write_permissions()))


def _no_topic(d):
    del d.system_topics[(SUB2, d.health_topic)]


def _topic_failed(d):
    d.system_topics[(SUB1, d.health_topic)]["provisioningState"] = "Failed"


def _no_event_subscription(d):
    d.event_subscriptions.clear()


def _events_elsewhere(d):
    for found in d.event_subscriptions.values():
        found["destination"]["properties"]["resourceId"] = d.site_id + "/functions/events"


def _keyless_receiver(d):
    for group in d.action_groups.values():
        receiver = group["azureFunctionReceivers"][0]
        receiver["httpTriggerUrl"] = receiver["httpTriggerUrl"].split("?")[0]


def _rotated_key(d):
    d.function_keys["alerts"]["default"] = "a-new-key"


def _receiver_elsewhere(d):
    for group in d.action_groups.values():
        group["azureFunctionReceivers"][0]["functionAppResourceId"] = d.site_id + "-old"


def _no_action_group(d):
    d.action_groups.clear()


def _alert_missing(d):
    del d.alerts[(SUB1, "responder-scale-set-repair-state")]


def _alert_disabled(d):
    d.alerts[(SUB2, "responder-service-health")]["enabled"] = False


def _no_mail_send(d):
    d.graph_grants = [g for g in d.graph_grants if g["appRoleId"] != "b633e1c5-b582-4048-a93e-9f11b44c7e96"]


def _no_grants(d):
    d.graph_grants.clear()


GROUP = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"  # the approvers' Entra group
SIGN_IN_CLIENT = "0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f"  # the sign-in app registration


def _approve_without_approvers(d):
    d.sign_in_on(SIGN_IN_CLIENT, "")
    d.app_settings["RESPONDER_MODE"] = "approve"


def _approve_without_sign_in(d):
    d.app_settings.update(RESPONDER_MODE="approve", RESPONDER_APPROVERS=f"group:{GROUP}")


def _app_trusts_headers_nobody_owns(d):
    d.app_settings.update(RESPONDER_APPROVERS=f"group:{GROUP}", RESPONDER_APPROVER_SIGN_IN="true")


def _sign_in_on_app_not_told(d):
    d.sign_in_on(SIGN_IN_CLIENT, f"group:{GROUP}")
    d.app_settings["RESPONDER_APPROVER_SIGN_IN"] = "false"


def _sign_in_required_everywhere(d):
    d.sign_in_on(SIGN_IN_CLIENT, f"group:{GROUP}")
    d.auth_settings["globalValidation"] = {"requireAuthentication": True, "unauthenticatedClientAction": "RedirectToLoginPage"}


def _sign_in_without_entra(d):
    d.sign_in_on(SIGN_IN_CLIENT, f"group:{GROUP}")
    d.auth_settings["identityProviders"] = {}


FAILURES = [
    # (what is broken, how, the check that fails, a fragment of its detail, a fragment of its fix)
    ("Key Vault reference unresolved", _unresolved, "settings: Key Vault references resolved",
     "RESPONDER_APPROVAL_SECRET: AccessToKeyVaultDenied", "propagating"),
    ("a setting that does not parse", _bad_mode, "settings: parse", "RESPONDER_MODE", "azd env set"),
    ("policy path outside the package", _policy_outside, "settings: parse", "no-such-policy.yaml", "inside the project"),
    ("ledger in memory", _memory_ledger, "ledger: reachable", "in memory", "RESPONDER_LEDGER=table"),
    ("ledger unreachable", _missing_ledger, "ledger: reachable", "/nonexistent/folder", "RESPONDER_LEDGER"),
    ("table ledger unreachable", _table_ledger_nowhere, "ledger: reachable", "https://127.0.0.1:9/strhrsimtoken01",
     "RESPONDER_TABLE_ENDPOINT"),
    ("table ledger not writable by the identity", _table_ledger_read_only, "ledger: writable by the app",
     "may not write table entities in strhrsimtoken01", "Storage Table Data Contributor"),
    ("role not assigned in one subscription", _role_lost_in_second, f"permissions in {SUB2}", f"lacks {DECLARED} of {DECLARED}", "azd provision"),
    ("role lacks an action", _role_narrowed, f"permissions in {SUB1}", "virtualMachines/redeploy/action", "azd provision"),
    ("role denies actions", _role_denies, f"permissions in {SUB1}", "virtualMachines/restart/action", "azd provision"),
    ("write promised, not granted", _write_promised_not_granted, f"scale-set write role in {SUB1}",
     "lacks Microsoft.Compute/galleries/images/versions/read", "RESPONDER_SCALE_SET_WRITE_ROLE true"),
    ("write granted, app not told", _write_granted_not_told, f"scale-set write role in {SUB2}", "are skipped",
     "RESPONDER_SCALE_SET_WRITE_ROLE true"),
    ("system topic missing", _no_topic, f"Event Grid HealthResources in {SUB2}", "no system topic", "azd provision"),
    ("system topic failed", _topic_failed, f"Event Grid HealthResources in {SUB1}", "is Failed", "azd provision"),
    ("event subscription missing", _no_event_subscription, f"Event Grid HealthResources in {SUB1}",
     "events reach nobody", "RESPONDER_CONNECT_SIGNALS true"),
    ("events to another function", _events_elsewhere, f"Event Grid HealthResources in {SUB2}", "functions/events", "azd provision"),
    ("receiver without a key", _keyless_receiver, f"action group in {SUB1}", "401", "azd provision"),
    ("receiver with a rotated key", _rotated_key, f"action group in {SUB2}", "no longer has", "current key"),
    ("receiver at another app", _receiver_elsewhere, f"action group in {SUB1}", "no Azure Function receiver", "azd provision"),
    ("action group missing", _no_action_group, f"action group in {SUB1}", "alerts reach nobody", "RESPONDER_CONNECT_SIGNALS"),
    ("repair-state alert missing", _alert_missing, f"activity log alerts in {SUB1}",
     "missing: responder-scale-set-repair-state", "azd provision"),
    ("an alert disabled", _alert_disabled, f"activity log alerts in {SUB2}", "disabled: responder-service-health", "azd provision"),
    ("Mail.Send not granted", _no_mail_send, "email: Graph permissions", "missing Mail.Send", "RESPONDER_GRAPH_PERMISSIONS true"),
    ("no Graph permission", _no_grants, "email: Graph permissions", "missing Mail.Send, Mail.ReadBasic", "administrator"),
    ("approve mode without approvers", _approve_without_approvers, "approvals: approvers", "RESPONDER_APPROVERS names nobody",
     "azd env set RESPONDER_APPROVERS group:"),
    ("approve mode without sign-in", _approve_without_sign_in, "approvals: sign-in", "approve mode refuses to start in Azure",
     "RESPONDER_SIGN_IN_CLIENT_ID"),
    ("app trusts sign-in headers with sign-in off", _app_trusts_headers_nobody_owns, "approvals: sign-in",
     "headers any caller can write", "RESPONDER_SIGN_IN_CLIENT_ID"),
    ("sign-in on, app not told", _sign_in_on_app_not_told, "approvals: sign-in", "refuse every signed-in person", "azd provision"),
    ("sign-in required of every caller", _sign_in_required_everywhere, "approvals: sign-in", "Event Grid and action groups cannot sign in",
     "requires nobody at the platform"),
    ("sign-in without Entra ID", _sign_in_without_entra, "approvals: sign-in", "without the Entra ID provider", "RESPONDER_SIGN_IN_CLIENT_ID"),
]


@pytest.mark.parametrize(("broken", "breaks", "check", "detail", "fix"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_is_named_with_its_fix(deployed, broken, breaks, check, detail, fix):
    sim, deployment = deployed
    breaks(deployment)
    checks = doctor(sim, deployment)
    failed = [c for c in checks if c.status == "FAIL"]
    # Only the check that covers it fails (in the subscription broken, or in both when both are).
    family = {check, check.replace(SUB1, SUB2), check.replace(SUB2, SUB1)}
    assert check in [c.name for c in failed] and {c.name for c in failed} <= family, [(c.name, c.detail) for c in failed]
    [named] = [c for c in failed if c.name == check]
    assert detail in named.detail
    assert fix in named.fix
    out = io.StringIO()
    assert report(checks, out) == 1
    assert f"FAIL  {check}: " in out.getvalue() and "      fix: " in out.getvalue()


@pytest.mark.parametrize(("changes", "check", "detail"), [
    ({"teams_webhooks": "{}"}, "Teams webhooks", "no Teams route"),
    ({"teams_webhooks": "not json"}, "Teams webhooks", "not JSON"),
    ({"teams_webhooks": json.dumps({"ops": "http://plain.example/hook"})}, "Teams webhooks", "not https: ops"),
    ({"signals_group": "rg-elsewhere"}, f"Event Grid HealthResources in {SUB1}", "no system topic"),
])
def test_failures_in_the_azd_environment(deployed, changes, check, detail):
    sim, deployment = deployed
    failed = [c for c in doctor(sim, deployment, changes) if c.status == "FAIL"]
    assert check in [c.name for c in failed]
    assert detail in next(c for c in failed if c.name == check).detail


def test_without_graph_grants_by_design_doctor_says_what_to_grant(deployed):
    sim, deployment = deployed
    deployment.graph_grants.clear()
    checks = doctor(sim, deployment, {"graph_permissions": False})
    [mail] = [c for c in checks if c.name == "email: Graph permissions"]
    assert mail.status == "SKIP"
    assert "Mail.Send" in mail.fix and "New-ManagementRoleAssignment" in mail.fix
    assert not [c for c in checks if c.status == "FAIL"]


def test_no_mail_sender_means_no_email_check(deployed):
    sim, deployment = deployed
    checks = doctor(sim, deployment, {"mail_sender": ""})
    [mail] = [c for c in checks if c.name == "email: Graph permissions"]
    assert mail.status == "SKIP"
    assert not [c for c in checks if c.name == "email: only as the sender"]


def test_the_scope_of_the_sender_is_documented_not_guessed(deployed):
    sim, deployment = deployed
    [scope] = [c for c in doctor(sim, deployment) if c.name == "email: only as the sender"]
    assert scope.status == "SKIP"
    assert "New-ApplicationAccessPolicy" in scope.fix and "Test-ApplicationAccessPolicy" in scope.fix


def test_a_read_doctor_may_not_make_is_a_failure_naming_what_it_needs(deployed):
    from simulator import arm_error

    sim, deployment = deployed
    sim.add_route("POST", r".*/config/appsettings/list", lambda request: arm_error(403, "AuthorizationFailed", "no"))
    [settings] = [c for c in doctor(sim, deployment) if c.name == "settings"]
    assert settings.status == "FAIL"
    assert "Website Contributor" in settings.fix
