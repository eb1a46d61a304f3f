"""Settings that cannot be used stop the app with a message naming them; paths are the app's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline import Settings, SettingsError
from pipeline.settings import NAMES, ROOT

REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-rhr-x.vault.azure.net/secrets/teams-webhooks/)"


@pytest.mark.parametrize(("env", "named"), [
    ({"RESPONDER_TEAMS_WEBHOOKS": REFERENCE}, ["RESPONDER_TEAMS_WEBHOOKS"]),
    ({"RESPONDER_APPROVAL_SECRET": REFERENCE, "RESPONDER_TEAMS_WEBHOOKS": " " + REFERENCE},
     ["RESPONDER_APPROVAL_SECRET", "RESPONDER_TEAMS_WEBHOOKS"]),
    ({"RESPONDER_MODE": "sometimes"}, ["RESPONDER_MODE"]),
    ({"RESPONDER_AZURE": "cloudy"}, ["RESPONDER_AZURE"]),
    ({"RESPONDER_TEAMS_WEBHOOKS": '{"ops": 3}'}, ["RESPONDER_TEAMS_WEBHOOKS"]),
    ({"RESPONDER_TEAMS_WEBHOOKS": "not json"}, ["RESPONDER_TEAMS_WEBHOOKS"]),
    ({"RESPONDER_PAUSED": "maybe"}, ["RESPONDER_PAUSED"]),
    ({"RESPONDER_SCALE_SET_WRITE": "perhaps"}, ["RESPONDER_SCALE_SET_WRITE"]),
])
def test_a_setting_that_cannot_be_used_is_named(env, named):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    for name in named:
        assert name in str(raised.value)


def test_an_unresolved_key_vault_reference_says_what_it_is():
    with pytest.raises(SettingsError, match=r"unresolved Key Vault reference.*doctor"):
        Settings.from_env({"RESPONDER_APPROVAL_SECRET": REFERENCE})


def test_a_resolved_secret_that_mentions_key_vault_is_fine():
    settings = Settings.from_env({"RESPONDER_APPROVAL_SECRET": "x" * 40 + "@Microsoft.KeyVault("})
    assert settings.approval_secret.startswith("x")


@pytest.mark.parametrize(("value", "expected"), [
    (None, ROOT / "rules" / "policy.yaml"),
    ("rules/policy.yaml", ROOT / "rules" / "policy.yaml"),
    ("custom/policy.yaml", ROOT / "custom" / "policy.yaml"),
    ("/etc/responder/policy.yaml", Path("/etc/responder/policy.yaml")),
])
def test_the_policy_path_is_resolved_against_the_apps_root(value, expected, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the Functions worker's current directory is not the app's
    env = {} if value is None else {"RESPONDER_POLICY_PATH": value}
    assert Settings.from_env(env).policy_path == expected


@pytest.mark.parametrize(("value", "granted"), [(None, True), ("true", True), ("false", False)])
def test_the_scale_set_write_role_setting(value, granted):
    env = {} if value is None else {"RESPONDER_SCALE_SET_WRITE": value}
    assert Settings.from_env(env).scale_set_write is granted


# -- every name the app reads: a good value and what it becomes; a bad value and the exact error --

ANY_TEXT = None  # a name whose every value is taken as it is (a URL, a path, a key, a schedule)
HOOK = "https://prod-01.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke"
SUB = "00000000-0000-0000-0000-0000000000A1"
EXPECTED_WEBHOOKS = "RESPONDER_TEAMS_WEBHOOKS: expected a JSON object of route name -> webhook URL"

# name: (good value, what the settings hold, bad value, exact error)
GROUP = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"  # an Entra group's object id

EVERY_SETTING = {
    "RESPONDER_MODE": ("Approve", lambda s: s.mode == "approve",
                       "sometimes", "RESPONDER_MODE='sometimes': expected one of observe, approve, auto"),
    "RESPONDER_POLICY_PATH": ("custom/policy.yaml", lambda s: s.policy_path == ROOT / "custom" / "policy.yaml", ANY_TEXT, None),
    "RESPONDER_CATALOG_EXTRA": ("/etc/catalog.yaml", lambda s: s.catalog_extra == Path("/etc/catalog.yaml"), ANY_TEXT, None),
    "RESPONDER_SUBSCRIPTIONS": (f"{SUB}, b", lambda s: s.subscriptions == (SUB.lower(), "b"), ANY_TEXT, None),
    "RESPONDER_RESOURCE_GROUPS_INCLUDE": ("RG-Web,rg-db", lambda s: s.resource_groups_include == ("rg-web", "rg-db"), ANY_TEXT, None),
    "RESPONDER_RESOURCE_GROUPS_EXCLUDE": ("rg-x", lambda s: s.resource_groups_exclude == ("rg-x",), ANY_TEXT, None),
    "RESPONDER_PAUSED": ("yes", lambda s: s.paused is True, "maybe", "RESPONDER_PAUSED='maybe': expected true or false"),
    "RESPONDER_LEDGER": ("table", lambda s: s.ledger == "table", ANY_TEXT, None),
    "RESPONDER_TABLE_ENDPOINT": ("https://a.table.core.windows.net", lambda s: s.table_endpoint == "https://a.table.core.windows.net",
                                 ANY_TEXT, None),
    "RESPONDER_TABLE_CONNECTION_STRING": ("UseDevelopmentStorage=true", lambda s: s.table_connection_string == "UseDevelopmentStorage=true",
                                          ANY_TEXT, None),
    "RESPONDER_TABLE_PREFIX": ("blue", lambda s: s.table_prefix == "blue", ANY_TEXT, None),  # its shape: ledger/table/keys.py
    "RESPONDER_DEADLETTER_CONNECTION_STRING": ("UseDevelopmentStorage=true",
                                               lambda s: s.deadletter_connection_string == "UseDevelopmentStorage=true", ANY_TEXT, None),
    "RESPONDER_AZURE": ("live", lambda s: s.azure == "live", "cloudy", "RESPONDER_AZURE='cloudy': expected none, sim or live"),
    "RESPONDER_ARM_ENDPOINT": ("https://127.0.0.1:8443", lambda s: s.arm_endpoint == "https://127.0.0.1:8443", ANY_TEXT, None),
    "RESPONDER_CA_BUNDLE": ("/tmp/ca.pem", lambda s: s.ca_bundle == s.notify.ca_bundle == "/tmp/ca.pem", ANY_TEXT, None),
    "RESPONDER_TEAMS_WEBHOOKS": (json.dumps({"ops": HOOK}), lambda s: dict(s.notify.teams_webhooks) == {"ops": HOOK},
                                 '{"ops": ""}', EXPECTED_WEBHOOKS),
    "RESPONDER_MAIL_SENDER": (" responder@contoso.com ", lambda s: s.notify.mail_sender == "responder@contoso.com", ANY_TEXT, None),
    "RESPONDER_MAIL_TO": ("Ops@Contoso.com; dev@contoso.com", lambda s: s.notify.mail_to == ("ops@contoso.com", "dev@contoso.com"),
                          ANY_TEXT, None),  # what is not an address is dropped (notify/routes.py)
    "RESPONDER_NOTIFY_ROUTES": (json.dumps({"pager": {"email": "p@contoso.com"}}), lambda s: s.notify.routes == {"pager": {"email": "p@contoso.com"}},
                                json.dumps(["pager"]), "RESPONDER_NOTIFY_ROUTES: notify routes must be a mapping of route name to channel, got list"),
    "RESPONDER_NOTIFY_DEFAULT_ROUTES": ("ops-teams, ops-email", lambda s: s.notify.default_routes == ("ops-teams", "ops-email"),
                                        "[ops", "RESPONDER_NOTIFY_DEFAULT_ROUTES: expected route names, comma-separated or a JSON list "
                                        "(Expecting value: line 1 column 2 (char 1))"),
    "RESPONDER_NOTIFY_ROUTINE": ("true", lambda s: s.notify.routine is True, "often", "RESPONDER_NOTIFY_ROUTINE='often': expected true or false"),
    "RESPONDER_NOTIFY_DIGEST_WINDOW": ("120", lambda s: s.notify.digest_window == 120.0,
                                       "five", "RESPONDER_NOTIFY_DIGEST_WINDOW='five': expected a number of seconds"),
    "RESPONDER_NOTIFY_DIGEST_AFTER": ("3", lambda s: s.notify.digest_after == 3, "3.5", "RESPONDER_NOTIFY_DIGEST_AFTER='3.5': expected a whole number"),
    "RESPONDER_NOTIFY_DIGEST_LIST": ("20", lambda s: s.notify.digest_list == 20, "many", "RESPONDER_NOTIFY_DIGEST_LIST='many': expected a whole number"),
    "RESPONDER_NOTIFY_HOLD": ("0", lambda s: s.notify.hold == 0.0, "1m", "RESPONDER_NOTIFY_HOLD='1m': expected a number of seconds"),
    "RESPONDER_NOTIFY_MAX_ATTEMPTS": ("4", lambda s: s.notify.max_attempts == 4, "x", "RESPONDER_NOTIFY_MAX_ATTEMPTS='x': expected a whole number"),
    "RESPONDER_MAIL_CONFIRM": ("none", lambda s: s.notify.mail_confirm == "none",
                               "inbox", "RESPONDER_MAIL_CONFIRM is 'inbox'; expected one of sent-items, none"),
    "RESPONDER_TEAMS_WHEN_UNSURE": ("keep", lambda s: s.notify.teams_when_unsure == "keep",
                                    "never", "RESPONDER_TEAMS_WHEN_UNSURE is 'never'; expected one of resend, keep"),
    "RESPONDER_OUTBOX_DIR": ("/tmp/out", lambda s: s.notify.outbox_dir == "/tmp/out" and s.notify.configured, ANY_TEXT, None),
    "RESPONDER_GRAPH_URL": ("https://127.0.0.1:8443/v1.0", lambda s: s.notify.graph_url == "https://127.0.0.1:8443/v1.0", ANY_TEXT, None),
    "RESPONDER_APPROVAL_SECRET": ("k" * 40, lambda s: s.approval_secret == "k" * 40, ANY_TEXT, None),  # its length: approvals/tokens.py
    "RESPONDER_PUBLIC_URL": ("https://responder.contoso.com", lambda s: s.public_url == "https://responder.contoso.com",
                             ANY_TEXT, None),  # its shape: approvals/config.py, when approvals are built
    "RESPONDER_APPROVERS": (f"role:Responder.Approve, group:{GROUP.upper()}",
                            lambda s: s.approvers == ("role:Responder.Approve", f"group:{GROUP}"),
                            "ops-team", "RESPONDER_APPROVERS: 'ops-team': expected group:<Entra group object id> or role:<app role value>"),
    "RESPONDER_APPROVER_SIGN_IN": ("true", lambda s: s.approver_sign_in is True,
                                   "maybe", "RESPONDER_APPROVER_SIGN_IN='maybe': expected true or false"),
    "RESPONDER_TICK_SCHEDULE": ("0 */5 * * * *", lambda s: s.tick_schedule == "0 */5 * * * *", ANY_TEXT, None),  # the host parses it
    "RESPONDER_SWEEP_SCHEDULE": ("0 0 * * * *", lambda s: s.sweep_schedule == "0 0 * * * *", ANY_TEXT, None),
    "RESPONDER_PURGE_SCHEDULE": ("0 0 4 * * *", lambda s: s.purge_schedule == "0 0 4 * * *", ANY_TEXT, None),
    "RESPONDER_RETENTION_DAYS": ("7", lambda s: s.retention_days == 7,
                                 "6", "RESPONDER_RETENTION_DAYS='6': expected a whole number of days from 7 to 3650"),
    "RESPONDER_SWEEP_SOURCE": ("ARM", lambda s: s.sweep.source == "arm",
                               "list", "RESPONDER_SWEEP_SOURCE='list': expected graph or arm"),
    "RESPONDER_SWEEP_BUDGET": ("PT5M", lambda s: s.sweep.budget_seconds == 300.0,
                               "0", "RESPONDER_SWEEP_BUDGET='0': the budget must be positive"),
    "RESPONDER_SWEEP_BATCH": ("1000", lambda s: s.sweep.batch_size == 1000,
                              "1001", "RESPONDER_SWEEP_BATCH='1001': expected 1 to 1000 subscriptions"),
    "RESPONDER_SWEEP_MANAGEMENT_GROUP": ("mg-prod", lambda s: s.sweep.management_group == "mg-prod", ANY_TEXT, None),
    "RESPONDER_SCALE_SET_WRITE": ("false", lambda s: s.scale_set_write is False,
                                  "perhaps", "RESPONDER_SCALE_SET_WRITE='perhaps': expected true or false"),
    "AZURE_CLIENT_ID": ("11111111-2222-3333-4444-555555555555",
                        lambda s: s.client_id == s.telemetry.client_id == "11111111-2222-3333-4444-555555555555", ANY_TEXT, None),
    "AZURE_SUBSCRIPTION_ID": (SUB, lambda s: s.default_subscription == SUB, ANY_TEXT, None),
    "WEBSITE_HOSTNAME": ("func-rhr.azurewebsites.net", lambda s: s.website_hostname == "func-rhr.azurewebsites.net", ANY_TEXT, None),
    "APPLICATIONINSIGHTS_CONNECTION_STRING": ("InstrumentationKey=0", lambda s: s.telemetry.connection_string == "InstrumentationKey=0",
                                              ANY_TEXT, None),
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": ("Authorization=AAD", lambda s: s.telemetry.authentication_string == "Authorization=AAD",
                                                  ANY_TEXT, None),
}


def test_the_table_names_every_setting_the_app_reads():
    assert sorted(EVERY_SETTING) == sorted(NAMES)


class Recording(dict):
    """An environment that remembers which names were asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.asked.add(name)
        return super().__getitem__(name)


