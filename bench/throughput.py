"""Decision throughput: parse, dedupe, classify, decide and record, with no Azure and no notifier.

    .venv/bin/python -m bench.throughput [--events 10000] [--quick]

10,000 mixed delivery bodies (bench/payloads.py: annotations of several names on many VMs,
availability changes, scheduled events, Service Health and Resource Health alerts, legacy
alerts, 5% delivered twice) go through `parse_delivery` and `Pipeline.process` with a SQLite
ledger in a temporary file. Baseline: `json.loads` of the same bodies, timed in the same run.
Target: the pipeline takes at most 10x the baseline's time per event.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from .report import Figure, table

TARGET = 10.0


def quiet_logs() -> None:
    """The pipeline logs a line per decision; a benchmark times the work, not a terminal."""
    logging.disable(logging.CRITICAL)


def baseline_seconds(bodies: list[bytes], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):  # the best of a few: json.loads is fast enough to feel every hiccup
        began = time.perf_counter()
        for body in bodies:
            json.loads(body)
        best = min(best, time.perf_counter() - began)
    return best


# What-if ledgers, for finding where the time goes (not the figure): the same SQLite ledger
# with `PRAGMA synchronous=OFF` (no fsync even in checkpoints), or in memory (no I/O).
LEDGERS = ("file", "sync-off", "memory")


def pipeline_seconds(bodies: list[bytes], workdir: Path, ledger_kind: str = "file") -> tuple[float, Counter]:
    from intake.deliveries import parse_delivery
    from ledger import SqliteLedger
    from pipeline import Settings
    from wiring import build_pipeline

    ledger = SqliteLedger(":memory:" if ledger_kind == "memory" else workdir / f"throughput-{ledger_kind}.sqlite")
    if ledger_kind == "sync-off":
        ledger._db.execute("PRAGMA synchronous=OFF")
    pipeline = build_pipeline(Settings(), ledger=ledger, notifier=False)
    statuses: Counter = Counter()
    gc.collect()
    began = time.perf_counter()
    for n, body in enumerate(bodies):
        for outcome in pipeline.process(parse_delivery(body, f"bench-{n}")):
            statuses[outcome.status] += 1
    took = time.perf_counter() - began
    ledger.close()
    return took, statuses


def measure(events: int = 10_000, ledger_kind: str = "file") -> Figure:
    from .payloads import mixed

    quiet_logs()
    bodies = mixed(events)
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as workdir:
        took, statuses = pipeline_seconds(bodies, Path(workdir), ledger_kind)
    base = baseline_seconds(bodies)
    ratio = took / base
    signals = sum(statuses.values())
    return Figure(
        name="1 decision throughput" + ("" if ledger_kind == "file" else f" (what-if: {ledger_kind} ledger)"),
        value=f"{events / took:,.0f} events/s",
        baseline=f"{events / base:,.0f} json.loads/s",
        ratio=f"{ratio:,.1f}x",
        target=f"<= {TARGET:.0f}x",
        met=ratio <= TARGET,
        notes=[f"{events:,} deliveries ({signals:,} outcomes: " + ", ".join(f"{k} {v:,}" for k, v in statuses.most_common()) + f") in {took:.2f} s;"
               f" json.loads of the same bodies: {base * 1000:.1f} ms (best of 5)"],
        broken=statuses.get("rejected", 0) > 0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 events")
    parser.add_argument("--what-if", action="store_true",
                        help="also run with the ledger's fsyncs off (synchronous=OFF) and in memory, to see the I/O's share")
    args = parser.parse_args(argv)
    events = 2_000 if args.quick else args.events
    figures = [measure(events, kind) for kind in (LEDGERS if args.what_if else LEDGERS[:1])]
    print(table(figures))
    return 1 if any(f.broken for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
