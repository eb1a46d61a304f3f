"""`python -m responder demo`: the bundled scenario, replayed through the pipeline.

The payloads in responder/demo/payloads/ are written for the demo fleet (responder/demo/
fleet.json); the first one is delivered twice to show a duplicate delivery being ignored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from pipeline import Settings, build_pipeline

from responder import render
from responder.replay import read_delivery, settings_for

PAYLOADS = Path(__file__).resolve().parent / "payloads"


def scenario() -> list[Path]:
    files = sorted(PAYLOADS.glob("*.json"))
    return files[:1] + files  # the first delivery arrives twice: Event Grid delivers at least once


def run(mode: str, as_json: bool, state: str | None = None, out: TextIO = sys.stdout) -> int:
    settings = settings_for(mode, state)
    pipeline = build_pipeline(settings)
    outcomes = []
    if not as_json:
        out.write(f"Resource Health Responder demo: {len(scenario())} deliveries, mode {mode}\n\n")
    for path in scenario():
        found = read_delivery(str(path), pipeline, input_name=f"demo/{path.name}")
        outcomes += found
        if as_json:
            for outcome in found:
                out.write(render.json_line(outcome) + "\n")
    if as_json:
        out.write(json.dumps(render.summary(outcomes)) + "\n")
        return 0
    render.table(outcomes, out)
    totals = render.summary(outcomes)
    out.write("\n" + "  ".join(f"{k}: {v}" for k, v in sorted(totals["statuses"].items())) + "\n")
    out.write("actions: " + (", ".join(f"{k} {v}" for k, v in sorted(totals["actions"].items())) or "none") + "\n")
    return 0
