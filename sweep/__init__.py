"""The sweep: what no event announced, found by reading the scope through ARM list APIs.

    from sweep import Scope, Sweeper, sweep_into
    sweeper = Sweeper(clients_for_subscription, Scope.from_settings(settings), clock)
    report = sweep_into(pipeline, sweeper)       # every finding through pipeline.handle
    report = sweep_scope(pipeline, settings)     # the same, the whole scope in one go (ARM lists)
    report = sweep_run(pipeline, settings)       # the timer's sweep: Resource Graph, from the ledger's cursor, in a budget

`Sweeper.signals()` is lazy: it yields `rules.Signal`s (source "sweep") page by page, and
`sweeper.stats` counts the ARM reads, the resources seen and the findings. See docs/sweep.md.
Importing this package does not import the Azure SDKs.
"""

from .budget import Budget
from .cycle import sweep_run
from .errors import ReadError, ScopeError, SweepError
from .graph_sweeper import GraphSweeper
from .progress import ProgressBar
from .report import SweepReport, sweep_into
from .scheduled import sweep_scope
from .scope import Scope
from .stats import SweepStats
from .sweeper import Sweeper

__all__ = [
    "Budget", "GraphSweeper", "ProgressBar", "ReadError", "Scope", "ScopeError", "SweepError", "SweepReport",
    "SweepStats", "Sweeper", "sweep_into", "sweep_run", "sweep_scope",
]