def test_the_settings_read_exactly_the_names_listed():
    env = Recording()
    Settings.from_env(env)
    assert sorted(env.asked) == sorted(NAMES)


@pytest.mark.parametrize("name", sorted(EVERY_SETTING))
def test_a_good_value_becomes_a_setting(name):
    good, holds, _, _ = EVERY_SETTING[name]
    assert holds(Settings.from_env({name: good}))


@pytest.mark.parametrize("name", sorted(name for name, case in EVERY_SETTING.items() if case[2] is not ANY_TEXT))
def test_a_bad_value_is_refused_naming_the_setting(name):
    _, _, bad, error = EVERY_SETTING[name]
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({name: bad})
    assert str(raised.value) == error


def test_the_defaults_are_those_of_settings_made_in_code():
    assert Settings.from_env({}) == Settings()


def test_a_notification_setting_is_refused_as_the_notifiers_own_error_too():
    """Whoever builds a notifier catches NotifyConfigError, whoever reads the settings SettingsError."""
    from notify import NotifyConfigError

    with pytest.raises(NotifyConfigError, match="RESPONDER_NOTIFY_HOLD"):
        Settings.from_env({"RESPONDER_NOTIFY_HOLD": "soon"})


def test_the_readme_configuration_table_lists_exactly_the_names_read():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            listed.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    assert sorted(listed) == sorted(NAMES)
