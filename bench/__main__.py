"""Every benchmark figure, as one table with its target.

    .venv/bin/python -m bench [--quick] [--only throughput,coldstart,storm,sweep,table]

1 decision throughput (bench/throughput.py), 2 cold start (bench/coldstart.py), 3 the storm
and 5 remediation latency (bench/storm.py, one run gives both), 4 the sweep
(bench/sweep_bench.py through bench/sweep.py); the timer's Resource Graph sweep of a large tenant in
bench/sweep_tenant.py), 6 Table Storage requests per signal on each hot
path, counted on the wire at Azurite (bench/table_requests.py); 7 the outbox under 16 workers on one
subscription (bench/outbox_contention.py) and messages per route for a regional incident over 1,000
subscriptions (bench/tenant_incident.py). Each is a ratio or a count against a baseline
measured in the same run; see docs/performance.md. Exits non-zero only when a run broke,
never because a target was missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime

from . import coldstart, outbox_contention, storm, sweep, sweep_tenant, table_requests, tenant_incident, throughput
from .report import table

PARTS = ("throughput", "coldstart", "storm", "sweep", "table", "outbox")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast check (about a minute)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    q = args.quick
    began = time.perf_counter()
    figures = []
    for part in PARTS:
        if part not in chosen:
            continue
        print(f"  running {part} ...", file=sys.stderr, flush=True)
        if part == "throughput":
            figures.append(throughput.measure(2_000 if q else 10_000))
        elif part == "coldstart":
            figures.append(coldstart.measure(3 if q else 7))
        elif part == "storm":
            figures += (storm.measure(2_000, 1_000) if q else storm.measure(10_000, 3_000))[0]
        elif part == "sweep":
            figures += sweep.measure(sweep.QUICK_SIZES if q else sweep.SIZES)
            figures.append(sweep_tenant.figure(100 if q else 1_000))  # the timer's Resource Graph sweep, a cycle
        elif part == "table":
            figures += table_requests.figures(table_requests.measure_paths())
        elif part == "outbox":
            figures += outbox_contention.measure(16, 3 if q else 10)
            figures += tenant_incident.measure(100 if q else 1000, 30)
    figures.sort(key=lambda f: f.name)
    print(f"Resource Health Responder benchmarks{' (--quick)' if q else ''}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
          f" {os.cpu_count()} CPUs, Python {platform.python_version()}, {time.perf_counter() - began:.0f} s")
    print()
    print(table(figures))
    return 1 if any(f.broken for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
