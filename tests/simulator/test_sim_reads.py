"""Reads through azure-mgmt-compute and azure-mgmt-resourcehealth over HTTPS: gets, instance
views, lists with statusOnly, $expand and paging, availability statuses, ARM errors."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from simulator import Fleet, SimulatedAzure

from .conftest import OTHER_SUB, RG, SUB, compute_client


def test_vm_get_with_instance_view(compute):
    vm = compute.virtual_machines.get(RG, "vm-degraded-hw", expand="instanceView")
    assert vm.name == "vm-degraded-hw" and vm.location == "westeurope"
    assert vm.id == f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-degraded-hw"
    codes = [s.code for s in vm.instance_view.statuses]
    assert codes == ["ProvisioningState/succeeded", "PowerState/running"]
    assert vm.tags["owner"] == "web-team@contoso.example"


def test_vm_instance_view_has_domains_and_open_maintenance_window(compute):
    view = compute.virtual_machines.instance_view(RG, "vm-maint-3")
    assert (view.platform_update_domain, view.platform_fault_domain) == (1, 0)
    m = view.maintenance_redeploy_status
    assert m.is_customer_initiated_maintenance_allowed is True
    assert m.pre_maintenance_window_start_time < m.pre_maintenance_window_end_time
    assert m.last_operation_result_code == "None"
    assert compute.virtual_machines.instance_view(RG, "vm-healthy-again").maintenance_redeploy_status is None


def test_vm_in_availability_set_and_deallocated_vm(compute):
    vm = compute.virtual_machines.get(RG, "vm-maint-avset")
    assert vm.availability_set.id.endswith("/availabilitySets/avset-demo")
    view = compute.virtual_machines.instance_view(RG, "vm-deallocated")
    assert view.statuses[1].code == "PowerState/deallocated"


def test_ids_are_case_insensitive(compute, sim):
    vm = compute.virtual_machines.get(RG.upper(), "VM-Accelnet")
    assert vm.name == "vm-accelnet"
    assert sim.fleet.get(vm.id.upper()) is sim.fleet.vm("vm-accelnet")


def test_list_all_status_only(compute):
    vms = list(compute.virtual_machines.list_all(status_only="true"))
    assert len(vms) == 11  # the demo subscription's; vm-out-of-scope and the vm-shop-* storm are in others
    by_name = {vm.name: vm for vm in vms}
    assert by_name["vm-deallocated"].instance_view.statuses[1].code == "PowerState/deallocated"
    assert by_name["vm-maint-1"].instance_view.maintenance_redeploy_status.is_customer_initiated_maintenance_allowed


def test_list_by_resource_group_and_other_subscription(sim, compute):
    assert len(list(compute.virtual_machines.list(RG))) == 11
    with compute_client(sim, OTHER_SUB) as other:
        assert [vm.name for vm in other.virtual_machines.list_all()] == ["vm-out-of-scope"]


def test_paging_through_next_link():
    fleet = Fleet.generate(vms=2_345, subscriptionId=SUB, resourceGroup="rg-bulk")
    with SimulatedAzure(fleet=fleet, page_size=500) as sim, compute_client(sim) as compute:
        names = [vm.name for vm in compute.virtual_machines.list_all(status_only="true")]
        assert len(names) == 2_345 and len(set(names)) == 2_345
        lists = [r for r in sim.requests if r.path.endswith("/virtualMachines")]
        assert len(lists) == 5
        assert all(r.query.get("statusOnly") == "true" for r in lists)
        assert [r.query.get("$skipToken") for r in lists] == [None, "500", "1000", "1500", "2000"]
        assert sim.counters["reads"] == 5


def test_scale_set_get_list_and_instance_view(compute):
    ss = compute.virtual_machine_scale_sets.get(RG, "vmss-web")
    assert ss.sku.capacity == 10
    assert ss.automatic_repairs_policy.enabled is True
    assert ss.automatic_repairs_policy.grace_period == "PT10M"
    assert sorted(s.name for s in compute.virtual_machine_scale_sets.list_all()) == [
        "vmss-api", "vmss-batch", "vmss-probe", "vmss-web",
    ]  # fmt: skip
    view = compute.virtual_machine_scale_sets.get_instance_view(RG, "vmss-web")
    assert [(o.service_name, o.service_state) for o in view.orchestration_services] == [("AutomaticRepairs", "Suspended")]
    summary = {s.code: s.count for s in view.virtual_machine.statuses_summary}
    assert summary["ProvisioningState/succeeded"] == 10 and summary["PowerState/running"] == 10
    batch = compute.virtual_machine_scale_sets.get(RG, "vmss-batch")
    assert batch.automatic_repairs_policy is None
    view = compute.virtual_machine_scale_sets.get_instance_view(RG, "vmss-batch")
    assert view.orchestration_services[0].service_state == "NotRunning"


def test_failed_instance_shows_in_summary_and_instance_view(compute):
    view = compute.virtual_machine_scale_sets.get_instance_view(RG, "vmss-api")
    summary = {s.code: s.count for s in view.virtual_machine.statuses_summary}
    assert summary["ProvisioningState/failed/VMExtensionProvisioningError"] == 1
    assert summary["ProvisioningState/succeeded"] == 3
    inst = compute.virtual_machine_scale_set_vms.get(RG, "vmss-api", "2", expand="instanceView")
    assert inst.provisioning_state == "Failed"
    assert inst.instance_view.statuses[0].code == "ProvisioningState/failed/VMExtensionProvisioningError"


def test_instance_list_with_instance_view(compute):
    instances = list(compute.virtual_machine_scale_set_vms.list(RG, "vmss-web", expand="instanceView"))
    assert [i.instance_id for i in instances] == [str(n) for n in range(10)]
    health = {i.instance_id: i.instance_view.vm_health.status.code for i in instances}
    assert health["7"] == "HealthState/unhealthy"
    assert sum(code == "HealthState/healthy" for code in health.values()) == 9
    plain = list(compute.virtual_machine_scale_set_vms.list(RG, "vmss-web"))
    assert all(i.instance_view is None for i in plain)


def test_instance_get_and_instance_view(compute):
    inst = compute.virtual_machine_scale_set_vms.get(RG, "vmss-probe", "3")
    assert inst.name == "vmss-probe_3" and inst.instance_id == "3" and inst.latest_model_applied
    view = compute.virtual_machine_scale_set_vms.get_instance_view(RG, "vmss-probe", "3")
    assert view.vm_health.status.code == "HealthState/unhealthy"
    assert (view.platform_update_domain, view.platform_fault_domain) == (3, 3)


def test_current_availability_status(sim, health):
    vm = sim.fleet.vm("vm-degraded-hw")
    for uri in (vm.id, vm.id.lstrip("/")):  # with or without the leading slash
        status = health.availability_statuses.get_by_resource(uri)
        assert status.name == "current"
        assert status.properties.availability_state == "Degraded"
        assert status.properties.title == "Degraded"  # Azure: the title is the state, never the annotation
        assert status.properties.occured_time is not None
        assert status.properties.recommended_actions
    assert health.availability_statuses.get_by_resource(
        sim.fleet.vm("vm-healthy-again").id
    ).properties.availability_state == "Available"
    inst = sim.fleet.instance("vmss-web", 7)
    assert health.availability_statuses.get_by_resource(inst.id).properties.availability_state == "Available"
    requests_ = [r for r in sim.requests if "availabilityStatuses" in r.path]
    assert {r.query["api-version"] for r in requests_} == {"2025-05-01"}


def test_availability_statuses_by_subscription(health):
    statuses = list(health.availability_statuses.list_by_subscription_id())
    assert len(statuses) == 15  # 11 VMs and 4 scale sets
    states = {s.id.split("/providers/Microsoft.ResourceHealth")[0].rsplit("/", 1)[1]: s.properties.availability_state for s in statuses}
    assert states["vm-host-crash"] == "Unavailable" and states["vm-accelnet"] == "Degraded"


def test_not_found_is_an_arm_404(sim, compute, health):
    with pytest.raises(ResourceNotFoundError) as err:
        compute.virtual_machines.get(RG, "vm-nope")
    assert err.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        compute.virtual_machines.get("rg-nope", "vm-accelnet")
    assert err.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machine_scale_set_vms.get(RG, "vmss-web", "99")
    with pytest.raises(ResourceNotFoundError):
        health.availability_statuses.get_by_resource(sim.fleet.vm("vm-accelnet").id + "-gone")
    with compute_client(sim, "11111111-1111-1111-1111-111111111111") as stranger:
        with pytest.raises(ResourceNotFoundError) as err:
            list(stranger.virtual_machines.list_all())
        assert err.value.error.code == "SubscriptionNotFound"


@pytest.mark.parametrize(
    "path,code",
    [
        (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-accelnet", "MissingApiVersionParameter"),
        (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm-accelnet?api-version=latest", "InvalidApiVersionParameter"),
        (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/g?api-version=2026-04-01", "NotFound"),
        ("/providers/Microsoft.Nothing?api-version=2026-04-01", "NotFound"),
    ],
)  # fmt: skip
def test_bad_requests_answer_arm_errors(sim, path, code):
    r = requests.get(sim.base_url + path, verify=sim.ca_bundle, timeout=10)
    assert r.status_code in (400, 404)
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


def test_errors_surface_through_the_sdk_as_http_response_errors(sim, compute):
    sim.faults.add(method="GET", path=r"/vm-accelnet$", kind="500", times=None)
    with pytest.raises(HttpResponseError) as err:
        compute.virtual_machines.get(RG, "vm-accelnet")
    assert err.value.status_code == 500


def test_reads_and_writes_are_counted(sim, compute):
    compute.virtual_machines.get(RG, "vm-accelnet")
    compute.virtual_machines.instance_view(RG, "vm-accelnet")
    compute.virtual_machines.begin_restart(RG, "vm-accelnet", polling_interval=0).result()
    assert sim.counters["reads"] == 2
    assert sim.counters["writes"] == 1
    assert sim.counters["polls"] >= 1
    entry = sim.requests[2]
    assert (entry.method, entry.status, entry.counter) == ("POST", 202, "writes")
    assert entry.path.endswith("/vm-accelnet/restart") and entry.query == {"api-version": "2026-04-01"}


def test_fifty_thousand_vms_page_through_next_link():
    fleet = Fleet.generate(vms=50_000, subscriptionId=SUB, resourceGroup="rg-bulk", degraded=100, maintenance=0.02)
    with SimulatedAzure(fleet=fleet) as sim, requests.Session() as http:
        url = f"{sim.base_url}/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"
        params: dict | None = {"api-version": "2026-04-01", "statusOnly": "true"}
        seen = with_maintenance = pages = 0
        while url:
            page = http.get(url, params=params, verify=sim.ca_bundle, timeout=30).json()
            pages += 1
            seen += len(page["value"])
            with_maintenance += sum("maintenanceRedeployStatus" in vm["properties"]["instanceView"] for vm in page["value"])
            url, params = page.get("nextLink"), None
        assert seen == 50_000 and with_maintenance == 1_000
        # one request per 1000-VM page (counted here: the server logs a request after answering it);
        # speed is bench/'s to measure
        assert pages == 50
