"""Settings that cannot be used stop the app with a message naming them; paths are the app's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import Settings, SettingsError
from pipeline.settings import ROOT

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
