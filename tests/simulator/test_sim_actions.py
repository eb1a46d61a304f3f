"""Every action through the real SDK's begin_* pollers: each reaches Succeeded and changes the
fleet as Azure would; failed operations, throttling, drops, conflicts and slow operations."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceResponseError

from simulator import SimulatedAzure

from .conftest import DEMO_FLEET, RG, compute_client

OPEN_WINDOW = {
    "isCustomerInitiatedMaintenanceAllowed": True,
    "preMaintenanceWindowStartTime": "-1h",
    "preMaintenanceWindowEndTime": "+2d",
    "maintenanceWindowStartTime": "+2d",
    "maintenanceWindowEndTime": "+3d",
    "lastOperationResultCode": "None",
}


def fleet_doc() -> dict[str, Any]:
    """The demo fleet plus a scale set whose instance 1 has a maintenance window open."""
    doc = json.loads(DEMO_FLEET.read_text())
    doc["scaleSets"].append(
        {"name": "vmss-maint", "capacity": 3, "instances": [{"instanceId": "1", "maintenance": OPEN_WINDOW}]}
    )
    return doc


@pytest.fixture
def sim():
    with SimulatedAzure(fleet=fleet_doc()) as azure:
        yield azure


@pytest.fixture
def compute(sim):
    with compute_client(sim) as client:
        yield client


def _vm(sim, name):
    return sim.fleet.vm(name)


def _inst(sim, ss, iid):
    return sim.fleet.instance(ss, iid)


def check_redeployed(before: dict, res) -> None:
    assert res.host_id != before["host_id"]
    assert (res.availability_state, res.annotation, res.power_state) == ("Available", None, "running")
    assert res.provisioning_state == "Succeeded"


def check_running_available(before: dict, res) -> None:
    assert (res.availability_state, res.power_state, res.provisioning_state) == ("Available", "running", "Succeeded")


def check_maintained(before: dict, res) -> None:
    assert res.maintenance["lastOperationResultCode"] == "MaintenanceCompleted"
    assert res.maintenance["isCustomerInitiatedMaintenanceAllowed"] is False
    assert res.host_id != before["host_id"]


VM_CASES = [
    ("begin_redeploy", "vm-degraded-hw", check_redeployed),
    ("begin_redeploy", "vm-accelnet", check_redeployed),
    ("begin_restart", "vm-host-crash", check_running_available),
    ("begin_reimage", "vm-accelnet", check_running_available),
    ("begin_perform_maintenance", "vm-maint-1", check_maintained),
]


@pytest.mark.parametrize("method,name,check", VM_CASES, ids=[f"{m}-{n}" for m, n, _ in VM_CASES])
def test_vm_actions_succeed_and_change_the_fleet(sim, compute, method, name, check: Callable):
    before = {"host_id": _vm(sim, name).host_id}
    poller = getattr(compute.virtual_machines, method)(RG, name, polling_interval=0)
    assert poller.result() is None
    assert poller.status() == "Succeeded"
    check(before, _vm(sim, name))
    post = [r for r in sim.requests if r.method == "POST"]
    assert len(post) == 1 and post[0].status == 202
    assert [h["change"] for h in sim.fleet.history] == [method.removeprefix("begin_").replace("perform_maintenance", "performMaintenance")]


INSTANCE_CASES = [
    ("begin_redeploy", "vmss-web", "7", check_redeployed),
    ("begin_restart", "vmss-web", "7", check_running_available),
    ("begin_reimage", "vmss-api", "2", check_running_available),
    ("begin_perform_maintenance", "vmss-maint", "1", check_maintained),
]


@pytest.mark.parametrize("method,ss,iid,check", INSTANCE_CASES, ids=[f"{m}-{s}-{i}" for m, s, i, _ in INSTANCE_CASES])
def test_instance_actions_succeed_and_change_the_fleet(sim, compute, method, ss, iid, check: Callable):
    before = {"host_id": _inst(sim, ss, iid).host_id}
    getattr(compute.virtual_machine_scale_set_vms, method)(RG, ss, iid, polling_interval=0).result()
    inst = _inst(sim, ss, iid)
    check(before, inst)
    assert inst.health_state in ("Healthy", "Unknown")
    if ss == "vmss-web":
        assert inst.health_state == "Healthy"
        view = compute.virtual_machine_scale_set_vms.get_instance_view(RG, ss, iid)
        assert view.vm_health.status.code == "HealthState/healthy"
    if ss == "vmss-api":
        assert inst.provisioning_state == "Succeeded" and inst.provisioning_error is None


def test_restart_cannot_heal_instances_behind_a_broken_probe(sim, compute):
    compute.virtual_machine_scale_set_vms.begin_restart(RG, "vmss-probe", "0", polling_interval=0).result()
    assert _inst(sim, "vmss-probe", "0").health_state == "Unhealthy"


def test_resume_automatic_repairs(sim, compute):
    compute.virtual_machine_scale_sets.begin_set_orchestration_service_state(
        RG, "vmss-web", {"serviceName": "AutomaticRepairs", "action": "Resume"}, polling_interval=0
    ).result()
    assert sim.fleet.scale_set("vmss-web").orchestration_state == "Running"
    view = compute.virtual_machine_scale_sets.get_instance_view(RG, "vmss-web")
    assert view.orchestration_services[0].service_state == "Running"
    body = [r.body for r in sim.requests if r.method == "POST"][0]
    assert body == {"serviceName": "AutomaticRepairs", "action": "Resume"}


def test_resume_refused_when_repairs_are_not_enabled(sim, compute):
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machine_scale_sets.begin_set_orchestration_service_state(
            RG, "vmss-batch", {"serviceName": "AutomaticRepairs", "action": "Resume"}, polling_interval=0
        )
    assert err.value.status_code == 409 and err.value.error.code == "OperationNotAllowed"


def test_enable_automatic_repairs_with_patch(sim, compute):
    result = compute.virtual_machine_scale_sets.begin_update(
        RG, "vmss-batch", {"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"}}},
        polling_interval=0,
    ).result()  # fmt: skip
    assert result.automatic_repairs_policy.enabled is True
    assert result.automatic_repairs_policy.grace_period == "PT30M"
    ss = sim.fleet.scale_set("vmss-batch")
    assert ss.orchestration_state == "Running" and ss.provisioning_state == "Succeeded"
    patch = [r for r in sim.requests if r.method == "PATCH"][0]
    assert patch.status == 200 and patch.body["properties"]["automaticRepairsPolicy"]["enabled"] is True


def test_invalid_grace_period_is_refused(compute):
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machine_scale_sets.begin_update(
            RG, "vmss-batch", {"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT5M"}}}
        )
    assert err.value.status_code == 400


def test_replace_a_failed_instance_delete_then_capacity_back(sim, compute):
    compute.virtual_machine_scale_sets.begin_delete_instances(
        RG, "vmss-api", {"instanceIds": ["2"]}, polling_interval=0
    ).result()
    ss = sim.fleet.scale_set("vmss-api")
    assert sorted(ss.instances) == ["0", "1", "3"] and ss.capacity == 3
    assert compute.virtual_machine_scale_sets.get(RG, "vmss-api").sku.capacity == 3
    result = compute.virtual_machine_scale_sets.begin_update(
        RG, "vmss-api", {"sku": {"capacity": 4}}, polling_interval=0
    ).result()
    assert result.sku.capacity == 4
    assert sorted(ss.instances, key=int) == ["0", "1", "3", "4"]  # a new instance id, never a reused one
    new = ss.instances["4"]
    assert (new.provisioning_state, new.health_state, new.power_state) == ("Succeeded", "Healthy", "running")
    view = compute.virtual_machine_scale_sets.get_instance_view(RG, "vmss-api")
    assert {s.code: s.count for s in view.virtual_machine.statuses_summary}["ProvisioningState/succeeded"] == 4


def test_delete_unknown_instance_is_refused(compute):
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machine_scale_sets.begin_delete_instances(RG, "vmss-api", {"instanceIds": ["42"]})
    assert err.value.status_code == 400


def test_maintenance_refused_without_an_open_window(sim, compute):
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.begin_perform_maintenance(RG, "vm-healthy-again")
    assert err.value.status_code == 409 and err.value.error.code == "OperationNotAllowed"
    sim.fleet.vm("vm-maint-2").maintenance["preMaintenanceWindowEndTime"] = "2000-01-01T00:00:00Z"
    with pytest.raises(HttpResponseError):
        compute.virtual_machines.begin_perform_maintenance(RG, "vm-maint-2")


def test_restart_of_a_deallocated_vm_is_refused(compute):
    with pytest.raises(ResourceExistsError) as err:  # the SDK maps 409 to ResourceExistsError
        compute.virtual_machines.begin_restart(RG, "vm-deallocated")
    assert err.value.error.code == "OperationNotAllowed"


# -- failures --------------------------------------------------------------------------------


def test_failed_operation_surfaces_as_an_error_and_changes_nothing(sim, compute):
    sim.faults.add(method="POST", path=r"/redeploy$", kind="fail-operation", times=1, code="AllocationFailed",
                   message="Allocation failed (simulated).")  # fmt: skip
    host = _vm(sim, "vm-degraded-hw").host_id
    poller = compute.virtual_machines.begin_redeploy(RG, "vm-degraded-hw", polling_interval=0)
    with pytest.raises(HttpResponseError) as err:
        poller.result()
    assert "AllocationFailed" in str(err.value)
    assert poller.status() == "Failed"
    vm = _vm(sim, "vm-degraded-hw")
    assert (vm.availability_state, vm.host_id, vm.provisioning_state) == ("Degraded", host, "Succeeded")
    # the fault is used up: the next redeploy works
    compute.virtual_machines.begin_redeploy(RG, "vm-degraded-hw", polling_interval=0).result()
    assert _vm(sim, "vm-degraded-hw").availability_state == "Available"


def test_failed_operation_status_has_an_error_object(sim, compute):
    import requests

    sim.faults.add(method="POST", path=r"/performMaintenance$", kind="fail-operation")
    compute.virtual_machines.begin_perform_maintenance(RG, "vm-maint-1", polling=detached())
    assert [r.status for r in sim.requests if r.method == "POST"] == [202]
    body = requests.get(_async_url(sim), verify=sim.ca_bundle, timeout=10).json()
    assert body["status"] == "Failed"
    assert set(body["error"]) >= {"code", "message"}
    assert body["error"]["code"] == "InternalOperationError"
    location = requests.get(_async_url(sim) + "&monitor=true", verify=sim.ca_bundle, timeout=10)
    assert location.status_code >= 400 and location.json()["error"]["code"] == "InternalOperationError"
    m = _vm(sim, "vm-maint-1").maintenance  # Azure marks a failed customer-started maintenance
    assert m["lastOperationResultCode"] == "MaintenanceAborted"
    assert m["isCustomerInitiatedMaintenanceAllowed"] is True


def detached():
    """An ARMPolling whose run does nothing: the initial request only, as a Functions app does."""
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    class Detached(ARMPolling):
        def run(self) -> None:
            return None

    return Detached(0)


def _async_url(sim) -> str:
    op = list(sim.operations)[-1]  # the log keeps no answer headers: build the URL from the operation
    return (
        f"{sim.base_url}/subscriptions/{op.subscription_id}/providers/Microsoft.Compute/locations/{op.location}"
        f"/operations/{op.id}?api-version=2026-04-01"
    )


def test_throttled_then_retried_by_the_sdk(sim, compute):
    sim.faults.add(method="POST", path=r"/redeploy$", kind="429", times=1, retry_after=1)
    started = time.monotonic()
    compute.virtual_machines.begin_redeploy(RG, "vm-accelnet", polling_interval=0).result()
    assert time.monotonic() - started >= 1  # Retry-After was honoured
    posts = [r.status for r in sim.requests if r.method == "POST"]
    assert posts == [429, 202]
    assert _vm(sim, "vm-accelnet").availability_state == "Available"


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_on_reads_are_retried(sim, compute, kind):
    sim.faults.add(method="GET", path=r"/instanceView$", kind=kind, times=2, retry_after=0)
    view = compute.virtual_machines.instance_view(RG, "vm-accelnet")
    assert view.statuses
    assert [r.status for r in sim.requests] == [int(kind), int(kind), 200]


def test_dropped_connection_on_a_read_is_retried(sim, compute):
    sim.faults.add(method="GET", path=r"/vm-accelnet$", kind="drop", times=1)
    assert compute.virtual_machines.get(RG, "vm-accelnet").name == "vm-accelnet"
    assert [r.status for r in sim.requests] == [None, 200]


def test_dropped_connection_on_an_action_surfaces(sim, compute):
    sim.faults.add(method="POST", path=r"/redeploy$", kind="drop", times=1)
    with pytest.raises(ServiceResponseError):
        compute.virtual_machines.begin_redeploy(RG, "vm-accelnet", polling_interval=0)
    assert _vm(sim, "vm-accelnet").availability_state == "Degraded"  # the request never reached ARM's handler


def test_slow_answer(sim, compute):
    sim.faults.add(method="GET", path=r"/vm-accelnet$", kind="slow", delay=0.5)
    started = time.monotonic()
    compute.virtual_machines.get(RG, "vm-accelnet")
    assert time.monotonic() - started >= 0.5


# -- time ------------------------------------------------------------------------------------


def test_operations_take_their_delay_and_conflict_meanwhile(sim, compute):
    sim.operation_delay = 0.6
    poller = compute.virtual_machines.begin_redeploy(RG, "vm-degraded-hw", polling_interval=0.05)
    assert poller.status() == "InProgress"
    assert _vm(sim, "vm-degraded-hw").provisioning_state == "Updating"
    with pytest.raises(ResourceExistsError) as err:  # 409: one operation at a time on a VM
        compute.virtual_machines.begin_restart(RG, "vm-degraded-hw")
    assert err.value.error.code == "Conflict"
    started = time.monotonic()
    poller.result()
    assert time.monotonic() - started > 0.3
    assert _vm(sim, "vm-degraded-hw").availability_state == "Available"
    polls = [r for r in sim.requests if r.counter == "polls"]
    assert len(polls) > 2


def test_finish_operations_completes_pending_ones(sim, compute):
    sim.operation_delay = 60
    tokens = []
    for name in ("vm-degraded-hw", "vm-accelnet"):
        poller = compute.virtual_machines.begin_redeploy(RG, name, polling=detached())
        tokens.append(poller.continuation_token())
    assert len(sim.operations.pending) == 2
    assert sim.finish_operations() == 2
    for token in tokens:  # a detached poller resumed from its token sees the end
        compute.virtual_machines.begin_redeploy(RG, "ignored", continuation_token=token, polling_interval=0).result()
    assert _vm(sim, "vm-accelnet").availability_state == "Available"


def test_background_thread_finishes_operations_without_polls(sim, compute):
    sim.operation_delay = {"restart": 0.2, "*": 60}
    compute.virtual_machines.begin_restart(RG, "vm-host-crash", polling=detached())
    deadline = time.monotonic() + 5
    while _vm(sim, "vm-host-crash").availability_state != "Available" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _vm(sim, "vm-host-crash").availability_state == "Available"


def test_location_polling_answers_202_then_204(sim, compute):
    import requests

    sim.operation_delay = 60
    compute.virtual_machines.begin_redeploy(RG, "vm-accelnet", polling=detached())
    url = _async_url(sim) + "&monitor=true"
    r = requests.get(url, verify=sim.ca_bundle, timeout=10)
    assert r.status_code == 202 and "Retry-After" in r.headers and "Location" in r.headers
    body = requests.get(_async_url(sim), verify=sim.ca_bundle, timeout=10).json()
    assert body["status"] == "InProgress" and "startTime" in body
    sim.finish_operations()
    assert requests.get(url, verify=sim.ca_bundle, timeout=10).status_code == 204
    body = requests.get(_async_url(sim), verify=sim.ca_bundle, timeout=10).json()
    assert body["status"] == "Succeeded" and "endTime" in body


def test_fleet_document_is_not_mutated():
    doc = fleet_doc()
    kept = copy.deepcopy(doc)
    with SimulatedAzure(fleet=doc) as sim, compute_client(sim) as compute:
        compute.virtual_machines.begin_redeploy(RG, "vm-degraded-hw", polling_interval=0).result()
    assert doc == kept


def test_a_canceled_operation_surfaces_as_an_error(sim, compute):
    sim.operation_delay = 60
    poller = compute.virtual_machines.begin_redeploy(RG, "vm-degraded-hw", polling=detached())
    token = poller.continuation_token()
    op = sim.operations.pending[0]
    sim.operations.cancel(op.id)
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.begin_redeploy(RG, "x", continuation_token=token, polling_interval=0).result()
    assert "Canceled" in str(err.value) or "OperationCanceled" in str(err.value)
    assert (_vm(sim, "vm-degraded-hw").availability_state, _vm(sim, "vm-degraded-hw").provisioning_state) == (
        "Degraded", "Succeeded")
