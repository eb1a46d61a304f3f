"""A sweep through the pipeline: every finding handed to `pipeline.handle`, outcomes collected.

The pipeline dedupes a finding against what it has already seen (the last sweep, an event about
the same occurrence) and an open incident on the same resource absorbs it: one action per
incident, whichever signal came first.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .stats import SweepStats

if TYPE_CHECKING:  # types only
    from pipeline.core import Pipeline

    from .sweeper import Sweeper


@dataclass
class SweepReport:
    started: datetime
    finished: datetime | None = None
    outcomes: list[Any] = field(default_factory=list)  # pipeline.Outcome, one per finding
    decisions: Counter = field(default_factory=Counter)  # (action, status) -> count
    stats: SweepStats = field(default_factory=SweepStats)
    failures: list[str] = field(default_factory=list)  # findings the pipeline could not handle
    seconds: float = 0.0  # wall time (the pipeline's clock may be a test's, standing still)
    run: Any = None  # a Resource Graph sweep's RunReport: cycle, batches, subscriptions swept, why it stopped

    @property
    def complete(self) -> bool:
        """Every read succeeded and every finding was handled."""
        return not self.stats.problem_count and not self.failures

    def to_dict(self) -> dict:
        return {
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "seconds": round(self.seconds, 3),
            "decisions": [{"action": a, "status": s, "count": n} for (a, s), n in sorted(self.decisions.items())],
            "failures": list(self.failures),
            **self.stats.to_dict(),
            **({"run": self.run.to_dict()} if self.run is not None else {}),
        }


def sweep_into(
    pipeline: Pipeline,
    sweeper: Sweeper,
    progress: Callable[[SweepStats], None] | None = None,
    on_outcome: Callable[[Any], None] | None = None,
    keep_outcomes: bool = True,
) -> SweepReport:
    """Run one sweep through `pipeline.handle`; a finding that fails is reported, never stops the rest.

    `progress(stats)` is called after every ARM read (when the sweeper has none of its own);
    `on_outcome(outcome)` as each decision is made. `keep_outcomes=False` keeps only the counts,
    for sweeps whose findings are too many to hold.
    """
    if progress is not None and sweeper.progress is None:
        sweeper.progress = progress
    if sweeper.holds is None:  # a person's suspension, kept in this pipeline's ledger
        from .holds import RepairHolds

        sweeper.holds = RepairHolds(pipeline.ledger)
    if sweeper.datapath is None and sweeper.reads_application_health:  # live migrations recorded in this pipeline's ledger
        from .datapath import Datapath

        sweeper.datapath = Datapath(pipeline.ledger)
    report = SweepReport(started=pipeline.clock())
    began = time.perf_counter()
    for signal in sweeper.signals():
        try:
            outcome = pipeline.handle(signal)
        except Exception as exc:  # noqa: BLE001 - one finding's failure must not end the sweep
            report.failures.append(f"{signal.name} on {signal.resource_id}: {type(exc).__name__}: {exc}")
            continue
        report.decisions[(outcome.action, outcome.status)] += 1
        if keep_outcomes:
            report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    report.stats = sweeper.stats
    report.run = sweeper.run
    report.finished = pipeline.clock()
    report.seconds = time.perf_counter() - began
    return report


def log_sweep(report: SweepReport, **context: Any) -> None:
    """The run's summary line (warning when it did not finish), then a line per problem met.
    `context`: what the kind of sweep adds (the cursor's cycle, the queries it made)."""
    import logging

    from telemetry.logs import log

    stats = report.stats
    log(
        "sweep",
        level=logging.INFO if report.complete else logging.WARNING,
        seconds=round(report.seconds, 1),
        **context,
        machines=stats.machines,
        scale_sets=stats.resources["scale-set"],
        findings=sum(stats.findings.values()),
        decisions=",".join(f"{action}/{status}={n}" for (action, status), n in sorted(report.decisions.items())),
        problems=stats.problem_count + len(report.failures),
    )
    for problem in stats.problems + report.failures:
        log("sweep incomplete", level=logging.WARNING, problem=problem)
