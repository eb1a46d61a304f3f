"""Every command the README documents runs, as its example shows it.

The examples are read from the README's ```sh blocks (each `python -m responder ...` line), so a
command documented tomorrow is run tomorrow. Each runs once, as a real process, in a folder of its
own: an optional part (`[--json]`) is given, the first of alternatives (`sim|live`) is taken, and
a placeholder gets a real value (FILE: deliveries for the demo fleet; PATH or ledger.sqlite: a
ledger put in the state the example implies; CONTAINER: a dead-letter container on Azurite holding
the same deliveries). `--azure live` reaches the test's simulated Azure
through RESPONDER_ARM_ENDPOINT, as a deployment points the app at another Resource Manager.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import builders as b
from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, ROOT

README = ROOT / "README.md"
SECRET = "documented-commands-approval-secret-0123456789"
DEMO_GROUP = "rg-demo"


def documented() -> list[str]:
    """The arguments of every `python -m responder` line in the README's sh blocks, without comments."""
    found, fence = [], None
    for line in README.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = (stripped[3:] or "text") if fence is None else None
            continue
        if fence == "sh" and "python -m responder" in stripped:
            found.append(re.sub(r"\s+#.*$", "", stripped.split("python -m responder", 1)[1]).strip())
    return found


# -- the world a command runs in ---------------------------------------------------------------


@dataclass
class World:
    folder: Path
    sim: object  # the simulated Azure that "live" reaches
    env: dict[str, str]
    files: list[str] = field(default_factory=list)  # FILE...: deliveries, dated now, for the demo fleet
    ledger: Path | None = None
    approval_id: str | None = None
    storage: Callable[[], str] | None = None  # Azurite's connection string, started when an example needs it

    def dead_letters(self) -> str:
        """A dead-letter container holding this world's deliveries, as Event Grid leaves them; its name."""
        from tests.azurite import dead_letter_container

        connection_string = self.storage()
        name = f"deadletter-{uuid.uuid4().hex[:12]}"
        blobs = {f"RESPONDER-EVENTS/2026/12/4/{hour}/{Path(path).stem}.json": Path(path).read_bytes()
                 for hour, path in enumerate(self.files, start=9)}
        dead_letter_container(connection_string, name, blobs)
        self.env["RESPONDER_DEADLETTER_CONNECTION_STRING"] = connection_string
        return name

    def pipeline(self, mode: str):
        """The app's pipeline on this world's ledger and Azure, as a worker builds it."""
        from pipeline import Settings
        from pipeline.azure import LocalToken, connector
        from wiring import build_pipeline

        settings = Settings(mode=mode, ledger=f"sqlite:{self.ledger}", subscriptions=(DEMO_SUBSCRIPTION,), approval_secret=SECRET)
        connect = connector(settings, base_url=self.sim.base_url, ca_bundle=self.sim.ca_bundle, credential=LocalToken())
        return build_pipeline(settings, connect=connect, notifier=False)

    def deliver(self, mode: str, *paths: str):
        from intake.deliveries import parse_delivery

        pipeline = self.pipeline(mode)
        return [o for path in paths for o in pipeline.process(parse_delivery(Path(path).read_bytes(), path))]


def now_iso(minutes_ago: int = 2) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def write_deliveries(folder: Path) -> list[str]:
    """A degraded-hardware and an Accelerated Networking annotation for the demo fleet's VMs, dated now."""
    events = [("degraded-hardware.json", "VirtualMachinePossiblyDegradedDueToHardwareFailure", "vm-degraded-hw"),
              ("accelnet.json", "AccelnetUnhealthy", "vm-accelnet")]
    paths = []
    for name, annotation, vm in events:
        path = folder / name
        payload = b.annotated(annotation, target=b.vm_id(vm, DEMO_GROUP, DEMO_SUBSCRIPTION), when=now_iso())
        path.write_bytes(b.body([payload]))
        paths.append(str(path))
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- what each command needs first, and what it must say ------------------------------------------------


def a_started_redeploy(world: World) -> None:
    """An auto-mode redeploy started and not yet followed: what `tick` is for."""
    (outcome,) = world.deliver("auto", world.files[1])
    assert outcome.status == "started", outcome.reason
    world.sim.finish_operations()


def an_incident(world: World) -> None:
    (outcome,) = world.deliver("observe", world.files[1])
    assert outcome.status == "planned", outcome.reason


def pending_approvals(world: World) -> None:
    outcomes = world.deliver("approve", *world.files)
    assert [o.status for o in outcomes] == ["awaiting-approval"] * 2, [o.reason for o in outcomes]
    from approvals import approvals_for
    from pipeline import Settings

    pipeline = world.pipeline("approve")
    service = approvals_for(Settings(approval_secret=SECRET), pipeline.engine.policy, pipeline.ledger, pipeline.clock)
    world.approval_id = next(r.id for r in service.pending() if r.resource_id.endswith("/vm-accelnet"))


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def writes(world: World) -> int:
    return world.sim.counters["writes"]


