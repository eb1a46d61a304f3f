"""Cold start: a fresh worker process importing `function_app` and handling its first event.

    .venv/bin/python -m bench.coldstart [--runs 7] [--quick]

Each run starts a new Python process (the project's virtualenv, the project as the working
directory) that imports `function_app`, builds a real `azure.functions.EventGridEvent` (a
Resource Health annotation) and calls the registered `event_grid` function with it, with
RESPONDER_LEDGER=sqlite in a fresh temporary directory (the first event creates the ledger).
Baseline: a fresh process doing only `import azure.functions`. The figure is the median wall
time from spawning the process to its exit, over several runs of each, interleaved so that a
noisy moment hits both. Target: at most 1.5x the baseline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .report import Figure, median, table

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5

BASELINE = "import azure.functions\n"

FIRST_EVENT = """
import azure.functions as func
import datetime
import function_app

target = "/subscriptions/00000000-0000-0000-0000-0000000be001/resourceGroups/rg-cold/providers/Microsoft.Compute/virtualMachines/vm-cold"
when = datetime.datetime.now(datetime.timezone.utc)
stamp = when.isoformat().replace("+00:00", "Z")
data = {
    "resourceInfo": {
        "id": target + "/providers/Microsoft.ResourceHealth/resourceAnnotations/current",
        "name": "current",
        "type": "Microsoft.ResourceHealth/resourceAnnotations",
        "properties": {"targetResourceId": target, "targetResourceType": "Microsoft.Compute/virtualMachines",
                       "occurredTime": stamp, "annotationName": "VirtualMachineHostCrashed", "reason": "host crashed",
                       "summary": "The host crashed", "context": "Platform Initiated", "category": "Unplanned"},
    },
    "operationalInfo": {"resourceEventTime": stamp},
    "apiVersion": "2023-12-01",
}
event = func.EventGridEvent(id="c01d57a7-0000-4000-8000-000000000001", data=data, topic="/subscriptions/00000000-0000-0000-0000-0000000be001",
                            subject=target, event_type="Microsoft.ResourceNotifications.HealthResources.ResourceAnnotated",
                            event_time=when, data_version="1")
handler = {f.get_function_name(): f for f in function_app.app.get_functions()}["event_grid"].get_user_function()
handler(event)
import sqlite3, os
rows = sqlite3.connect(os.environ["RESPONDER_LEDGER"][len("sqlite:"):]).execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
assert rows == 1, rows
"""


def one_run(code: str, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"cold start run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return took


def environment(ledger_dir: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESPONDER_") and k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte code cached, as in a deployed package
    if ledger_dir:
        env["RESPONDER_LEDGER"] = f"sqlite:{Path(ledger_dir) / 'ledger.sqlite'}"
    return env


def measure(runs: int = 7) -> Figure:
    # One unmeasured run of each first: byte code compiled and files in the page cache, as on
    # a worker whose image is warm but whose process is new.
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as d:
        one_run(FIRST_EVENT, environment(d))
    one_run(BASELINE, environment(None))
    app, base = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-cold-") as d:
            app.append(one_run(FIRST_EVENT, environment(d)))
        base.append(one_run(BASELINE, environment(None)))
    ratio = median(app) / median(base)
    return Figure(
        name="2 cold start",
        value=f"{median(app) * 1000:.0f} ms",
        baseline=f"{median(base) * 1000:.0f} ms",
        ratio=f"{ratio:.2f}x",
        target=f"<= {TARGET}x",
        met=ratio <= TARGET,
        notes=[f"median of {runs} fresh processes each (spawn to exit); app runs {min(app) * 1000:.0f}..{max(app) * 1000:.0f} ms,"
               f" baseline {min(base) * 1000:.0f}..{max(base) * 1000:.0f} ms"],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs each")
    args = parser.parse_args(argv)
    print(table([measure(3 if args.quick else args.runs)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
