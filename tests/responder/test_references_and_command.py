"""The post-provision hook's wait for Key Vault references, and doctor's command line."""

from __future__ import annotations

import pytest

from responder.cli import main
from responder.doctor.checks import wait_for_references
from responder.doctor.simulated import context_for
from responder.doctor.target import TargetError, read_env_file


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_waits_until_the_references_resolve(deployed):
    sim, deployment = deployed
    deployment.references["RESPONDER_TEAMS_WEBHOOKS"] = "Unresolved"
    time = FakeTime()

    def propagate(seconds):  # the role reaches the vault during the second pause
        time.sleep(seconds)
        if len(time.sleeps) == 2:
            deployment.references["RESPONDER_TEAMS_WEBHOOKS"] = "Resolved"

    ctx = context_for(sim, deployment)
    check = wait_for_references(ctx, 600, pause=10, clock=time.clock, sleep=propagate)
    assert check.status == "PASS"
    assert time.sleeps == [10, 10]


def test_says_which_did_not_resolve_in_time(deployed):
    sim, deployment = deployed
    deployment.references["RESPONDER_APPROVAL_SECRET"] = "SecretNotFound"
    time = FakeTime()
    check = wait_for_references(context_for(sim, deployment), 60, pause=10, clock=time.clock, sleep=time.sleep)
    assert check.status == "FAIL"
    assert check.detail.startswith("RESPONDER_APPROVAL_SECRET: SecretNotFound")
    assert "RESPONDER_TEAMS_WEBHOOKS" not in check.detail
    assert sum(time.sleeps) == 60


def test_doctor_against_the_simulated_azure_from_the_command_line(capsys):
    assert main(["doctor", "--azure", "sim"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "PASS  settings: Key Vault references resolved" in out
    assert out.strip().splitlines()[-1].endswith("checks, 0 failed")


def test_references_only_from_the_command_line(capsys):
    assert main(["doctor", "--azure", "sim", "--references", "--wait", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("PASS  settings: Key Vault references resolved")


def test_live_without_the_azd_environment_says_what_is_missing(monkeypatch, capsys):
    for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "RESPONDER_PRINCIPAL_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert "AZURE_FUNCTION_APP_NAME" in err and "RESPONDER_PRINCIPAL_ID" in err and "--env-file" in err


def test_reads_azds_env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text('AZURE_FUNCTION_APP_NAME="func-rhr-x"\nRESPONDER_TEAMS_WEBHOOKS="{\\"ops\\": \\"https://h/x\\"}"\n'
                    "# a comment\n\nRESPONDER_MAIL_SENDER='a@b.example'\n", encoding="utf-8")
    assert read_env_file(path) == {"AZURE_FUNCTION_APP_NAME": "func-rhr-x",
                                   "RESPONDER_TEAMS_WEBHOOKS": '{"ops": "https://h/x"}',
                                   "RESPONDER_MAIL_SENDER": "a@b.example"}


def test_a_malformed_env_file_line_is_named(tmp_path):
    path = tmp_path / ".env"
    path.write_text("GOOD=1\nthis is not a value\n", encoding="utf-8")
    with pytest.raises(TargetError, match=r"\.env:2: expected NAME=value"):
        read_env_file(path)
