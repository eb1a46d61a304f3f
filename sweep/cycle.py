"""The timer's sweep: Resource Graph, from the cursor in the ledger, within a time budget.

    sweep_run(pipeline, settings)   # what the `sweep` timer trigger runs

Settings (app settings, read here until the settings are gathered in one place):

| Setting | Default | Meaning |
|---|---|---|
| `RESPONDER_SWEEP_SOURCE` | `graph` | `graph`: Resource Graph, in batches, from the cursor; `arm`: the ARM list sweep of the whole scope in one run (no cursor) |
| `RESPONDER_SWEEP_BUDGET` | `PT7M` | the time a run may spend (ISO 8601 duration or seconds), well under the 10-minute function timeout |
| `RESPONDER_SWEEP_BATCH` | `100` | subscriptions per query, 1 to 1,000: the cursor's step |
| `RESPONDER_SWEEP_MANAGEMENT_GROUP` | (none) | query this management group instead of naming subscriptions (one batch a cycle) |
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .budget import DEFAULT_SECONDS, Budget
from .errors import ScopeError
from .graph_sweeper import DEFAULT_BATCH, MAX_BATCH, GraphSweeper
from .report import SweepReport, sweep_into
from .scope import Scope

SOURCES = ("graph", "arm")


@dataclass(frozen=True)
class SweepSettings:
    source: str = "graph"
    budget_seconds: float = DEFAULT_SECONDS
    batch_size: int = DEFAULT_BATCH
    management_group: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SweepSettings:
        env = os.environ if env is None else env
        source = (env.get("RESPONDER_SWEEP_SOURCE") or "graph").strip().lower()
        if source not in SOURCES:
            raise ScopeError(f"RESPONDER_SWEEP_SOURCE={source!r}: expected graph or arm")
        return cls(
            source=source,
            budget_seconds=_seconds("RESPONDER_SWEEP_BUDGET", env.get("RESPONDER_SWEEP_BUDGET")),
            batch_size=_batch(env.get("RESPONDER_SWEEP_BATCH")),
            management_group=(env.get("RESPONDER_SWEEP_MANAGEMENT_GROUP") or "").strip() or None,
        )


def _seconds(name: str, value: str | None) -> float:
    text = (value or "").strip()
    if not text:
        return DEFAULT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        from rules import RulesError
        from rules.durations import parse_duration

        try:
            seconds = parse_duration(text, name).total_seconds()
        except RulesError:
            raise ScopeError(f"{name}={text!r}: expected seconds or an ISO 8601 duration such as PT7M") from None
    if seconds <= 0:
        raise ScopeError(f"{name}={text!r}: the budget must be positive")
    return seconds


def _batch(value: str | None) -> int:
    text = (value or "").strip()
    if not text:
        return DEFAULT_BATCH
    if not text.isdigit() or not 1 <= int(text) <= MAX_BATCH:
        raise ScopeError(f"RESPONDER_SWEEP_BATCH={text!r}: expected 1 to {MAX_BATCH} subscriptions")
    return int(text)


def sweep_run(pipeline: Any, settings: Any, connect: Any = None, env: Mapping[str, str] | None = None,
              sweep: SweepSettings | None = None) -> SweepReport:  # fmt: skip
    """One timer run: the next batches of the cycle through `pipeline`, a summary line logged."""
    from pipeline.azure import connector
    from telemetry.logs import log

    from .scheduled import sweep_scope

    sweep = sweep or SweepSettings.from_env(env)
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
    log(
        "sweep",
        level=logging.INFO if report.complete else logging.WARNING,
        source="graph",
        seconds=round(report.seconds, 1),
        cycle=run.cycle,
        batches=run.batches,
        subscriptions=stats.subscriptions,
        remaining=run.remaining,
        cycle_complete=run.cycle_complete,
        queries=sum(n for api, n in stats.reads.items() if api.startswith("graph-")),
        arm_reads=sum(n for api, n in stats.reads.items() if not api.startswith("graph-")),
        throttle_waits=stats.throttle_waits,
        machines=stats.machines,
        scale_sets=stats.resources["scale-set"],
        findings=sum(stats.findings.values()),
        decisions=",".join(f"{action}/{status}={n}" for (action, status), n in sorted(report.decisions.items())),
        problems=stats.problem_count + len(report.failures),
    )
    for problem in stats.problems + report.failures:
        log("sweep incomplete", level=logging.WARNING, problem=problem)
    return report
