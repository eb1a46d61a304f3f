"""`python -m responder replay` and `demo`, run as a user runs them: a real process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import builders as b
from tests.conftest import ROOT

# Events dated minutes ago: a file replayed hours after its event is told, never acted on.
pytestmark = pytest.mark.usefixtures("fresh_events")

KEYS = {"input", "event_id", "source", "kind", "resource_id", "name", "category", "action", "mode", "status", "reason"}


def responder(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "responder", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def write(tmp_path, name: str, payload) -> str:
    path = tmp_path / name
    path.write_bytes(payload if isinstance(payload, bytes) else b.body(payload))
    return str(path)


def json_lines(run) -> list[dict]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


@pytest.fixture
def one_of_each(tmp_path):
    return [
        write(tmp_path, "annotation.json", [b.annotated("AccelnetUnhealthy")]),
        write(tmp_path, "availability.json", [b.availability("Degraded", schema="cloud", target=b.vm_id("vm9"))]),
        write(tmp_path, "scheduled.json", b.scheduled("Freeze")),
        write(tmp_path, "service-health.json", b.service_health()),
        write(tmp_path, "resource-health.json", b.resource_health(target=b.vm_id("vm7"))),
        write(tmp_path, "repairs.json", b.orchestration_changed()),
        write(tmp_path, "legacy.json", b.legacy("ResourceHealth", target=b.vm_id("vm8"))),
    ]


def test_replay_json_gives_one_line_per_signal_for_every_source(one_of_each):
    run = responder("replay", "--json", *one_of_each)
    assert run.returncode == 0, run.stderr
    lines = json_lines(run)
    assert [line["kind"] for line in lines] == ["annotation", "availability", "scheduled-event", "service-health", "resource-health", "repair-state", "resource-health"]
    assert all(KEYS <= set(line) for line in lines)
    assert [line["input"] for line in lines] == one_of_each  # processed in the order given
    assert lines[0]["action"] == "redeploy" and lines[0]["status"] == "planned" and lines[0]["mode"] == "observe"
    assert lines[5]["action"] == "resume-automatic-repairs"


def test_a_bad_file_is_rejected_and_the_others_still_go_through(tmp_path):
    good = write(tmp_path, "good.json", [b.annotated("AccelnetUnhealthy")])
    bad = write(tmp_path, "bad.json", b'[{"id": ')
    missing = str(tmp_path / "missing.json")
    run = responder("replay", "--json", bad, good, missing)
    assert run.returncode == 2
    lines = json_lines(run)
    assert [line["status"] for line in lines] == ["rejected", "planned", "rejected"]
    assert lines[0]["reason"].startswith(f"{bad}: body: is not valid JSON")
    assert lines[2]["reason"].startswith(f"{missing}: file: cannot be read")


@pytest.mark.parametrize("mode,status", [("observe", "planned"), ("approve", "awaiting-approval"), ("auto", "planned")])
def test_mode_flag(tmp_path, mode, status):
    run = responder("replay", "--json", "--mode", mode, write(tmp_path, "a.json", [b.annotated("AccelnetUnhealthy")]),
                    env={"RESPONDER_APPROVAL_SECRET": "test-approval-secret-0123456789abcdef"})
    (line,) = json_lines(run)
    assert (line["mode"], line["status"]) == (mode, status)


def test_state_keeps_the_ledger_between_runs(tmp_path):
    event = write(tmp_path, "a.json", [b.annotated("AccelnetUnhealthy")])
    state = str(tmp_path / "ledger.sqlite")
    first = json_lines(responder("replay", "--json", "--state", state, event))
    second = json_lines(responder("replay", "--json", "--state", state, event))
    fresh = json_lines(responder("replay", "--json", event))
    assert (first[0]["status"], second[0]["status"], fresh[0]["status"]) == ("planned", "duplicate", "planned")


def test_replay_prints_a_table_without_json(tmp_path):
    run = responder("replay", write(tmp_path, "a.json", [b.annotated("AccelnetUnhealthy")]))
    header, row = run.stdout.splitlines()[:2]
    assert header.split()[:5] == ["INPUT", "RESOURCE", "SIGNAL", "ACTION", "STATUS"]
    assert "vm1" in row and "redeploy" in row and "planned" in row


def test_a_bad_setting_is_a_clear_error(tmp_path):
    run = responder("replay", write(tmp_path, "a.json", [b.annotated()]), env={"RESPONDER_MODE": "yolo"})
    assert run.returncode == 1 and "RESPONDER_MODE='yolo'" in run.stderr
