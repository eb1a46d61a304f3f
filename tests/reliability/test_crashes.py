"""A worker SIGKILLed at each step of the pipeline, then restarted: the simulated Azure in its own
process, the ledger a SQLite file, the outbox a folder. After the restart and its ticks: exactly
one ARM write per remediated incident, every signal decided, nothing left open, every message
delivered once: the outbox folder is read back for the message in flight at the kill, as email
asks Sent Items first (a real Teams webhook cannot be read back: docs/notifications.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import DEMO_FLEET, ROOT

from .storm import account

STEPS = ["claim", "signal", "intent", "arm-call", "recorded", "decision", "notify", "ended"]
# On SQLite a signal's claim, its record and its decision are one transaction, up to the moment
# Azure is asked: killed at the claim or the signal, the worker leaves nothing and the redelivery
# decides afresh. Killed once the action is under way and before the delivery is settled, it
# leaves a claim nobody settles: the restarted worker is told to deliver again until the claim's
# lease lapses, and then decides it (the remediation already started reads as such).
UNSETTLED = {"intent", "arm-call", "recorded", "decision"}

ACTED = {"vm-degraded-hw", "vm-accelnet", "vmss-web"}
# ARM writes are under a subscription; a Resource Graph query (POST /providers/...) is a read.
ACTION_PATH = re.compile(r"^(2\d\d) (POST|PATCH|PUT|DELETE) (/subscriptions/\S+)")


class SimProcess:
    """`python -m responder sim --log`, its URL and CA bundle read from what it prints."""

    def __init__(self, *options: str):
        self.process = subprocess.Popen([sys.executable, "-m", "responder", "sim", "--fleet", str(DEMO_FLEET), "--log", *options],
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url = self.ca_bundle = self.graph = None
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.startswith("simulated Azure:"):
                self.url = line.split(":", 1)[1].strip()
            if line.startswith("CA bundle:"):
                self.ca_bundle = line.split(":", 1)[1].strip()
            if line.startswith("Graph:"):
                self.graph = line.split(":", 1)[1].strip()
            if line.startswith("Ctrl-C"):
                break
        assert self.url and self.ca_bundle, self.lines
        self.reader = threading.Thread(target=lambda: self.lines.extend(row.strip() for row in self.process.stdout), daemon=True)
        self.reader.start()

    def settled_lines(self, quiet: float = 0.6, at_most: float = 10.0) -> list[str]:
        """Its log once it has been quiet for `quiet` seconds: it prints what it answered every
        0.2 s, so the last requests of a worker that just exited may still be on their way."""
        import time

        deadline, seen, since = time.monotonic() + at_most, len(self.lines), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            time.sleep(0.05)
            if len(self.lines) != seen:
                seen, since = len(self.lines), time.monotonic()
        return list(self.lines)

    def accepted_writes(self) -> list[str]:
        return [m.group(3) for m in map(ACTION_PATH.match, self.settled_lines()) if m]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.reader.join(timeout=5)


@pytest.fixture
def sim_process():
    sim = SimProcess()
    yield sim
    sim.stop()


def worker(sim: SimProcess, state: Path, outbox: Path | None, crash_at: str | None = None) -> subprocess.CompletedProcess:
    """A worker writing its messages to `outbox` (a folder), or, without one, emailing them
    through the simulated Graph mailbox (`sim` started with --notifications)."""
    env = {**os.environ, "RESPONDER_AZURE": "sim", "RESPONDER_ARM_ENDPOINT": sim.url, "RESPONDER_CA_BUNDLE": sim.ca_bundle,
           "RESPONDER_LEDGER": f"sqlite:{state}", "RESPONDER_MODE": "auto", "RESPONDER_MAIL_TO": "ops@contoso.example",
           "RESPONDER_SUBSCRIPTIONS": "00000000-0000-0000-0000-00000000d3e0",  # the demo fleet's
           "RESPONDER_MAIL_SENDER": "responder@contoso.example"}
    if outbox is not None:
        env.update({"RESPONDER_OUTBOX_DIR": str(outbox), "RESPONDER_TEAMS_WEBHOOKS": json.dumps({"ops": "https://teams.invalid/ops"})})
    else:
        env.update({"RESPONDER_GRAPH_URL": sim.graph, "RESPONDER_TEAMS_WEBHOOKS": "{}"})
    env.pop("CRASH_AT", None)
    if crash_at:
        env["CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "tests.reliability.crash_worker"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def messages_written(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.iterdir() if p.suffix in (".json", ".html")) if outbox.exists() else []


@pytest.mark.parametrize("step", STEPS)
def test_a_worker_killed_at_each_step_loses_nothing_and_writes_once(sim_process, tmp_path, step):
    state, outbox = tmp_path / "ledger.sqlite", tmp_path / "outbox"
    crashed = worker(sim_process, state, outbox, crash_at=step)
    assert crashed.returncode == -signal.SIGKILL, f"the worker did not reach {step}: {crashed.stderr[-2000:]}"
    restarted = worker(sim_process, state, outbox)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    summary = json.loads(restarted.stdout.strip().splitlines()[-1])
    assert summary["open"] == 0
    assert (summary["deferred"] > 0) == (step in UNSETTLED), summary
    writes = sim_process.accepted_writes()
    per_resource = Counter(path.split("/")[8] for path in writes)
    assert set(per_resource) == ACTED and all(n == 1 for n in per_resource.values()), writes
    db = sqlite3.connect(state)
    report = account(db, writes)
    assert not report["broken"], report["broken"]
    assert not report["open"]
    assert {o["resource_id"].rsplit("/", 1)[-1] for o in map(dict, db.execute("SELECT * FROM operations")) if o["state"] == "succeeded"} == ACTED
    states = Counter(row[0] for row in db.execute("SELECT state FROM outbox_messages"))
    assert set(states) == {"sent"}, states
    written = messages_written(outbox)
    assert len(written) == states["sent"], (states, written)


@pytest.fixture
def sim_with_mail():
    sim = SimProcess("--notifications")
    yield sim
    sim.stop()


SEND_MAIL = re.compile(r"^(2\d\d) POST /v1\.0/users/[^/]+/sendMail")


@pytest.mark.parametrize("step", ["mail-accepted", "decision"])
def test_a_worker_killed_while_emailing_sends_each_email_once(sim_with_mail, tmp_path, step):
    """Email can be read back: the restarted worker finds the email Graph accepted in Sent Items
    and marks it sent, so no message goes out twice."""
    state = tmp_path / "ledger.sqlite"
    crashed = worker(sim_with_mail, state, None, crash_at=step)
    assert crashed.returncode == -signal.SIGKILL, f"the worker did not reach {step}: {crashed.stderr[-2000:]}"
    restarted = worker(sim_with_mail, state, None)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    writes = sim_with_mail.accepted_writes()
    assert Counter(path.split("/")[8] for path in writes if "/users/" not in path) == Counter({name: 1 for name in ACTED}), writes
    db = sqlite3.connect(state)
    states = Counter(row[0] for row in db.execute("SELECT state FROM outbox_messages"))
    assert set(states) == {"sent"}, states
    accepted = [line for line in sim_with_mail.settled_lines() if SEND_MAIL.match(line)]
    assert len(accepted) == states["sent"], (len(accepted), states)
    looked_up = any("/mailFolders/sentitems/messages" in line for line in list(sim_with_mail.lines))
    assert looked_up == (step == "mail-accepted"), "the email in doubt, and only it, is looked for in Sent Items"
