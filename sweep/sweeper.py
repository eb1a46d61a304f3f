"""The sweep: read the scope through ARM list APIs and turn what no event announced into signals.

Per subscription, in this order:
1. VMs with `statusOnly=true`: the instance views of every VM, a page at a time (planned
   maintenance and update domains);
2. Resource Health's current availability statuses, a page at a time (VMs Unavailable or Degraded);
3. scale sets, a page at a time, and for each one its instance view (repairs service state) and
   its instances with their instance views (health, failed provisioning, planned maintenance);
   for a set in Flexible orchestration (no instance view, no scale-set VM list) its VMs, through
   the VM list filtered on the set, with their instance views.

Signals are yielded as they are found, so a consumer (the pipeline) decides on the first while
the sweep is still reading; nothing of the fleet is kept beyond the page being read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from actions.statuses import HEALTH, PROVISIONING, find_status, status_code
from arm import SCALE_SET_VM, VM
from rules import Signal

from .arm_reads import ArmReads
from .availability import AvailabilityStatus, availability_signal
from .errors import ReadError
from .finding import text
from .maintenance import Maintenance, maintenance_signal
from .repairs import ScaleSetHealth, repair_signals
from .scope import Scope, resource_group_of
from .stats import SweepStats

if TYPE_CHECKING:  # types only
    from .datapath import Datapath
    from .graph_sweeper import RunReport
    from .holds import RepairHolds

AUTOMATIC_REPAIRS = "automaticrepairs"
FLEXIBLE = "flexible"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Sweeper:
    """`Sweeper(clients_for_subscription, scope, clock).signals()`: a lazy iterator of signals.

    `clients_for_subscription(subscription_id)` returns an `actions.AzureClients` (or anything
    with `compute(sub)` and `health(sub)`). `page_size`, when known, is the page size ARM serves
    (none of these lists can be asked for one); it only sets `stats.budget`, the reads the cost
    model allows, for reports to hold the reads made against. `progress(stats)` is called after
    every read.
    """

    # It reads each VM's application health (instance views), so it can find the datapath issue
    # after a live migration (sweep/datapath.py); a sweep that does not read it says so.
    reads_application_health = True

    def __init__(
        self,
        clients_for_subscription: Callable[[str], Any],
        scope: Scope,
        clock: Callable[[], datetime] = utc_now,
        page_size: int | None = None,
        progress: Callable[[SweepStats], None] | None = None,
        holds: RepairHolds | None = None,
        datapath: Datapath | None = None,
    ):
        self.clients_for_subscription = clients_for_subscription
        self.scope = scope
        self.clock = clock
        self.page_size = page_size
        self.progress = progress
        self.holds = holds  # sweep.holds.RepairHolds: a person's suspension is not resumed (sweep_into sets it)
        self.datapath = datapath  # sweep.datapath.Datapath: unhealthy soon after a live migration (sweep_into sets it)
        self.stats = SweepStats()
        self.run: RunReport | None = None  # a Resource Graph sweep's: cycle, batches, why it stopped

    def signals(self) -> Iterator[Signal]:
        self.stats = SweepStats()
        reads = ArmReads(self.stats, self.page_size, self.progress)
        now = self.clock()
        for subscription in self.scope.subscriptions:
            try:
                clients = self.clients_for_subscription(subscription)
                compute, health = clients.compute(subscription), clients.health(subscription)
            except (ValueError, ImportError) as exc:
                self.stats.problem(f"subscription {subscription}: no clients: {exc}")
                continue
            yield from self._guarded(self._virtual_machines(reads, subscription, compute, now))
            yield from self._guarded(self._availability(reads, subscription, health, now))
            yield from self._guarded(self._scale_sets(reads, subscription, compute, now))

    def __iter__(self) -> Iterator[Signal]:
        return self.signals()

    # -- VMs ------------------------------------------------------------------------------------

    def _virtual_machines(self, reads: ArmReads, subscription: str, compute: Any, now: datetime) -> Iterator[Signal]:
        paged = compute.virtual_machines.list_all(status_only="true")
        for page in reads.pages(f"listing the VMs of subscription {subscription}", "vm-list", paged):
            for vm in page:
                if not self._in_scope(str(vm.id or "")):
                    continue
                self.stats.resources["vm"] += 1
                view = vm.instance_view
                if view is None:
                    continue
                yield from self._found(self._maintenance(str(vm.id), VM, view, _availability_set(vm), now))
                if self.datapath is not None:
                    yield from self._found(self.datapath.check(str(vm.id), *_health(view), now))

    def _maintenance(self, resource_id: str, resource_type: str, view: Any, availability_set: str | None, now: datetime) -> Signal | None:
        maintenance = Maintenance.from_model(view.maintenance_redeploy_status)
        if maintenance is None:
            return None
        return maintenance_signal(
            resource_id,
            resource_type,
            maintenance,
            now,
            update_domain=view.platform_update_domain,
            fault_domain=view.platform_fault_domain,
            availability_set=availability_set,
        )

    # -- Resource Health ------------------------------------------------------------------------

    def _availability(self, reads: ArmReads, subscription: str, health: Any, now: datetime) -> Iterator[Signal]:
        paged = health.availability_statuses.list_by_subscription_id()
        what = f"listing the availability statuses of subscription {subscription}"
        for page in reads.pages(what, "availability-list", paged):
            for model in page:
                status = AvailabilityStatus.from_model(model)
                if status is None or not status.is_vm:
                    self.stats.skipped["availability of other resource types"] += 1
                    continue
                if not self._in_scope(status.resource_id, count=False):
                    continue
                if status.owner_initiated and status.state.lower() != "available":
                    self.stats.skipped["unavailable by its owner's request"] += 1
                    continue
                yield from self._found(availability_signal(status, now))

    # -- scale sets -----------------------------------------------------------------------------

    def _scale_sets(self, reads: ArmReads, subscription: str, compute: Any, now: datetime) -> Iterator[Signal]:
        paged = compute.virtual_machine_scale_sets.list_all()
        for page in reads.pages(f"listing the scale sets of subscription {subscription}", "scale-set-list", paged):
            for scale_set in page:
                if not self._in_scope(str(scale_set.id or "")):
                    continue
                self.stats.resources["scale-set"] += 1
                try:
                    yield from self._scale_set(reads, compute, scale_set, now)
                except ReadError as exc:
                    # Findings of a half-read scale set would be wrong (a partial count is not
                    # "every instance"); the set is left for the next sweep.
                    self.stats.problem(str(exc))

    def _scale_set(self, reads: ArmReads, compute: Any, scale_set: Any, now: datetime) -> Iterator[Signal]:
        group, name = resource_group_of(str(scale_set.id)), str(scale_set.name)
        policy = scale_set.automatic_repairs_policy
        health = ScaleSetHealth(
            resource_id=str(scale_set.id),
            policy_enabled=bool(policy and policy.enabled),
            grace_period=text(getattr(policy, "grace_period", None)) or None,
        )
        if text(getattr(scale_set, "orchestration_mode", None)).lower() == FLEXIBLE:
            health.flexible = True
            yield from self._flexible_scale_set(reads, compute, scale_set, health, now)
            return
        view = reads.get(
            f"reading the instance view of scale set {scale_set.id}",
            "scale-set-instance-view",
            lambda: compute.virtual_machine_scale_sets.get_instance_view(group, name),
        )
        for service in view.orchestration_services or []:
            if text(service.service_name).lower() == AUTOMATIC_REPAIRS:
                health.service_state = text(service.service_state) or None
                health.service_changed = service.last_status_change_time
        paged = compute.virtual_machine_scale_set_vms.list(group, name, expand="instanceView")
        for page in reads.pages(f"listing the instances of scale set {scale_set.id}", "instance-list", paged):
            for instance in page:
                self.stats.resources["scale-set-vm"] += 1
                view = _counted(health, str(instance.instance_id), instance)
                if view is not None:
                    yield from self._found(self._maintenance(str(instance.id), SCALE_SET_VM, view, None, now))
        hold = self.holds.held(health.resource_id) if self.holds is not None and health.service_state else None
        for signal in repair_signals(health, now, hold):
            yield from self._found(signal)

    def _flexible_scale_set(self, reads: ArmReads, compute: Any, scale_set: Any, health: ScaleSetHealth,
                            now: datetime) -> Iterator[Signal]:  # fmt: skip
        """A Flexible set has no instance view and no scale-set VM list: its VMs are listed by the
        VM list filtered on the set (with their instance views). Their planned maintenance is found
        by the subscription's VM list already; the repairs service state is not published for it."""
        group = resource_group_of(str(scale_set.id))
        paged = compute.virtual_machines.list(
            group, filter=f"'virtualMachineScaleSet/id' eq '{scale_set.id}'", expand="instanceView")
        for page in reads.pages(f"listing the VMs of Flexible scale set {scale_set.id}", "flexible-vm-list", paged):
            for vm in page:
                # Already a machine of the VM pass: counted apart, so `machines` counts it once.
                self.stats.resources["flexible-scale-set-vm"] += 1
                _counted(health, str(vm.name), vm)
        for signal in repair_signals(health, now):
            yield from self._found(signal)

    # -- plumbing -------------------------------------------------------------------------------

    def _guarded(self, signals: Iterator[Signal]) -> Iterator[Signal]:
        try:
            yield from signals
        except ReadError as exc:
            # What was read before the failure has been yielded; the rest of this list is unknown.
            self.stats.problem(str(exc))

    def _in_scope(self, resource_id: str, count: bool = True) -> bool:
        if self.scope.covers(resource_id):
            return True
        if count:
            self.stats.skipped["outside the resource-group scope"] += 1
        return False

    def _found(self, signal: Signal | None) -> Iterator[Signal]:
        if signal is not None:
            self.stats.findings[signal.name] += 1
            yield signal