@dataclass
class Check:
    expect: Callable[[subprocess.CompletedProcess, World], None]
    prepare: Callable[[World], None] | None = None
    serves: bool = False  # runs until stopped (the simulated Azure): started, read, then stopped


def replay_expectation(run, world):
    found = [line for line in lines(run.stdout) if "status" in line] if "--json" in run.args else []
    text = run.stdout
    if "--outbox" in run.args:  # the dry run: the messages people would get, written to the folder
        written = [p for p in (world.folder / "outbox").rglob("*") if p.is_file()]
        assert written, "replay --outbox wrote no message"
    assert "vm-accelnet" in text and "vm-degraded-hw" in text
    if "--azure" not in run.args and "--json" not in run.args:
        assert "planned" in text, text  # exit 0 (asserted before): nothing was rejected
    elif "--azure" not in run.args:
        assert {line["status"] for line in found} <= {"planned"} and found, text
    elif run.args[run.args.index("--azure") + 1] == "live":  # observe against the live Azure: read, never written
        assert writes(world) == 0 and "planned" in text
    else:  # the simulated Azure of the run itself, in auto mode: started, then followed to its end
        assert [line["status"] for line in found].count("succeeded") == 2, text


def demo_expectation(run, world):
    summary = lines(run.stdout)[-1]
    assert summary["signals"] > 0 and summary["arm_reads"] > 0, summary
    assert summary["arm_writes"] == 0, "observe mode reads and tells, and never writes"


def approve_expectation(run, world):
    _contains(run.stdout, "started", "vm-accelnet")
    posts = [r.path for r in world.sim.requests if r.counter == "writes" and r.status and r.status < 300]
    assert len(posts) == 1 and posts[0].endswith("/virtualMachines/vm-accelnet/redeploy"), posts


def reject_expectation(run, world):
    _contains(run.stdout, "rejected by alice")
    assert writes(world) == 0


CHECKS: dict[str, Check] = {
    "replay": Check(replay_expectation),
    "demo": Check(demo_expectation),
    "tick": Check(lambda run, world: _contains(run.stdout, "succeeded", "redeploy", "vm-accelnet"), prepare=a_started_redeploy),
    "sweep": Check(lambda run, world: _contains(json.dumps(lines(run.stdout)[-1]["sweep"]), "arm_reads", "machines")),
    "audit": Check(lambda run, world: _contains(run.stdout, "vm-accelnet", "AccelnetUnhealthy", "redeploy"), prepare=an_incident),
    "pause": Check(lambda run, world: _contains(run.stdout, "automation paused by alice")),
    "resume": Check(lambda run, world: _contains(run.stdout, "automation resumed by alice")),
    "approvals": Check(lambda run, world: _contains(run.stdout, world.approval_id, "redeploy", "vm-accelnet", "expires in"),
                       prepare=pending_approvals),
    "approve": Check(approve_expectation, prepare=pending_approvals),
    "reject": Check(reject_expectation, prepare=pending_approvals),
    "doctor": Check(lambda run, world: _contains(run.stdout, "PASS  settings: parse", "PASS  action group", "checks, 0 failed")
                    if "--references" not in run.args else _contains(run.stdout, "Key Vault references resolved", "1 checks, 0 failed")),
    "whatif": Check(lambda run, world: _contains(run.stdout, '"type": "summary"', '"acts_differently": false'), prepare=an_incident),
    "waves": Check(lambda run, world: _contains(run.stdout, "no waves")),
    "sim": Check(lambda run, world: _contains(run.stdout, "simulated Azure: https://127.0.0.1:", "VMs", "stopped; counters"),
                 serves=True),
}


def _contains(text: str, *wanted: str) -> None:
    missing = [w for w in wanted if w not in text]
    assert not missing, f"{missing} not in the output:\n{text}"


# -- turning an example into a command line -------------------------------------------------------------


def concrete(example: str, world: World) -> list[str]:
    """The example's arguments with every optional part given and every placeholder filled."""
    text = example
    while re.search(r"\[[^\[\]]+\]", text):  # nested optional parts, innermost first
        text = re.sub(r"\[([^\[\]]+)\](?:\.\.\.)?", r"\1", text)
    out: list[str] = []
    for token in text.split():
        option = out[-1] if out and out[-1].startswith("--") else None
        out.extend(fill(token, option, world))
    if out[0] == "doctor":
        # doctor's live form reads a real deployment through Azure's own endpoints, which no test
        # may reach: its examples run against the simulated deployment, which every check reads.
        if "--azure" in out:
            out[out.index("--azure") + 1] = "sim"
        else:
            out += ["--azure", "sim"]
    return out


