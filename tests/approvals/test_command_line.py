"""`approve ID`, `reject ID` and `approvals` as the command line runs them: the commands' own
parser, a SQLite ledger file, and for `approve` the simulated Azure started by the command."""

from __future__ import annotations

import argparse
import io
import json
import re

import pytest

from handlers.deliveries import parse_delivery
from responder import approve_command
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
    from pipeline import Settings, build_pipeline
    from pipeline.azure import connector
    from responder.sim.credential import SimCredential

    monkeypatch.setenv("RESPONDER_APPROVAL_SECRET", SECRET)
    for name in ("RESPONDER_MODE", "RESPONDER_AZURE", "RESPONDER_PUBLIC_URL", "RESPONDER_TEAMS_WEBHOOKS", "RESPONDER_MAIL_SENDER", "RESPONDER_OUTBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "ledger.sqlite"
    settings = Settings(mode="approve", azure="sim", ledger=f"sqlite:{path}", approval_secret=SECRET,
                        subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=SimCredential())
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
