"""`python -m responder replay FILE...`: each file is one delivery body, run through the same
pipeline as the triggers, in the order given, against one ledger (responder/ledger_choice.py says
which). `--deadletter` adds Event Grid's dead-lettered events (responder/deadletters.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from intake.deliveries import MAX_BODY_BYTES, is_test_alert, parse_delivery
from pipeline import Outcome, Pipeline, Settings
from wiring import build_pipeline

from . import render
from .azure_session import azure_session, closing_tick

if TYPE_CHECKING:
    from .deadletters import BlobReport, DeadLetterSource


def read_delivery(path: str, pipeline: Pipeline, input_name: str | None = None,
                  shift: Callable[[bytes], bytes] | None = None) -> list[Outcome]:
    """One file through the pipeline; a file that cannot be read is a rejection, not a crash.
    `shift` rewrites the body first (the demo moves its payloads' times to now)."""
    name = input_name or path
    try:
        size = Path(path).stat().st_size
        if size > MAX_BODY_BYTES:
            return [pipeline.reject(name, "file", f"is {size} bytes, more than the {MAX_BODY_BYTES} allowed")]
        body = Path(path).read_bytes()
    except OSError as exc:
        return [pipeline.reject(name, "file", f"cannot be read: {exc.strerror or exc}")]
    return pipeline.process(parse_delivery(shift(body) if shift else body, input_name=name))


def replay(files: list[str], settings: Settings, as_json: bool, out: TextIO = sys.stdout, azure: str = "none", fleet: str | None = None,
           outbox: str | None = None, err: TextIO = sys.stderr, deadletter: DeadLetterSource | None = None) -> int:
    """Each file, then each dead-letter blob of `deadletter`, through one pipeline."""
    from .notices import build_told_pipeline, tell

    reports: list[BlobReport] = []
    with azure_session(azure, settings, fleet) as session:
        pipeline = build_told_pipeline(session.scoped(settings), session.connect, outbox)
        outcomes: list[Outcome] = []
        for path in files:
            found = read_delivery(path, pipeline)
            outcomes += found
            if as_json:
                for outcome in found:
                    out.write(render.json_line(outcome) + "\n")
        if deadletter is not None:
            from .deadletters import blobs, replay_blob

            for name, size, content in blobs(deadletter):
                found, report = replay_blob(name, size, content, pipeline)
                outcomes += found
                reports.append(report)
                if as_json:
                    for outcome in found:
                        out.write(render.json_line(outcome) + "\n")
                    out.write(json.dumps({"deadletter": report.to_dict()}, ensure_ascii=False) + "\n")
        ended = closing_tick(pipeline)
        for line in tell(pipeline):  # the run's notices go out (or to --outbox) before it ends
            err.write(f"notification: {line}\n")
    if as_json:
        for outcome in ended:
            out.write(render.json_line(outcome) + "\n")
    else:
        render.table(outcomes + ended, out)
    if deadletter is not None:
        from .deadletters import summary

        told = summary(deadletter, reports)
        out.write(json.dumps({"deadletters": {k: v for k, v in told.items() if k != "text"}}, ensure_ascii=False) + "\n" if as_json else "\n" + told["text"] + "\n")
    # A test alert is recorded as a rejection but is no problem with the input.
    return 2 if any(o.status == "rejected" and not is_test_alert(o.reason) for o in outcomes) else 0


def tick(settings: Settings, as_json: bool, out: TextIO = sys.stdout, azure: str = "live", fleet: str | None = None) -> int:
    """One tick over the operations a ledger holds (the timer trigger's work, from a shell)."""
    with azure_session(azure, settings, fleet) as session:
        ended = build_pipeline(session.scoped(settings), connect=session.connect).tick()
    for outcome in ended:
        out.write((render.json_line(outcome) if as_json else render.line(outcome)) + "\n")
    return 0