def fill(token: str, option: str | None, world: World) -> list[str]:
    if option == "--state":
        return [str(world.ledger)]
    if option == "--fleet":
        return [str(DEMO_FLEET if token == "FILE" else (ROOT / token).resolve())]
    if option == "--port":
        return [str(free_port())]
    if option == "--subscription":
        return [DEMO_SUBSCRIPTION]
    if option == "--since":
        return ["P1D"]
    if option == "--until":
        return [(datetime.now(UTC) + timedelta(minutes=1)).isoformat()]
    if option == "--policy":  # the policy in force, tried as if it were new: nothing changes
        return [str(ROOT / "rules" / "policy.yaml")]
    if option == "--catalog":
        path = world.folder / "catalog-extra.yaml"
        path.write_text("annotations:\n  VirtualMachineSomeNameAzureAddedLastWeek:\n    meaning: The host is degraded.\n"
                        "    initiator: platform\n    impact: degraded\n    category: degraded-hardware\n"
                        "    temp_disk_loss: true\n    platform_acting: false\n    default_action: redeploy\n"
                        "    next_step: Redeploy the VM.\n    routine: false\n")
        return [str(path)]
    if option == "--resource":
        return ["vm-accelnet"]
    if option == "--outbox":
        return [str(world.folder / "outbox")]
    if option == "--deadletter":
        return [world.dead_letters()]
    if option == "--env-file":
        path = world.folder / "deployment.env"  # azd's environment file (the simulated deployment ignores it)
        path.write_text("AZURE_ENV_NAME=responder-prod\n")
        return [str(path)]
    if option == "--wait":
        return ["5"]
    if option in ("--mode", "--azure") and (token == "..." or "|" in token):
        return ["observe" if token == "..." else token.split("|")[0]]
    if token == "FILE...":
        return list(world.files)
    if token == "ID":
        assert world.approval_id, "ID names an approval: the command's check must prepare one"
        return [world.approval_id]
    if re.fullmatch(r"[A-Z][A-Z0-9|.-]*", token):
        pytest.fail(f"the README's example has a placeholder {token!r} (after {option}) this test cannot fill: teach fill()")
    return [token]


@pytest.fixture
def world(tmp_path, request):
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET, operation_delay=0.0) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "AZURE_"))}
        env.update({"PYTHONPATH": str(ROOT), "RESPONDER_ARM_ENDPOINT": sim.base_url, "RESPONDER_CA_BUNDLE": sim.ca_bundle,
                    "RESPONDER_SUBSCRIPTIONS": DEMO_SUBSCRIPTION, "RESPONDER_APPROVAL_SECRET": SECRET})
        folder = tmp_path / "run"
        folder.mkdir()
        yield World(folder=folder, sim=sim, env=env, files=write_deliveries(tmp_path), ledger=tmp_path / "ledger.sqlite",
                    storage=lambda: request.getfixturevalue("azurite_storage"))


EXAMPLES = documented()


def test_the_readme_documents_every_command_the_parser_has():
    from responder.cli import parser

    (commands,) = [a for a in parser()._actions if a.dest == "command"]
    shown = {example.split()[0] for example in EXAMPLES}
    assert set(commands.choices) == shown, f"in the parser, not in a README sh block: {set(commands.choices) - shown}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_documented_command_runs_as_its_example_shows(example, world):
    command = example.split()[0]
    check = CHECKS.get(command)
    assert check is not None, f"the README documents `python -m responder {command}`: say in CHECKS what it must print"
    if check.prepare:
        check.prepare(world)
    world.sim.reset_log()
    args = [sys.executable, "-m", "responder", *concrete(example, world)]
    if check.serves:
        run = serve_then_stop(args, world)
    else:
        run = subprocess.run(args, cwd=world.folder, env=world.env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, f"{' '.join(args[2:])} exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    check.expect(run, world)


def serve_then_stop(args: list[str], world: World) -> subprocess.CompletedProcess:
    """Start a command that serves until stopped; once it says where it listens, answer one ARM
    read through it, then stop it as Ctrl-C or a service manager would."""
    import requests

    process = subprocess.Popen(args, cwd=world.folder, env=world.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Ctrl-C to stop"):
                break
        url = next(line.split(": ", 1)[1].strip() for line in seen if line.startswith("simulated Azure:"))
        ca = next(line.split(":", 1)[1].strip() for line in seen if line.startswith("CA bundle:"))
        port = args[args.index("--port") + 1]
        assert url == f"https://127.0.0.1:{port}", seen
        answer = requests.get(f"{url}/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/{DEMO_GROUP}/providers/Microsoft.Compute/"
                              "virtualMachines/vm-accelnet", params={"api-version": "2026-04-01"},
                              headers={"Authorization": "Bearer sim"}, verify=ca, timeout=10)
        assert answer.status_code == 200 and answer.json()["name"] == "vm-accelnet"
    finally:
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    return subprocess.CompletedProcess(args, process.returncode, "".join(seen) + rest, errors)

