"""Every command works on the shared ledger: RESPONDER_LEDGER when no --state is given (a SQLite
file, or Table Storage on Azurite), a temporary ledger only when neither is set, and said so."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid

import pytest

from pipeline import Settings, SettingsError
from responder.ledger_choice import Need, choose
from tests import builders as b
from tests.conftest import ROOT, TEST_APPROVAL_SECRET

pytestmark = pytest.mark.usefixtures("fresh_events")


def responder(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "AZURE_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "responder", *args], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env=environment)


@pytest.fixture(params=["sqlite", "table"])
def shared(request, tmp_path, azurite_storage):
    """The environment of an operator's shell pointed at the shared ledger, and a delivery file."""
    env = {"RESPONDER_APPROVAL_SECRET": TEST_APPROVAL_SECRET}
    if request.param == "sqlite":
        env["RESPONDER_LEDGER"] = f"sqlite:{tmp_path / 'shared.sqlite'}"
    else:
        env.update({"RESPONDER_LEDGER": "table", "RESPONDER_TABLE_CONNECTION_STRING": azurite_storage,
                    "RESPONDER_TABLE_PREFIX": "t" + uuid.uuid4().hex[:12]})
    delivery = tmp_path / "annotation.json"
    delivery.write_bytes(b.body([b.annotated(target=b.vm_id("vm-shared"))]))
    return env, str(delivery)


def paused(env: dict, monkeypatch) -> str | None:
    """Whether the shared ledger's switch is off, read as the app reads it (from its environment)."""
    from pipeline import Settings
    from wiring import build_pipeline

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pipeline = build_pipeline(Settings.from_env(env), notifier=False)
    try:
        return pipeline.safety.paused()
    finally:
        pipeline.ledger.close()


# (command line, what stdout must hold) in the order an operator might run them, none with --state;
# "{id}" is the approval the first replay left waiting.
STORY = [
    (["replay", "--mode", "approve", "{file}"], ["vm-shared", "awaiting-approval"]),
    (["approvals"], ["{id}", "redeploy", "vm-shared", "expires in"]),
    (["reject", "{id}", "--by", "alice"], ["rejected by alice"]),
    (["approvals"], ["no approvals are waiting"]),
    (["audit", "--resource", "vm-shared"], ["vm-shared", "AWAITING-APPROVAL", "rejected by alice"]),
    (["pause", "--by", "alice"], ["automation paused by alice"]),
    (["resume", "--by", "alice"], ["automation resumed by alice"]),
    (["waves"], ["no waves"]),
    (["tick", "--azure", "sim"], []),
    (["sweep", "--azure", "sim", "--mode", "observe"], ["vm-maint-1", "perform-maintenance"]),
    (["audit", "--resource", "vm-maint-1"], ["vm-maint-1", "SelfServiceWindowOpen"]),
]


def test_every_command_works_on_the_ledger_RESPONDER_LEDGER_names(shared, monkeypatch):
    env, delivery = shared
    approval = ""
    for args, wanted in STORY:
        line = [a.replace("{file}", delivery).replace("{id}", approval) for a in args]
        run = responder(*line, env=env)
        assert run.returncode == 0, f"{' '.join(line)}: {run.stdout}\n{run.stderr}"
        assert "temporary ledger" not in run.stderr, line
        missing = [w.replace("{id}", approval) for w in wanted if w.replace("{id}", approval) not in run.stdout]
        assert not missing, f"{' '.join(line)}: {missing} not in\n{run.stdout}"
        if not approval:
            listed = responder("approvals", "--json", env=env)
            approval = json.loads(listed.stdout.splitlines()[0])["id"]
        if line[0] == "pause":
            assert paused(env, monkeypatch), "pause did not reach the shared ledger"
        if line[0] == "resume":
            assert not paused(env, monkeypatch)
    # --state names the same ledger in the ledger's own words (a path, sqlite:PATH or table)
    named = {k: v for k, v in env.items() if k != "RESPONDER_LEDGER"}
    for state in {env["RESPONDER_LEDGER"], env["RESPONDER_LEDGER"].removeprefix("sqlite:")}:
        run = responder("audit", "--resource", "vm-shared", "--state", state, env=named)
        assert run.returncode == 0 and "rejected by alice" in run.stdout, run.stderr


