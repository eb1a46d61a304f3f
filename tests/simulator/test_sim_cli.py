"""`python -m responder sim`: prints where it serves and the CA bundle, serves until stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import RG, SUB

ROOT = Path(__file__).resolve().parents[2]


def test_serves_the_fleet_until_interrupted(tmp_path):
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        f'{{"defaults": {{"subscriptionId": "{SUB}", "resourceGroup": "{RG}"}}, "vms": [{{"name": "vm-one"}}]}}'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main(sys.argv[1:]))",
         "--fleet", str(fleet), "--operation-delay", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = proc.stdout.readline().split()[-1]
        bundle = proc.stdout.readline().split()[-1]
        assert url.startswith("https://127.0.0.1:") and os.path.exists(bundle)
        r = requests.get(
            f"{url}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-one",
            params={"api-version": "2026-04-01"},
            verify=bundle,
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["name"] == "vm-one"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert not os.path.exists(bundle)  # the throwaway certificate goes with the server


def test_a_bad_fleet_file_is_an_error(tmp_path, capsys):
    from simulator.cli import main

    bad = tmp_path / "fleet.json"
    bad.write_text('{"vms": [{"name": "x"}]}')
    assert main(["--fleet", str(bad)]) == 1
    assert "missing" in capsys.readouterr().err


def test_the_request_log_prints_every_request_also_those_answered_while_it_prints():
    from types import SimpleNamespace

    from simulator.cli import print_requests

    logged = [SimpleNamespace(status=200, method="GET", path=f"/r{n}", fault=None) for n in range(3)]

    class Out:
        lines: list[str] = []

        def write(self, text: str) -> None:
            if text.strip():
                self.lines.append(text.strip())
                if len(logged) < 6:  # the server answers another request while this one is printed
                    logged.append(SimpleNamespace(status=None, method="POST", path=f"/r{len(logged)}", fault="drop"))

        def flush(self) -> None:
            pass

    out = Out()
    seen = print_requests(logged, 0, out)
    seen = print_requests(logged, seen, out)
    assert seen == len(logged) == 6
    assert out.lines == ["200 GET /r0", "200 GET /r1", "200 GET /r2", "drop POST /r3 drop", "drop POST /r4 drop", "drop POST /r5 drop"]