def _counted(health: ScaleSetHealth, instance_id: str, machine: Any) -> Any:
    """Count one machine of a scale set (a Uniform instance or a Flexible set's VM) in its
    health: unhealthy, failed provisioning; its instance view, for the caller's maintenance."""
    view = machine.instance_view
    failed, failed_at = _failed_provisioning(machine, view)
    health_code, health_at = _health(view)
    health.count_instance(instance_id, health_code, health_at, failed, failed_at)
    return view


def _availability_set(vm: Any) -> str | None:
    # A statusOnly list carries no model, so this is known only when the list includes it.
    try:
        subresource = vm.availability_set
    except AttributeError:
        return None
    return getattr(subresource, "id", None) if subresource is not None else None


def _health(view: Any) -> tuple[str | None, datetime | None]:
    status = getattr(getattr(view, "vm_health", None), "status", None) if view is not None else None
    parsed = status_code(getattr(status, "code", None))
    if status is None or parsed is None or parsed.kind != HEALTH:  # no status: no code, so parsed is None too
        return None, None
    return parsed.state, status.time


def _failed_provisioning(instance: Any, view: Any) -> tuple[bool, datetime | None]:
    found, at = find_status(getattr(view, "statuses", None), PROVISIONING)
    model_state = text(instance.provisioning_state).lower()
    # The SDK's models parse a status's time (the wire JSON's text is read elsewhere).
    return (model_state == "failed" or bool(found and found.failed)), cast("datetime | None", at)
