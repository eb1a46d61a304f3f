"""The timer's sweep: Resource Graph, from the cursor in the ledger, within a time budget.

    sweep_run(pipeline, settings)   # what the `sweep` timer trigger runs

Its settings (`Settings.sweep`: RESPONDER_SWEEP_SOURCE, _BUDGET, _BATCH, _MANAGEMENT_GROUP) are read
with the rest in pipeline/settings.py.
"""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings, SweepSettings

from .budget import Budget
from .errors import ScopeError
from .graph_sweeper import GraphSweeper
from .report import SweepReport, log_sweep, sweep_into
from .scope import Scope


def sweep_run(pipeline: Any, settings: Settings, connect: Any = None, sweep: SweepSettings | None = None) -> SweepReport:
    """One timer run: the next batches of the cycle through `pipeline`, a summary line logged."""
    from pipeline.azure import connector

    from .scheduled import sweep_scope

    sweep = sweep or settings.sweep
    if sweep.source == "arm":
        return sweep_scope(pipeline, settings, connect)
    connect = connect or connector(settings)
    if connect is None:
        raise ScopeError("RESPONDER_AZURE=none: there is no Azure to sweep")
    # With a management group the scope is the group; the clients are the same for any subscription.
    subscriptions = tuple(settings.subscriptions) or ((sweep.management_group,) if sweep.management_group else ())
    scope = Scope(subscriptions, tuple(settings.resource_groups_include), tuple(settings.resource_groups_exclude))
    sweeper = GraphSweeper(connect, scope, pipeline.clock, ledger=pipeline.ledger, budget=Budget(sweep.budget_seconds),
                           batch_size=sweep.batch_size, management_group=sweep.management_group)  # fmt: skip
    report = sweep_into(pipeline, sweeper, keep_outcomes=False)
    stats, run = report.stats, sweeper.run
    log_sweep(
        report,
        source="graph",
        cycle=run.cycle,
        batches=run.batches,
        subscriptions=stats.subscriptions,
        remaining=run.remaining,
        cycle_complete=run.cycle_complete,
        queries=sum(n for api, n in stats.reads.items() if api.startswith("graph-")),
        arm_reads=sum(n for api, n in stats.reads.items() if not api.startswith("graph-")),
        throttle_waits=stats.throttle_waits,
    )
    return report
