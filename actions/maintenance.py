"""perform-maintenance: start planned maintenance now, inside the self-service window.

Azure's guidance: only when the instance view says customer-initiated maintenance is allowed
and now is inside the pre-maintenance (self-service) window; not for VMs in an availability
set (Azure already updates those one update domain at a time). Waves over update domains are
the pipeline's brakes; the verdict reports the update domain for them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from arm import SCALE_SET_VM, VM, ResourceId

from . import lro
from .auto_shutdown import READ_SCHEDULES, read_auto_shutdown
from .base import Executor
from .errors import AzureCallError, ConditionGoneError, OutcomeUnknownError
from .live_state import (
    READ_SCALE_SET_VM_INSTANCE_VIEW,
    READ_VM_INSTANCE_VIEW,
    Machine,
    read_machine,
)
from .lro import azure_errors
from .machine_actions import machine_facts
from .registry import registry
from .results import Operation, OperationStatus, Recovery, Verdict

READ_VM = "Microsoft.Compute/virtualMachines/read"
COMPLETED = "maintenancecompleted"
# Not running: Azure refuses performMaintenance on a deallocated VM (409 OperationNotAllowed), and
# a stopped one is not in use; neither joins a wave.
NOT_RUNNING = ("deallocated", "deallocating", "stopped", "stopping")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def maintenance_facts(machine: Machine) -> dict[str, Any]:
    facts = machine_facts(machine)
    m = machine.maintenance
    if m:
        facts.update(
            maintenance_allowed=m.allowed,
            window_start=_iso(m.window_start),
            window_end=_iso(m.window_end),
            azure_window_start=_iso(m.azure_window_start),
            azure_window_end=_iso(m.azure_window_end),
            last_result=m.last_result,
        )
    return facts


@registry.register
class PerformMaintenance(Executor):
    """POST performMaintenance on a VM or a scale-set VM."""

    name = "perform-maintenance"
    applies_to = (VM, SCALE_SET_VM)
    writes = {
        VM: "Microsoft.Compute/virtualMachines/performMaintenance/action",
        SCALE_SET_VM: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/performMaintenance/action",
    }
    reads = (READ_VM, READ_VM_INSTANCE_VIEW, READ_SCALE_SET_VM_INSTANCE_VIEW, READ_SCHEDULES)
    defaults: ClassVar[dict[str, Any]] = {"now": None, "availability_set_allowed": False}

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        now = self.now(params)
        machine = read_machine(clients, ref)
        facts = maintenance_facts(machine)
        m = machine.maintenance
        if m is None:
            return Verdict(False, "no maintenance is planned for it (or it is already done)", facts)
        if (m.last_result or "").lower() == COMPLETED:
            return Verdict(False, "maintenance already done (MaintenanceCompleted)", facts)
        if not m.allowed:
            return Verdict(False, "maintenance not allowed: Azure does not let the customer start it "
                           "(isCustomerInitiatedMaintenanceAllowed is false)", facts)
        if m.window_start and now < m.window_start:
            return Verdict(False, f"self-service window not open yet: it opens at {m.window_start.isoformat()}", facts)
        if m.window_end and now > m.window_end:
            return Verdict(False, f"self-service window closed at {m.window_end.isoformat()}; Azure maintains it "
                           f"in its own window from {_iso(m.azure_window_start)}", facts)
        if not m.window_open(now):
            return Verdict(False, "self-service window not open: the instance view gives no window", facts)
        if machine.power_state in NOT_RUNNING:
            return Verdict(False, f"it is {machine.power_state}: Azure refuses maintenance on a VM that is not running "
                           "(409 OperationNotAllowed); it is left to Azure's own maintenance", facts)
        if machine.busy:
            return Verdict(False, f"an operation is already under way on it ({machine.provisioning_text})", facts)
        if ref.provider_type == VM:
            shutdown = read_auto_shutdown(clients, ref)
            if shutdown is not None:
                facts["auto_shutdown"] = f"{shutdown.time} {shutdown.time_zone}"
                return Verdict(False, f"it is shut down {shutdown.describe()}: a VM stopped every night is not "
                               "self-served; it is left to Azure's own maintenance", facts)
            availability_set = self._availability_set(clients, ref)
            facts["availability_set"] = availability_set
            if availability_set and not params.get("availability_set_allowed"):
                return Verdict(False, "not for availability sets: Azure already maintains an availability set one "
                               "update domain at a time", facts)
        return Verdict(True, f"self-service window open until {_iso(m.window_end)}", facts)

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        begin, args = self._begin(clients, ref)
        try:
            return {"step": "maintenance", "lro": lro.start(begin, *args, what=f"maintenance of {ref.id}")}
        except AzureCallError as exc:
            # Azure refused this machine's request (409 OperationNotAllowed: deallocated since it
            # was verified, no longer eligible, outside its window): nothing was started and
            # nothing changed on it. That is this member's answer, not a failure of maintenance:
            # a wave skips it with Azure's words and goes on with the others. (A 409 Conflict,
            # another operation under way, is not this: it is left to the caller as before.)
            if exc.status == 409 and (exc.code or "").lower() == "operationnotallowed" and not isinstance(exc, OutcomeUnknownError):
                raise ConditionGoneError(f"Azure refused maintenance of {ref.scale_set_name or ref.name}: {exc}") from exc
            raise

    def _poll_step(self, clients: Any, ref: ResourceId, state: dict[str, Any], op: Operation) -> OperationStatus:
        begin, args = self._begin(clients, ref)
        result, message = lro.poll(begin, *args, token=state["lro"], what=f"polling maintenance of {ref.id}")
        return OperationStatus(result, message or f"maintenance {result.lower()}")

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        machine = read_machine(clients, ref)
        if machine.busy:
            return OperationStatus("InProgress", f"maintenance under way ({machine.provisioning_text})")
        m = machine.maintenance
        if m is None or (m.last_result or "").lower() == COMPLETED:
            return OperationStatus("Succeeded", "maintenance completed")
        return OperationStatus("Failed", f"maintenance did not complete: {m.last_result} {m.last_message or ''}".strip())

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        machine = read_machine(clients, ref)
        facts = maintenance_facts(machine)
        if machine.busy:
            return Recovery("in-progress", f"an operation is under way on it ({machine.provisioning_text})",
                            self.observing(ref), facts)
        m = machine.maintenance
        if m is not None and (m.last_result or "").lower() == COMPLETED:
            return Recovery("done", "maintenance completed (MaintenanceCompleted)", None, facts)
        if m is None and machine.provisioning_time and machine.provisioning_time >= since:
            return Recovery("done", "no maintenance is pending any more and an operation on it ended at "
                            f"{machine.provisioning_time.isoformat()}", None, facts)
        if m is None:
            return Recovery("done", "no maintenance is pending any more: nothing to start", None, facts)
        return Recovery("not-started", "maintenance is still pending and nothing ran since the intent", None, facts)

    def _availability_set(self, clients: Any, ref: ResourceId) -> str | None:
        compute = clients.compute(ref.subscription)
        with azure_errors(f"reading VM {ref.id}", write=False):
            model = compute.virtual_machines.get(ref.resource_group, ref.name)
        props = (model.as_dict() or {}).get("properties") or {}
        return ((props.get("availabilitySet") or {}).get("id")) or None

    def _begin(self, clients: Any, ref: ResourceId) -> tuple[Any, tuple]:
        compute = clients.compute(ref.subscription)
        if ref.provider_type == VM:
            return compute.virtual_machines.begin_perform_maintenance, (ref.resource_group, ref.name)
        return compute.virtual_machine_scale_set_vms.begin_perform_maintenance, (
            ref.resource_group, ref.scale_set_name, ref.instance_id)
