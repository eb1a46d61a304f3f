"""Approve mode starts in Azure only with sign-in and approvers: the app's settings as the host
gives them (WEBSITE_HOSTNAME is set by App Service), built as a worker builds its pipeline. On
this machine the same settings start as before: the link and the command line decide."""

from __future__ import annotations

import pytest

from pipeline import Settings, SettingsError
from tests.approvals.conftest import SECRET
from wiring import build_pipeline

GROUP = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
APPROVE = {"RESPONDER_MODE": "approve", "RESPONDER_APPROVAL_SECRET": SECRET, "RESPONDER_LEDGER": "sqlite::memory:"}
IN_AZURE = {"WEBSITE_HOSTNAME": "func-rhr.azurewebsites.net"}
SIGN_IN = {"RESPONDER_APPROVERS": f"group:{GROUP}", "RESPONDER_APPROVER_SIGN_IN": "true"}


@pytest.mark.parametrize("env,missing", [
    ({**APPROVE, **IN_AZURE}, "RESPONDER_APPROVERS and RESPONDER_APPROVER_SIGN_IN"),
    ({**APPROVE, **IN_AZURE, "RESPONDER_APPROVERS": f"group:{GROUP}"}, "RESPONDER_APPROVER_SIGN_IN"),
], ids=["neither", "approvers-without-sign-in"])
def test_in_azure_approve_mode_without_sign_in_and_approvers_refuses_to_start(env, missing):
    with pytest.raises(SettingsError, match=f"approve mode in Azure needs {missing}: only signed-in members of the approvers may decide"):
        build_pipeline(Settings.from_env(env), notifier=False)


@pytest.mark.parametrize("env", [APPROVE, {**APPROVE, **IN_AZURE, **SIGN_IN}], ids=["this-machine", "azure-with-sign-in"])
def test_approve_mode_starts_on_this_machine_or_with_sign_in_and_approvers(env):
    from approvals import approvals_of

    gate = approvals_of(build_pipeline(Settings.from_env(env), notifier=False)).gate
    assert gate.sign_in is ("RESPONDER_APPROVER_SIGN_IN" in env)
    assert gate.approvers.groups == ({GROUP} if "RESPONDER_APPROVERS" in env else set())
