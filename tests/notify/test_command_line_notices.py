"""The command line tells people as the timer does: `sweep` and `replay` hand their notices to
the outbox and send them before they end; `--outbox DIR` writes each card and email to DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, ROOT

SECRET = "a-secret-for-the-command-line-tests-0123456789"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "AZURE_"))}
    env["RESPONDER_APPROVAL_SECRET"] = SECRET
    return subprocess.run([sys.executable, "-m", "responder", *args], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)


def written(folder) -> tuple[list[dict], list[str]]:
    cards = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*-teams-*.json"))]
    mails = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*-email-*.txt"))]
    return cards, mails


def test_a_sweep_dry_run_writes_what_it_would_send(tmp_path):
    folder = tmp_path / "outbox"
    done = run("sweep", "--azure", "sim", "--mode", "approve", "--outbox", str(folder))
    assert done.returncode == 0, done.stderr
    cards, mails = written(folder)
    assert cards and mails and "notification: sent" in done.stderr
    # The demo fleet's maintenance VMs wait for a person: their card carries the links, signed.
    asking = [c for c in cards if "Approval needed" in json.dumps(c)]
    assert asking and all(a["title"] in ("Approve", "Reject", "Open in Azure portal")
                          for c in asking for a in c["attachments"][0]["content"]["actions"])
    assert not any("approval-link.invalid" in json.dumps(c) for c in cards)


def test_a_replay_dry_run_writes_each_incident_once_with_its_end(tmp_path):
    folder = tmp_path / "outbox"
    event = tmp_path / "crash.json"
    event.write_bytes(b.body(b.annotated("VirtualMachineHostCrashed", target=b.vm_id("vm-host-crash", rg="rg-demo", sub=DEMO_SUBSCRIPTION))))
    done = run("replay", str(event), "--mode", "auto", "--outbox", str(folder))
    assert done.returncode == 0, done.stderr
    cards, mails = written(folder)
    assert len(cards) == 1 and len(mails) == 1
    assert mails[0].startswith("[INC-") and "vm-host-crash" in mails[0].splitlines()[0]


@pytest.mark.parametrize("command", ["sweep", "replay"])
def test_outbox_is_offered_by_both_commands(command):
    done = run(command, "--help")
    assert "--outbox DIR" in done.stdout
