"""The sweep's figures, from bench/sweep_bench.py, as rows of the benchmark table.

    .venv/bin/python -m bench.sweep [--quick]

ARM reads per machine and peak memory growth of one sweep of 1,000, 10,000 and 50,000 VMs
(with --quick: 1,000 and 10,000). See bench/sweep_bench.py for how each is measured.

The tracemalloc peak needs a second sweep under tracemalloc, several times slower than the
sweep itself (minutes at 50,000 VMs), so by default the memory figure is the growth of the
process's resident high-water mark during the sweep (the in-process simulated Azure included,
so an upper bound); `--trace` adds the tracemalloc peak, as bench/sweep_bench.py prints it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import sweep_bench
from .report import Figure, table

SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (1_000, 10_000)


def figures(rows: list[dict]) -> list[Figure]:
    out = []
    for row in rows:
        vms = row["vms"]
        traced = "traced_wall_seconds" in row
        reads_target = vms == sweep_bench.TARGET_READS[0]
        targets, met = [], []
        if reads_target:
            targets.append(f"<= {sweep_bench.TARGET_READS[1]} reads/machine")
            met.append(row["reads_per_machine"] <= sweep_bench.TARGET_READS[1])
        if vms == sweep_bench.TARGET_MEMORY[0]:
            targets.append(f"peak < {sweep_bench.TARGET_MEMORY[1]:.0f} MB")
            met.append((row["peak_mb"] if traced else row["rss_growth_mb"]) < sweep_bench.TARGET_MEMORY[1])
        peak = f"traced peak {row['peak_mb']:.1f} MB" if traced else f"RSS +{row['rss_growth_mb']:.1f} MB"
        out.append(Figure(
            name=f"4 sweep {vms:,} VMs",
            value=f"{row['reads_per_machine']:.4f} reads/machine, {peak}",
            baseline=f"dicts {row['baseline_mb']:.1f} MB",
            ratio=f"{(row['peak_mb'] if traced else row['rss_growth_mb']) / row['baseline_mb']:.2f}x" if row["baseline_mb"] else "-",
            target="; ".join(targets) or "reported",
            met=all(met) if met else None,
            notes=[f"{row['machines']:,} machines, {row['arm_reads']} ARM reads, {row['findings']:,} findings, wall {row['wall_seconds']:.1f} s"
                   f" (pipeline {row['pipeline_seconds']:.1f} s), RSS +{row['rss_growth_mb']:.1f} MB"],
            broken=bool(row["problems"]),
        ))  # fmt: skip
    return out


def measure(sizes=SIZES, page_size: int = 1000, trace: bool = False) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as workdir:
        rows = [sweep_bench.measure(vms, page_size, Path(workdir), trace=trace) for vms in sizes]
    return figures(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 VMs only")
    parser.add_argument("--trace", action="store_true", help="a second sweep of each fleet under tracemalloc, for its peak (slow)")
    args = parser.parse_args(argv)
    found = measure(QUICK_SIZES if args.quick else SIZES, trace=args.trace)
    print(table(found))
    return 1 if any(f.broken for f in found) else 0


if __name__ == "__main__":
    sys.exit(main())
