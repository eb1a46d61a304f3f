"""Shared by the benchmarks: one row per figure, the table they print, timing helpers."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One benchmark figure: what was measured, against which baseline, and its target."""

    name: str
    value: str  # the measured figure, as printed
    baseline: str  # the baseline measured in the same run, as printed
    ratio: str  # value against baseline (or "-")
    target: str  # the target, as printed
    met: bool | None  # None: no target to judge (or the run could not judge it)
    notes: list[str] = field(default_factory=list)
    broken: bool = False  # the run itself went wrong (not a missed target)


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "MISSED")


def table(figures: list[Figure]) -> str:
    header = ("figure", "measured", "baseline", "ratio", "target", "verdict")
    rows = [(f.name, f.value, f.baseline, f.ratio, f.target, verdict(f.met) + (" (BROKEN RUN)" if f.broken else "")) for f in figures]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)]
    notes = [f"  {f.name}: {n}" for f in figures for n in f.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]
