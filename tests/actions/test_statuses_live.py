"""What follows from reading `ProvisioningState/failed/<code>` as failed, not as busy.

A failed extension on a VM that also sits on degraded hardware is redeployed; a scale-set
instance whose provisioning timed out can be reimaged; watching a machine whose provisioning
failed ends (Failed) instead of polling for ever. The last test serves Azure's published
instance view (VirtualMachine_Get_InstanceView, read in place) with the failed status Azure's
states-billing page shows, so the reading is checked against Azure's shape, not the simulator's.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC

from actions_testbed import judged, ssvm_id, vm_id

from actions import registry
from actions.base import OBSERVE


def test_failed_extension_on_degraded_hardware_is_redeployed(sim, clients):
    holds, said, facts = judged(registry.get("redeploy"), clients, vm_id("vm-failed-extension"), {})
    assert holds, said
    assert "Degraded" in said
    assert facts["provisioning_state"] == "failed"
    assert facts["provisioning_code"] == "VMExtensionProvisioningError"


def test_provisioning_timed_out_instance_can_be_reimaged(sim, clients):
    params = {"signal_annotation": "VirtualMachineProvisioningTimedOut"}
    holds, said, _facts = judged(registry.get("reimage"), clients, ssvm_id("ss-api", 2), params, category="provisioning")
    assert holds, said
    assert "provisioning state is failed/osprovisioningtimedout (evidence: provisioning-timed-out)" in said


def test_restart_does_not_take_a_failed_provisioning_as_its_condition(sim, clients):
    # Restarting does not fix a failed OS provisioning: without an unhealthy status it refuses.
    holds, said, _facts = judged(registry.get("restart"), clients, ssvm_id("ss-api", 2), {})
    assert not holds
    assert "already under way" not in said


def test_watching_a_failed_machine_ends(sim, clients):
    executor = registry.get("redeploy")
    op = executor.observing(executor.resolve(vm_id("vm-failed-extension")))
    assert executor.decode(op.token)["step"] == OBSERVE
    status = executor.poll(clients, op)
    assert status.state == "Failed"
    assert "VMExtensionProvisioningError" in status.message


def test_recovery_of_a_failed_machine_is_not_in_progress(sim, clients):
    from datetime import datetime

    recovery = registry.get("redeploy").recover(clients, vm_id("vm-failed-extension"), {}, datetime.now(UTC))
    assert recovery.state == "not-started", recovery.reason


def test_azure_published_instance_view_with_a_failed_code(sim, clients, shared_examples):
    example = json.loads((shared_examples / "VirtualMachine_Get_InstanceView.json").read_text(encoding="utf-8"))
    body = copy.deepcopy(example["responses"]["200"]["body"])
    # states-billing.md: a failed provisioning carries its error code after the state.
    body["statuses"] = [
        {"code": "ProvisioningState/failed/InternalOperationError", "level": "Error",
         "displayStatus": "Provisioning failed", "time": "2026-12-04T08:00:00+00:00"},
        {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"},
    ]  # fmt: skip
    body.pop("maintenanceRedeployStatus", None)
    sim.add_route("GET", r".*/virtualMachines/vm-degraded/instanceView", lambda request: body)
    holds, said, facts = judged(registry.get("redeploy"), clients, vm_id("vm-degraded"), {})
    assert holds, said
    assert facts["provisioning_code"] == "InternalOperationError"