@pytest.mark.parametrize("args", [
    ["audit"], ["approvals"], ["approve", "APR-1"], ["reject", "APR-1"], ["pause"], ["resume"], ["waves"], ["tick", "--azure", "sim"],
])
def test_a_command_on_what_the_app_keeps_refuses_without_a_ledger(args):
    run = responder(*args, env={"RESPONDER_APPROVAL_SECRET": TEST_APPROVAL_SECRET})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "no ledger to read or write" in run.stderr and "--state PATH (or table), or set RESPONDER_LEDGER" in run.stderr


@pytest.mark.parametrize("args", [["replay", "{file}"], ["sweep", "--azure", "sim"]])
def test_a_temporary_ledger_is_said_on_stderr(args, tmp_path):
    delivery = tmp_path / "a.json"
    delivery.write_bytes(b.body([b.annotated()]))
    line = [a.replace("{file}", str(delivery)) for a in args]
    alone = responder(*line)
    assert alone.returncode == 0, alone.stderr
    assert f"note: no --state and no RESPONDER_LEDGER: {args[0]} runs on a temporary ledger" in alone.stderr
    assert "nothing is written to the shared ledger" in alone.stderr
    kept = responder(*line, env={"RESPONDER_LEDGER": f"sqlite:{tmp_path / 'l.sqlite'}"})
    assert kept.returncode == 0 and "temporary" not in kept.stderr


def test_state_wins_over_RESPONDER_LEDGER(tmp_path):
    delivery = tmp_path / "a.json"
    delivery.write_bytes(b.body([b.annotated()]))
    state, shared = tmp_path / "mine.sqlite", tmp_path / "shared.sqlite"
    assert responder("replay", str(delivery), "--state", str(state), env={"RESPONDER_LEDGER": f"sqlite:{shared}"}).returncode == 0
    assert state.is_file() and not shared.exists()


# (--state, RESPONDER_LEDGER, need) -> (ledger, origin), or the error's words
CHOICES = [
    ("a.sqlite", "", Need.SCRATCH, ("sqlite:a.sqlite", "--state")),
    ("sqlite:a.sqlite", "table", Need.LASTING, ("sqlite:a.sqlite", "--state")),
    ("table", "", Need.LASTING, ("table", "--state")),
    (None, "table", Need.EXISTING, ("table", "RESPONDER_LEDGER")),
    (None, "sqlite:{tmp}/x.sqlite", Need.LASTING, ("sqlite:{tmp}/x.sqlite", "RESPONDER_LEDGER")),
    (None, "sqlite::memory:", Need.SCRATCH, ("sqlite::memory:", "RESPONDER_LEDGER")),
    (None, "sqlite::memory:", Need.LASTING, "RESPONDER_LEDGER=sqlite::memory:: pause needs a ledger that lasts"),
    ("sqlite::memory:", "", Need.EXISTING, "--state sqlite::memory:: pause needs a ledger that lasts"),
    (None, "sqlite:{tmp}/none.sqlite", Need.EXISTING, "RESPONDER_LEDGER=sqlite:{tmp}/none.sqlite: no ledger there"),
    ("{tmp}/none.sqlite", "", Need.EXISTING, "--state {tmp}/none.sqlite: no ledger there"),
    ("  ", "", Need.SCRATCH, "--state: empty"),
    (None, "", Need.LASTING, "no ledger to read or write: pause works on the ledger the app uses"),
]


@pytest.mark.parametrize(("state", "setting", "need", "expected"), CHOICES)
def test_which_ledger_a_command_opens(state, setting, need, expected, tmp_path):
    def here(text):
        return text.replace("{tmp}", str(tmp_path)) if isinstance(text, str) else text

    err = io.StringIO()
    env = {"RESPONDER_LEDGER": here(setting)} if setting else {}
    if isinstance(expected, str):
        with pytest.raises(SettingsError, match=None) as raised:
            choose(here(state), "pause", need, Settings.from_env(env), err=err)
        assert here(expected) in str(raised.value)
        return
    choice = choose(here(state), "pause", need, Settings.from_env(env), err=err)
    assert (choice.ledger, choice.origin) == tuple(here(e) for e in expected)
    assert err.getvalue() == ""


def test_neither_gives_a_temporary_ledger_and_says_where():
    err = io.StringIO()
    choice = choose(None, "replay", Need.SCRATCH, Settings(), err=err)
    assert choice.origin == "temporary" and not choice.kept and choice.ledger.endswith("/ledger.sqlite")
    assert choice.ledger[len("sqlite:"):] in err.getvalue()
