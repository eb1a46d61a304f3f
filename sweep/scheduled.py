"""The sweep as the timer trigger runs it: the scope in the settings, through the pipeline, one
summary line logged (with the findings, decisions and reads, for Application Insights)."""

from __future__ import annotations

import logging
from typing import Any

from .errors import ScopeError
from .report import SweepReport, sweep_into
from .scope import Scope
from .sweeper import Sweeper


def sweep_scope(pipeline: Any, settings: Any, connect: Any = None) -> SweepReport:
    """One sweep of `settings`' scope into `pipeline`; `connect` defaults to the settings' Azure.

    Outcomes are not kept (a large estate's findings are in the ledger and the logs); a read that
    failed is logged as a warning and left for the next sweep.
    """
    from pipeline.azure import connector
    from telemetry.logs import log

    connect = connect or connector(settings)
    if connect is None:
        raise ScopeError("RESPONDER_AZURE=none: there is no Azure to sweep")
    sweeper = Sweeper(connect, Scope.from_settings(settings), pipeline.clock)
    report = sweep_into(pipeline, sweeper, keep_outcomes=False)
    stats = report.stats
    log(
        "sweep",
        level=logging.INFO if report.complete else logging.WARNING,
        seconds=round(report.seconds, 1),
        arm_reads=stats.arm_reads,
        machines=stats.machines,
        scale_sets=stats.resources["scale-set"],
        findings=sum(stats.findings.values()),
        decisions=",".join(f"{action}/{status}={n}" for (action, status), n in sorted(report.decisions.items())),
        problems=stats.problem_count + len(report.failures),
    )
    for problem in stats.problems + report.failures:
        log("sweep incomplete", level=logging.WARNING, problem=problem)
    return report
