"""replace-failed-instance: delete the instances that failed provisioning, then restore capacity.

Automatic repairs do not touch instances that failed provisioning, and Azure's guidance is to
delete them and add new ones. Deleting instances lowers the scale set's capacity, so this is
two operations: POST delete {instanceIds}, then PATCH sku.capacity back to what it was before
(never lower). The token carries the step, the instance ids and the capacity to restore; a
poll that finds the delete done re-reads the capacity and only patches when it is still short,
so a repeated poll never scales twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arm import SCALE_SET, SCALE_SET_VM, ResourceId

from . import lro
from .base import Executor, utcnow
from .errors import ConditionGoneError
from .live_state import (
    READ_SCALE_SET,
    READ_SCALE_SET_VMS,
    READ_VMS,
    Instance,
    ScaleSet,
    read_instances,
    read_scale_set,
)
from .registry import registry
from .results import Operation, OperationStatus, Recovery, Verdict
from .statuses import provisioning_busy

DELETE = "delete"
RESIZE = "resize"


@registry.register
class ReplaceFailedInstance(Executor):
    name = "replace-failed-instance"
    applies_to = (SCALE_SET, SCALE_SET_VM)
    writes = {
        SCALE_SET: "Microsoft.Compute/virtualMachineScaleSets/delete/action",
        SCALE_SET_VM: "Microsoft.Compute/virtualMachineScaleSets/delete/action",
    }
    extra_writes = ("Microsoft.Compute/virtualMachineScaleSets/write",)  # the capacity PATCH
    reads = (READ_SCALE_SET, READ_SCALE_SET_VMS, READ_VMS)

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        verdict, _, _ = self._plan(clients, ref)
        return verdict

    def _plan(self, clients: Any, ref: ResourceId) -> tuple[Verdict, list[str], ScaleSet | None]:
        # The model first: a Flexible set's machines are VMs, listed and deleted by their names.
        ss = read_scale_set(clients, ref)
        instances = read_instances(clients, ref, flexible=ss.flexible)
        failed = [i.instance_id for i in instances if i.failed]
        facts: dict[str, Any] = {"instances": len(instances), "failed_instance_ids": failed,
                                 "orchestration_mode": ss.orchestration_mode}  # fmt: skip
        if len(failed) == len(instances) > 1:
            return Verdict(False, "every instance failed provisioning: the model (image, extension, quota) is "
                           "wrong and new instances would fail the same way; a person must fix it", facts), [], None
        if ref.provider_type == SCALE_SET_VM:
            mine = next((i for i in instances if i.instance_id == ref.instance_id), None)
            if mine is None:
                return Verdict(False, f"instance {ref.instance_id} no longer exists", facts), [], None
            if not mine.failed:
                return Verdict(False, f"no failed instances: instance {ref.instance_id} is "
                               f"{mine.provisioning_state}", facts), [], None
            failed = [mine.instance_id]
            facts["failed_instance_ids"] = failed
        if not failed:
            return Verdict(False, "no failed instances: none is in ProvisioningState/failed", facts), [], None
        facts["capacity"] = ss.capacity
        if provisioning_busy(ss.provisioning_state):
            return Verdict(False, f"the scale set is {ss.provisioning_state}: an operation is under way", facts), [], ss
        return Verdict(True, f"{len(failed)} failed instance(s) to replace: {', '.join(failed)}", facts), failed, ss

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        verdict, failed, ss = self._plan(clients, ref)
        if not verdict.holds or ss is None:
            raise ConditionGoneError(f"{self.name} on {ref.id}: {verdict.reason}")
        compute = clients.compute(ref.subscription)
        token = lro.start(
            compute.virtual_machine_scale_sets.begin_delete_instances,
            ref.resource_group, ref.scale_set_name, {"instanceIds": failed},
            what=f"deleting failed instances {failed} of {ref.scale_set_id}",
        )
        return {"step": DELETE, "lro": token, "instance_ids": failed, "capacity": ss.capacity, "flexible": ss.flexible}

    def _poll_step(self, clients: Any, ref: ResourceId, state: dict[str, Any], op: Operation) -> OperationStatus:
        compute = clients.compute(ref.subscription)
        ids = ", ".join(state["instance_ids"])
        if state["step"] == DELETE:
            result, message = lro.poll(
                compute.virtual_machine_scale_sets.begin_delete_instances, ref.resource_group, ref.scale_set_name, {},
                token=state["lro"], what=f"polling the delete of instances {ids}",
            )
            if result != "Succeeded":
                return OperationStatus(result, message or f"deleting failed instances {ids}")
            return self._restore(clients, ref, state)
        result, message = lro.poll(
            compute.virtual_machine_scale_sets.begin_update, ref.resource_group, ref.scale_set_name, {},
            token=state["lro"], what=f"polling the capacity update of {ref.scale_set_id}",
        )
        if result == "Succeeded":
            message = f"replaced failed instances {ids}; capacity back to {state['capacity']}"
        return OperationStatus(result, message or f"restoring capacity to {state['capacity']}")

    def _restore(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        """Second step: PATCH sku.capacity back, unless the live capacity is already there. The
        PATCH is a write of its own: this says it is wanted, and `proceed` sends it with the
        gate's permit (so a pause or a scope change since the delete holds it back)."""
        ids = ", ".join(state["instance_ids"])
        target = state.get("capacity")
        ss = read_scale_set(clients, ref)
        if target is None:
            return OperationStatus("Succeeded", f"deleted failed instances {ids}; capacity is {ss.capacity} "
                                   "(the capacity before is unknown: check it)")
        if ss.capacity >= target:
            return OperationStatus("Succeeded", f"deleted failed instances {ids}; capacity is {ss.capacity}")
        return OperationStatus("InProgress", f"deleted failed instances {ids}; capacity {ss.capacity} is below "
                               f"{target}: restoring it", wants_write=True)

    def _proceed(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        ids = ", ".join(state["instance_ids"])
        target = state.get("capacity")
        ss = read_scale_set(clients, ref)
        if target is None or ss.capacity >= target:  # restored meanwhile: never scale twice
            return OperationStatus("Succeeded", f"deleted failed instances {ids}; capacity is {ss.capacity}")
        compute = clients.compute(ref.subscription)
        token = lro.start(
            compute.virtual_machine_scale_sets.begin_update,
            ref.resource_group, ref.scale_set_name, {"sku": {"capacity": target}},
            what=f"restoring the capacity of {ref.scale_set_id} to {target}",
        )
        next_op = Operation(self.name, ref.id, self.encode({**state, "step": RESIZE, "lro": token}), utcnow())
        return OperationStatus("InProgress", f"deleted failed instances {ids}; restoring capacity from "
                               f"{ss.capacity} to {target}", next_op)

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        present = self._still_there(read_instances(clients, ref, flexible=state.get("flexible")), state["instance_ids"])
        if present:
            return OperationStatus("InProgress", f"instances {', '.join(i.instance_id for i in present)} still there")
        return self._restore(clients, ref, state)

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        ids = [str(i) for i in intent.get("failed_instance_ids") or []]
        capacity = intent.get("capacity")
        instances = read_instances(clients, ref)
        if not ids:  # no intent facts kept: judge by what is failed now
            failed = [i for i in instances if i.failed]
            if failed:
                return Recovery("not-started", f"instances {', '.join(i.instance_id for i in failed)} are still "
                                "failed", None, {"failed_instance_ids": [i.instance_id for i in failed]})
            return Recovery("done", "no failed instances remain (the capacity before is unknown: check it)")
        present = self._still_there(instances, ids)
        facts = {"failed_instance_ids": ids, "capacity": capacity, "still_there": [i.instance_id for i in present]}
        if any(i.provisioning_state.lower() == "deleting" for i in present):
            return Recovery("in-progress", "the failed instances are being deleted",
                            self.observing(ref, instance_ids=ids, capacity=capacity), facts)
        if present:
            return Recovery("not-started", f"instances {', '.join(i.instance_id for i in present)} are still there",
                            None, facts)
        ss = read_scale_set(clients, ref)
        facts["live_capacity"] = ss.capacity
        if capacity is None or ss.capacity >= capacity:
            return Recovery("done", f"the failed instances are gone and capacity is {ss.capacity}", None, facts)
        return Recovery("in-progress", f"the failed instances are gone; capacity {ss.capacity} is below "
                        f"{capacity}: polling this operation restores it",
                        self.observing(ref, instance_ids=ids, capacity=capacity), facts)

    @staticmethod
    def _still_there(instances: list[Instance], ids: list[str]) -> list[Instance]:
        wanted = set(ids)
        return [i for i in instances if i.instance_id in wanted]


