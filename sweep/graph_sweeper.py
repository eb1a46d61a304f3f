"""The sweep through Azure Resource Graph: a batch of subscriptions at a time, from a cursor, in
a time budget. The timer's sweep (sweep/cycle.py); docs/sweep.md says what it costs.

Per batch of subscriptions (one query each, followed through `$skipToken`):
1. HealthResources: VMs Unavailable or Degraded, and the annotations of those VMs (who started
   it: a VM its owner stopped is not a finding) -> availability findings, no ARM read;
2. MaintenanceResources: the machines with a maintenance update -> each one's instance view
   (one ARM GET) for its maintenance window -> maintenance findings;
3. Resources: the scale sets -> a set with automatic repairs enabled is read as the ARM sweep
   reads it (instance view and instances, or a Flexible set's VMs) -> repair findings; a set
   without repairs is RepairsNotEnabled from its row, no ARM read;
4. Resources: VMs counted per subscription (the machines covered).

Only what a row flags is read through ARM, so the cost is a handful of queries per batch plus
one GET per machine with maintenance planned and two per scale set with repairs enabled,
whatever the number of healthy VMs. After each batch the cursor in the ledger moves past its
subscriptions; the run stops when the budget would not hold another batch, or when the cycle
is done (at most one cycle per run, so a small tenant is swept once per run, as before).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from arm import SCALE_SET_VM, VM, ResourceId
from pipeline.settings import SWEEP_MAX_BATCH, SweepSettings
from rules import Signal
from rules.ports import SweepCursorStore

from . import graph_queries as q
from .arm_reads import ArmReads
from .availability import AvailabilityStatus, availability_signal
from .budget import Budget
from .cursor import SweepCursor
from .errors import ReadError
from .finding import text
from .graph_reads import GraphReads
from .maintenance import Maintenance
from .repairs import ScaleSetHealth, repair_signals
from .scope import Scope
from .stats import SweepStats
from .sweeper import FLEXIBLE, Sweeper, utc_now

DEFAULT_BATCH = SweepSettings.batch_size  # subscriptions a query names
MAX_BATCH = SWEEP_MAX_BATCH  # Resource Graph takes up to 1,000


@dataclass
class RunReport:
    """Where one run of the sweep went: the cycle, the batches and subscriptions swept, why it stopped."""

    cycle: int = 0
    cycle_started: datetime | None = None
    batches: int = 0
    swept: list[str] = field(default_factory=list)  # subscriptions, in the order swept
    cycle_complete: bool = False  # this run swept the cycle's last batch
    stopped_by_budget: bool = False  # subscriptions remained and the budget would not hold another batch
    remaining: int = 0  # subscriptions of the cycle left for the next runs
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle, "cycle_started": self.cycle_started.isoformat() if self.cycle_started else None,
            "batches": self.batches, "subscriptions_swept": len(self.swept), "cycle_complete": self.cycle_complete,
            "stopped_by_budget": self.stopped_by_budget, "remaining": self.remaining, "seconds": round(self.seconds, 3),
        }  # fmt: skip


class GraphSweeper(Sweeper):
    """`GraphSweeper(connect, scope, clock, ledger=...).signals()`: lazy, batch by batch.

    `connect(subscription_id)` returns an `actions.AzureClients` (its `graph()` answers the
    queries, `compute(sub)` the instance views). `ledger` keeps the cursor (`sweep_cursor`,
    `save_sweep_cursor`); `budget` bounds the run; `batch_size` subscriptions per query;
    `management_group`: query the group instead of naming subscriptions (one batch a cycle).
    """

    # The application health the datapath check needs is in instance views, which this sweep
    # reads only for a VM flagged for maintenance.
    reads_application_health = False

    def __init__(
        self,
        clients_for_subscription: Callable[[str], Any],
        scope: Scope,
        clock: Callable[[], datetime] = utc_now,
        *,
        ledger: SweepCursorStore | None = None,
        budget: Budget | None = None,
        batch_size: int = DEFAULT_BATCH,
        management_group: str | None = None,
        top: int | None = None,
        name: str = "graph",
        progress: Callable[[SweepStats], None] | None = None,
        holds: Any = None,
        sleep: Callable[[float], None] | None = None,
    ):
        super().__init__(clients_for_subscription, scope, clock, progress=progress, holds=holds)
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"a sweep batch is 1 to {MAX_BATCH} subscriptions, not {batch_size}")
        self.ledger = ledger
        self.budget = budget
        self.batch_size = batch_size
        self.management_group = management_group
        self.top = top
        self.name = f"{name}:{management_group}" if management_group else name
        self.sleep = sleep
        self.run: RunReport = RunReport()
        self.groups = q.groups_clause(scope.resource_groups_include, scope.resource_groups_exclude)

    def signals(self) -> Iterator[Signal]:
        self.stats, self.run = SweepStats(), RunReport()
        budget = self.budget or Budget()
        cursor = SweepCursor(self.ledger, self.name, self.clock)
        position = cursor.load()
        self.run.cycle, self.run.cycle_started = position.cycle, position.cycle_started
        subscriptions = (self.management_group,) if self.management_group else self.scope.subscriptions
        clients = self.clients_for_subscription(self.scope.subscriptions[0])
        graph = GraphReads(clients.graph(), self.stats, top=self.top, progress=self.progress, sleep=self.sleep or time.sleep)
        arm = ArmReads(self.stats, None, self.progress)
        while True:
            batch = cursor.batch(position, subscriptions, self.batch_size)
            if not batch:  # the scope shrank past the cursor: the cycle is over
                cursor.advance(position, (position.after or " ",), subscriptions)
                self.run.cycle_complete = True
                break
            budget.batch_started()
            yield from self._batch(graph, arm, batch)
            budget.batch_done()
            self.run.batches += 1
            self.run.swept += list(batch)
            if cursor.advance(position, batch, subscriptions):
                self.run.cycle_complete = True
                break
            if not budget.allows_another():
                self.run.stopped_by_budget = True
                break
        self.run.remaining = 0 if self.run.cycle_complete else sum(1 for s in subscriptions if s > position.after)
        self.run.seconds = budget.elapsed()

    # -- one batch ------------------------------------------------------------------------------

    def _batch(self, graph: GraphReads, arm: ArmReads, batch: tuple[str, ...]) -> Iterator[Signal]:
        now = self.clock()
        scope = {"management_group": self.management_group} if self.management_group else {"subscriptions": batch}
        self.stats.subscriptions += 0 if self.management_group else len(batch)
        yield from self._guarded(self._availability_rows(graph, scope, now))
        yield from self._guarded(self._maintenance_rows(graph, arm, scope, now))
        yield from self._guarded(self._scale_set_rows(graph, arm, scope, now))
        try:
            for page in graph.pages("counting the VMs", "graph-vm-count", q.vm_count(self.groups), **scope):
                for row in page:
                    self.stats.resources["vm"] += int(row.get("count_") or 0)
                    if self.management_group:
                        self.stats.subscriptions += 1
        except ReadError as exc:
            self.stats.problem(str(exc))

    def _availability_rows(self, graph: GraphReads, scope: dict[str, Any], now: datetime) -> Iterator[Signal]:
        from actions.live_state import parse_time

        statuses = []
        for page in graph.pages("reading VM availability in Resource Graph", "graph-availability", q.availability(self.groups), **scope):
            for row in page:
                props = row.get("properties") or {}
                resource_id = str(props.get("targetResourceId") or "")
                if not resource_id or not self.scope.covers(resource_id):
                    continue
                statuses.append((resource_id, str(props.get("availabilityState") or "Unknown"), parse_time(props.get("occurredTime"))))
        notes = self._annotations(graph, [rid for rid, _, _ in statuses], scope)
        for resource_id, state, occurred in statuses:
            note = notes.get(resource_id.lower(), {})
            status = AvailabilityStatus(
                resource_id=resource_id, state=state, occurred=occurred, summary=str(note.get("summary") or ""),
                title=state, context=str(note.get("context") or ""), reason_type="",  # a status field Resource Graph's row does not carry
                category=str(note.get("category") or ""),
            )  # fmt: skip
            if status.owner_initiated:
                self.stats.skipped["unavailable by its owner's request"] += 1
                continue
            signal = availability_signal(status, now)
            if signal is not None and note.get("annotationName"):
                signal = replace(signal, details={**signal.details, "annotation": str(note["annotationName"]),
                                                  "annotation_reason": str(note.get("reason") or "")})  # fmt: skip
            yield from self._found(signal)

    def _annotations(self, graph: GraphReads, targets: list[str], scope: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """target id (lower-cased) -> its annotation's properties, a few hundred targets a query."""
        notes: dict[str, dict[str, Any]] = {}
        for start in range(0, len(targets), q.TARGETS_PER_QUERY):
            chunk = targets[start : start + q.TARGETS_PER_QUERY]
            for page in graph.pages("reading VM annotations in Resource Graph", "graph-annotations", q.annotations_of(chunk), **scope):
                for row in page:
                    props = dict(row.get("properties") or {})
                    notes[str(props.get("targetResourceId") or "").lower()] = props
        return notes

    def _maintenance_rows(self, graph: GraphReads, arm: ArmReads, scope: dict[str, Any], now: datetime) -> Iterator[Signal]:
        flagged: dict[str, None] = {}
        for page in graph.pages("reading maintenance updates in Resource Graph", "graph-maintenance", q.maintenance(self.groups), **scope):
            for row in page:
                resource_id = str((row.get("properties") or {}).get("resourceId") or "")
                if _machine(resource_id) and self.scope.covers(resource_id):
                    flagged.setdefault(resource_id, None)
        for resource_id in flagged:
            try:
                yield from self._maintenance_of(arm, resource_id, now)
            except ReadError as exc:  # one machine's view: the others are still read
                self.stats.problem(str(exc))

    def _maintenance_of(self, arm: ArmReads, resource_id: str, now: datetime) -> Iterator[Signal]:
        ref = ResourceId.parse(resource_id)
        group = str(ref.resource_group)
        compute = self.clients_for_subscription(ref.subscription).compute(ref.subscription)
        if ref.is_vm:
            view = arm.get(f"reading the instance view of {resource_id}", "vm-instance-view",
                           lambda: compute.virtual_machines.instance_view(group, ref.name))  # fmt: skip
            kind = VM
        else:
            view = arm.get(f"reading the instance view of {resource_id}", "instance-instance-view",
                           lambda: compute.virtual_machine_scale_set_vms.get_instance_view(group, ref.scale_set_name, ref.instance_id))  # fmt: skip
            kind = SCALE_SET_VM
        self.stats.resources["maintenance-flagged"] += 1
        if Maintenance.from_model(view.maintenance_redeploy_status) is not None:
            yield from self._found(self._maintenance(resource_id, kind, view, None, now))

    def _scale_set_rows(self, graph: GraphReads, arm: ArmReads, scope: dict[str, Any], now: datetime) -> Iterator[Signal]:
        for page in graph.pages("reading scale sets in Resource Graph", "graph-scale-sets", q.scale_sets(self.groups), **scope):
            for row in page:
                scale_set = _scale_set_model(row)
                if not self.scope.covers(str(scale_set.id)):
                    continue
                self.stats.resources["scale-set"] += 1
                if not (scale_set.automatic_repairs_policy and scale_set.automatic_repairs_policy.enabled):
                    # Not repaired by the platform: said from the row, no ARM read.
                    health = ScaleSetHealth(resource_id=str(scale_set.id), policy_enabled=False,
                                            flexible=text(scale_set.orchestration_mode).lower() == FLEXIBLE)  # fmt: skip
                    for signal in repair_signals(health, now):
                        yield from self._found(signal)
                    continue
                subscription = str(row.get("subscriptionId") or ResourceId.parse(str(scale_set.id)).subscription)
                try:
                    compute = self.clients_for_subscription(subscription).compute(subscription)
                    yield from self._scale_set(arm, compute, scale_set, now)
                except ReadError as exc:
                    self.stats.problem(str(exc))


def _machine(resource_id: str) -> str | None:
    """VM or SCALE_SET_VM for a machine's id, None for anything else (an extension resource too)."""
    ref = ResourceId.try_parse(resource_id)
    if ref is None or ref.scope is not None:
        return None
    return VM if ref.is_vm else SCALE_SET_VM if ref.is_instance else None


def _scale_set_model(row: dict[str, Any]) -> Any:
    """What the ARM sweep reads of a scale set's model, from its Resources row."""
    props = row.get("properties") or {}
    policy = props.get("automaticRepairsPolicy")
    return SimpleNamespace(
        id=str(row.get("id") or ""),
        name=str(row.get("name") or ""),
        automatic_repairs_policy=SimpleNamespace(enabled=bool(policy.get("enabled")), grace_period=policy.get("gracePeriod"))
        if isinstance(policy, dict) else None,
        orchestration_mode=props.get("orchestrationMode"),
    )  # fmt: skip
