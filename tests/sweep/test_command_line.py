"""`python -m responder sweep` and `python -m responder audit`, run as a person runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

from .conftest import DEMO_SUB


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The product's own command line, as a person runs it: no runner of the tests' own."""
    entry = ["-m", "responder"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "AZURE_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, *entry, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=environment)


@pytest.fixture(scope="module")
def swept_twice(tmp_path_factory):
    state = tmp_path_factory.mktemp("sweep") / "ledger.sqlite"
    first = command("sweep", "--azure", "sim", "--json", "--mode", "observe", "--state", str(state))
    second = command("sweep", "--azure", "sim", "--json", "--state", str(state))
    return state, first, second


def _lines(run) -> tuple[list[dict], dict]:
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    return lines[:-1], lines[-1]["sweep"]


def test_sweep_json_one_line_per_finding_then_the_summary(swept_twice):
    _, first, _ = swept_twice
    outcomes, summary = _lines(first)
    assert {(o["resource_id"].rsplit("/", 1)[-1], o["action"], o["status"]) for o in outcomes if o["action"] != "none"} == {
        ("vm-maint-1", "perform-maintenance", "planned"),
        ("vm-maint-2", "perform-maintenance", "planned"),
        ("vm-maint-3", "perform-maintenance", "planned"),
        ("vm-maint-avset", "perform-maintenance", "skipped"),
        ("vmss-web", "resume-automatic-repairs", "planned"),
        ("vmss-api", "replace-failed-instance", "planned"),
        ("vmss-batch", "enable-automatic-repairs", "planned"),
    }
    assert all(o["source"] == "sweep" and o["mode"] == "observe" for o in outcomes)
    assert summary["scope"]["subscriptions"] == [DEMO_SUB]
    assert summary["findings"]["SelfServiceWindowOpen"] == 4 and summary["findings"]["AllInstancesUnhealthy"] == 1
    assert summary["arm_reads"] == 11 and summary["machines"] == 33 and summary["problem_count"] == 0
    assert first.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_second_sweep_against_the_same_ledger_takes_no_new_action(swept_twice):
    _, first, second = swept_twice
    outcomes, _ = _lines(second)
    assert len(outcomes) == len(_lines(first)[0])
    # A new simulated Azure is started, so its windows moved by a second: new keys, but every
    # open incident absorbs them (one action per incident).
    assert {o["status"] for o in outcomes if o["action"] != "none"} == {"duplicate", "skipped"}


def test_sweep_table_for_a_person(tmp_path):
    run = command("sweep", "--azure", "sim", "--state", str(tmp_path / "l.sqlite"))
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert "PLANNED            vmss-web           RepairsSuspended -> resume-automatic-repairs" in text
    for heading in ("Findings", "Decisions", "ARM reads"):
        assert f"\n{heading}\n" in text
    assert "11 reads (cost model at this page size: 11) for 33 machines" in text


def test_sweep_subscription_flag_and_scope_settings(tmp_path):
    run = command("sweep", "--azure", "sim", "--json", "--subscription", "00000000-0000-0000-0000-0000000f0e19",
                  "--state", str(tmp_path / "l.sqlite"))  # fmt: skip
    outcomes, summary = _lines(run)
    assert [(o["resource_id"].rsplit("/", 1)[-1], o["name"]) for o in outcomes] == [("vm-out-of-scope", "Degraded")]
    run = command("sweep", "--azure", "sim", "--json", "--state", str(tmp_path / "m.sqlite"),
                  env={"RESPONDER_SUBSCRIPTIONS": DEMO_SUB, "RESPONDER_RESOURCE_GROUPS_EXCLUDE": "rg-demo"})  # fmt: skip
    outcomes, summary = _lines(run)
    assert outcomes == [] and summary["skipped"]["outside the resource-group scope"] == 15


@pytest.mark.parametrize(
    ("args", "env", "problem"),
    [
        (("--azure", "live", "--fleet", "x.json"), {}, "--fleet is for --azure sim"),
        (("--azure", "sim", "--state", "/"), {}, "cannot open the SQLite ledger"),
        (("--azure", "sim", "--mode", "observe"), {"RESPONDER_MODE": "sometimes"}, "RESPONDER_MODE"),
    ],
)
def test_sweep_refusals(args, env, problem):
    run = command("sweep", *args, env=env)
    assert run.returncode == 1 and problem in run.stderr and "Traceback" not in run.stderr


def test_audit_tells_each_incident_newest_first(swept_twice):
    state, _, _ = swept_twice
    run = command("audit", "--state", str(state), "--resource", "vmss-web")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("INC-") and "vmss-web" in lines[0] and lines[0].endswith("open")
    assert "RepairsSuspended (repair-state, from sweep" in lines[2]
    assert "-> resume-automatic-repairs [observe, rule repairs-suspended] PLANNED" in lines[3]
    assert "DUPLICATE: incident" in lines[5]


def test_audit_json_one_incident_per_line(swept_twice):
    state, first, _ = swept_twice
    run = command("audit", "--state", str(state), "--json", "--since", "1h")
    assert run.returncode == 0, run.stderr
    incidents = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(incidents) == len(_lines(first)[0])  # one incident per finding of the first sweep
    steps = {i["resource_id"].rsplit("/", 1)[-1]: len(i["steps"]) for i in incidents}
    # A step per sweep, but where both sweeps made the same delivery key (the failed instance ids,
    # the day) the second was a repeated delivery, recorded without an incident.
    assert steps.pop("vmss-api") == steps.pop("vmss-probe") == 1
    assert set(steps.values()) == {2}
    assert all(i["steps"][0]["signal"]["source"] == "sweep" for i in incidents)
    opened = [i["steps"][-1]["at"] for i in incidents]
    assert opened == sorted(opened, reverse=True)  # newest first


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--state", "/nonexistent/ledger.sqlite"), "no ledger there"),
        (("--since", "yesterday-ish"), "expected an ISO time"),
        ((), "no ledger to read"),
    ],
)
def test_audit_refusals(args, problem, tmp_path):
    if "--since" in args:
        state = tmp_path / "l.sqlite"
        from ledger import SqliteLedger

        SqliteLedger(state).close()
        args = (*args, "--state", str(state))
    run = command("audit", *args)
    assert run.returncode == 1 and problem in run.stderr
