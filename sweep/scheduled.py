"""The sweep as the timer trigger runs it: the scope in the settings, through the pipeline, one
summary line logged (with the findings, decisions and reads, for Application Insights)."""

from __future__ import annotations

from typing import Any

from .errors import ScopeError
from .report import SweepReport, log_sweep, sweep_into
from .scope import Scope
from .sweeper import Sweeper


def sweep_scope(pipeline: Any, settings: Any, connect: Any = None) -> SweepReport:
    """One sweep of `settings`' scope into `pipeline`; `connect` defaults to the settings' Azure.

    Outcomes are not kept (a large estate's findings are in the ledger and the logs); a read that
    failed is logged as a warning and left for the next sweep.
    """
    from pipeline.azure import connector

    connect = connect or connector(settings)
    if connect is None:
        raise ScopeError("RESPONDER_AZURE=none: there is no Azure to sweep")
    sweeper = Sweeper(connect, Scope.from_settings(settings), pipeline.clock)
    report = sweep_into(pipeline, sweeper, keep_outcomes=False)
    log_sweep(report, arm_reads=report.stats.arm_reads)
    return report
