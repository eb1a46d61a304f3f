"""`approve ID`, `reject ID` and `approvals` as the command line runs them: the commands' own
parser, a SQLite ledger file, and for `approve` the simulated Azure started by the command."""

from __future__ import annotations

import argparse
import io
import json
import re

import pytest

from intake.deliveries import parse_delivery
from responder import approve_command, audit_command
from tests import builders as b
from tests.approvals.conftest import SECRET, with_approvals
from tests.conftest import DEMO_SUBSCRIPTION

DEGRADED_VM = b.vm_id("vm-degraded-hw", rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def parse(*argv: str) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="python -m responder")
    commands = root.add_subparsers(dest="command", required=True)
    for name in ("approve", "reject", "approvals"):
        approve_command.add_arguments(commands.add_parser(name), name)
    return root.parse_args(list(argv))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = approve_command.run(parse(*argv), out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def state(tmp_path, sim, monkeypatch):
    """A ledger file holding one redeploy waiting for a person (made against the simulated Azure)."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline

    monkeypatch.setenv("RESPONDER_APPROVAL_SECRET", SECRET)
    for name in ("RESPONDER_MODE", "RESPONDER_AZURE", "RESPONDER_PUBLIC_URL", "RESPONDER_TEAMS_WEBHOOKS", "RESPONDER_MAIL_SENDER", "RESPONDER_OUTBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "ledger.sqlite"
    settings = Settings(mode="approve", azure="sim", ledger=f"sqlite:{path}", approval_secret=SECRET,
                        subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    pipeline = build_pipeline(settings, connect=connect, notifier=False)
    service = with_approvals(pipeline)
    pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))
    (record,) = service.pending()
    pipeline.ledger.close()
    return str(path), record


def test_approvals_lists_what_waits_with_its_expiry(state):
    path, record = state
    status, out, _ = run("approvals", "--state", path)
    assert status == 0 and record.id in out and "redeploy" in out and "vm-degraded-hw" in out and "expires in 3 h 59 min" in out
    status, out, _ = run("approvals", "--state", path, "--json")
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert (line["id"], line["state"], line["expires_at"]) == (record.id, "pending", record.expires_at.isoformat())


def test_approve_verifies_acts_once_and_follows_to_the_end(state):
    path, record = state
    status, out, err = run("approve", record.id, "--state", path, "--azure", "sim", "--by", "ana", "--json")
    assert status == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(x["rule"], x["status"]) for x in lines] == [("approval", "started"), ("tick", "succeeded")]
    assert re.match(r"approved by ana at \d\d:\d\d UTC on the command line; verified:", lines[0]["reason"])
    status, _, err = run("approve", record.id, "--state", path, "--azure", "sim", "--by", "ben")
    assert status == approve_command.REFUSED and "already approved by ana on the command line at " in err
    assert "no approvals are waiting" in run("approvals", "--state", path)[1]


def test_reject_records_who_and_acts_on_nothing(state):
    path, record = state
    status, out, err = run("reject", record.id, "--state", path, "--by", "ben")
    assert status == 0, err
    assert "SKIPPED" in out and "rejected by ben" in out


@pytest.mark.parametrize(
    "argv,status,words",
    [
        (("approve", "APR-0000000000000000", "--azure", "sim"), 4, "no approval"),
        (("reject", "nonsense"), 4, "no approval"),
    ],
)
def test_an_unknown_approval_is_refused(state, argv, status, words):
    path, _ = state
    code, _, err = run(*argv, "--state", path, "--by", "ana")
    assert code == status and words in err


def test_without_the_secret_the_commands_refuse(state, monkeypatch):
    path, record = state
    monkeypatch.delenv("RESPONDER_APPROVAL_SECRET")
    code, _, err = run("approvals", "--state", path)
    assert code == 1 and "RESPONDER_APPROVAL_SECRET" in err and SECRET not in err


FAKE_AZ = """#!{python}
import json, os, sys
argv = sys.argv[1:]
if os.environ.get("FAKE_AZ_SIGNED_IN") != "yes":
    sys.stderr.write("ERROR: Please run 'az login' to setup account.\\n")
    sys.exit(1)
if argv[:2] == ["account", "show"]:
    print(json.dumps({{"user": {{"name": "ana@contoso.com", "type": "user"}}, "tenantId": "t"}}))
elif argv[:3] == ["ad", "signed-in-user", "show"]:
    print(json.dumps({{"id": "{object_id}", "userPrincipalName": "ana@contoso.com"}}))
else:
    sys.exit(2)
"""


@pytest.fixture
def az(tmp_path, monkeypatch):
    """An `az` on PATH that answers as the Azure CLI does, signed in or not (FAKE_AZ_SIGNED_IN)."""
    import sys

    from tests.approvals.sign_in import ANA_ID

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "az"
    script.write_text(FAKE_AZ.format(python=sys.executable, object_id=ANA_ID), encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return ANA_ID


def test_by_default_the_azure_cli_account_decides_with_its_object_id(state, az, monkeypatch):
    path, record = state
    monkeypatch.setenv("FAKE_AZ_SIGNED_IN", "yes")
    status, out, err = run("reject", record.id, "--state", path, "--json")
    assert status == 0, err
    (line,) = [json.loads(x) for x in out.splitlines()]
    said = rf"rejected by ana@contoso\.com \(object id {az}\) at \d\d:\d\d UTC on the command line"
    assert re.fullmatch(said, line["reason"])
    # The audit shows who, by name and object id, and how; so does the ledger's approval row.
    audit_args = argparse.Namespace(since=None, resource=None, json=False, state=path)
    shown = io.StringIO()
    assert audit_command.run(audit_args, shown, io.StringIO()) == 0
    assert re.search(r"-> redeploy \[approve, rule approval\] SKIPPED: " + said, shown.getvalue())
    from ledger import open_ledger

    ledger = open_ledger(f"sqlite:{path}")
    try:
        row = ledger.approval(record.id)
    finally:
        ledger.close()
    assert (row["decided_by"], row["decided_by_id"], row["decided_via"]) == ("ana@contoso.com", az, "command line")


def test_without_an_azure_cli_sign_in_the_command_says_how(state, az, monkeypatch):
    path, record = state
    monkeypatch.setenv("FAKE_AZ_SIGNED_IN", "no")
    status, _, err = run("reject", record.id, "--state", path)
    assert status == 1 and "`az account show` failed (ERROR: Please run 'az login' to setup account.)" in err and "--by NAME" in err
    assert run("approvals", "--state", path)[1].startswith(record.id)  # nothing was decided


def test_without_the_azure_cli_the_command_asks_for_by(state, tmp_path, monkeypatch):
    path, record = state
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status, _, err = run("approve", record.id, "--state", path, "--azure", "sim")
    assert status == 1 and "the Azure CLI (az) is not installed here" in err and "--by NAME" in err
