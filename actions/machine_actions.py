"""redeploy, restart and reimage: one POST on a VM or a scale-set VM, one family.

They answer the same condition (a running machine that Resource Health still shows
Unavailable or Degraded, or that still carries the annotation the signal named), differ only
in the POST they send, and are recovered the same way: ARM stamps the time an operation on a
machine ended on its ProvisioningState status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from arm import SCALE_SET_VM, VM, ResourceId

from . import lro
from .base import Executor
from .live_state import (
    READ_AVAILABILITY,
    READ_RESOURCE_GRAPH,
    READ_SCALE_SET_VM_INSTANCE_VIEW,
    READ_VM_INSTANCE_VIEW,
    Machine,
    annotation_active,
    read_availability,
    read_machine,
)
from .registry import registry
from .results import Operation, OperationStatus, Recovery, Verdict

# Power states in which a machine is not meant to run: acting would start a VM its owner stopped.
_NOT_RUNNING = {
    "deallocated": "it is deallocated",
    "deallocating": "it is being deallocated",
    "stopped": "it is stopped (powered off)",
    "stopping": "it is being stopped",
}
_UNHEALTHY = ("unavailable", "degraded")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def machine_facts(machine: Machine) -> dict[str, Any]:
    return {
        "power_state": machine.power_state,
        "provisioning_state": machine.provisioning_state,
        "provisioning_code": machine.provisioning_error,  # the <code> of ProvisioningState/failed/<code>
        "update_domain": machine.update_domain,
        "fault_domain": machine.fault_domain,
        "host": machine.host,
    }


APPLICATION_HEALTH = "application-health"


def _by_application_health(machine: Machine, facts: dict[str, Any]) -> Verdict:
    facts["application_health"] = machine.health
    if machine.health == "unhealthy":
        return Verdict(True, "the Application Health extension still reports it Unhealthy", facts)
    if machine.health is None:
        return Verdict(False, "not acting: it reports no application health (the Application Health extension is "
                       "what verifies this condition)", facts)
    return Verdict(False, f"already healthy: the Application Health extension reports it {machine.health}", facts)


class MachineAction(Executor):
    """A POST on one machine; subclasses name the SDK method."""

    applies_to = (VM, SCALE_SET_VM)
    reads = (READ_AVAILABILITY, READ_VM_INSTANCE_VIEW, READ_SCALE_SET_VM_INSTANCE_VIEW, READ_RESOURCE_GRAPH)
    # verify_by "application-health": the condition is what the VM's own application reports (the
    # Application Health extension), not Resource Health, which shows a VM that lost its network
    # datapath after a live migration as Available.
    defaults: ClassVar[dict[str, Any]] = {"signal_annotation": None, "verify_by": "resource-health"}
    method: ClassVar[str]  # begin_redeploy, begin_restart, begin_reimage
    # Whether a failed provisioning (ProvisioningState/failed/<code>) is itself the condition this
    # action answers: reimaging starts the machine again from its image, so it is; a redeploy or a
    # restart does not fix a failed extension or OS provisioning, so for them it is only a fact.
    answers_failed_provisioning: ClassVar[bool] = False

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        """Whether the machine can take the action now (its owner did not stop it, no operation
        is under way), with what the gate weighs as evidence of the signal's claim
        (rules/evidence.py): Resource Health's state and reason, whether the annotation is still
        active (Resource Graph), the provisioning state with its error code."""
        machine = read_machine(clients, ref)
        facts = machine_facts(machine)
        failed = machine.provisioning_failed and self.answers_failed_provisioning
        if machine.power_state in _NOT_RUNNING and not failed:
            return Verdict(False, f"not acting: {_NOT_RUNNING[machine.power_state]}; its owner stopped it", facts)
        if machine.busy:
            return Verdict(
                False, f"not acting: an operation is already under way on it ({machine.provisioning_text})", facts
            )
        if params.get("verify_by") == APPLICATION_HEALTH:
            return _by_application_health(machine, facts)
        health = read_availability(clients, ref)
        facts.update(availability_state=health.state, availability_summary=health.summary,
                     availability_reason_type=health.reason_type)
        annotation = params.get("signal_annotation")
        if annotation:
            # Only Resource Graph says which annotation is active; the availability status does not.
            active = annotation_active(clients, ref, annotation)
            facts["annotation_active"] = active is not None
            facts["annotation"] = active.name if active is not None else annotation
            if active is not None:
                facts["annotation_occurred"] = _iso(active.occurred)
                # Resource Health's own deadline and impact window, where the annotation carries them.
                for key in ("redeploy_deadline", "impact_start", "impact_end"):
                    if getattr(active, key) is not None:
                        facts[key] = _iso(getattr(active, key))
        if health.state.lower() == "unknown" and not failed and not facts.get("annotation_active"):
            return Verdict(False, "not acting: Resource Health does not know its state (Unknown)", facts)
        return Verdict(True, "", facts)

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        begin, args = self._begin(clients, ref)
        token = lro.start(begin, *args, what=f"{self.name} of {ref.id}")
        return {"step": self.name, "lro": token}

    def _poll_step(self, clients: Any, ref: ResourceId, state: dict[str, Any], op: Operation) -> OperationStatus:
        begin, args = self._begin(clients, ref)
        result, message = lro.poll(begin, *args, token=state["lro"], what=f"polling {self.name} of {ref.id}")
        return OperationStatus(result, message or f"{self.name} {result.lower()}")

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        machine = read_machine(clients, ref)
        if machine.busy:
            return OperationStatus("InProgress", f"{self.name} under way ({machine.provisioning_text})")
        if machine.provisioning_failed:
            return OperationStatus("Failed", f"{self.name}: the machine's provisioning state is {machine.provisioning_text}")
        return OperationStatus("Succeeded", f"{self.name} ended; the machine is {machine.power_state}")

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        machine = read_machine(clients, ref)
        facts = machine_facts(machine)
        facts["last_operation_ended"] = machine.provisioning_time.isoformat() if machine.provisioning_time else None
        if machine.busy:
            return Recovery("in-progress", f"an operation is under way on it ({machine.provisioning_text})",
                            self.observing(ref), facts)
        if machine.provisioning_time and machine.provisioning_time >= since:
            return Recovery("done", f"an operation on it ended at {machine.provisioning_time.isoformat()}, "
                            "after the intent was recorded", None, facts)
        before = intent.get("host")
        if before and machine.host and machine.host.lower() != before.lower():
            return Recovery("done", f"it moved from host {before} to {machine.host}", None, facts)
        return Recovery("not-started", "no operation on it since the intent was recorded", None, facts)

    def _begin(self, clients: Any, ref: ResourceId) -> tuple[Any, tuple]:
        compute = clients.compute(ref.subscription)
        if ref.provider_type == VM:
            return getattr(compute.virtual_machines, self.method), (ref.resource_group, ref.name)
        return getattr(compute.virtual_machine_scale_set_vms, self.method), (
            ref.resource_group, ref.scale_set_name, ref.instance_id)


@registry.register
class Redeploy(MachineAction):
    """Move the machine to another host and start it there (temporary-disk data is lost)."""

    name = "redeploy"
    method = "begin_redeploy"
    writes = {
        VM: "Microsoft.Compute/virtualMachines/redeploy/action",
        SCALE_SET_VM: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/redeploy/action",
    }


@registry.register
class Restart(MachineAction):
    """Restart the machine in place."""

    name = "restart"
    method = "begin_restart"
    writes = {
        VM: "Microsoft.Compute/virtualMachines/restart/action",
        SCALE_SET_VM: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action",
    }


@registry.register
class Reimage(MachineAction):
    """Rebuild the OS disk from the image; what was on it is lost.

    A VM's old OS disk is kept or deleted according to its deleteOption; an ephemeral OS disk
    is reset to its initial state.
    """

    name = "reimage"
    method = "begin_reimage"
    answers_failed_provisioning = True
    writes = {
        VM: "Microsoft.Compute/virtualMachines/reimage/action",
        SCALE_SET_VM: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action",
    }
