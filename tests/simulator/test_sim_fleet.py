"""The fleet: the file format, relative times, case-insensitive ids, bulk generation, the demo fleet."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from simulator import Fleet
from simulator.fleet import FleetError, resolve_time

from .conftest import DEMO_FLEET, OTHER_SUB, RG, SUB

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("-1h", "2026-11-20T08:00:00.000000Z"),
        ("+2d", "2026-11-22T09:00:00.000000Z"),
        ("+30m", "2026-11-20T09:30:00.000000Z"),
        ("-90s", "2026-11-20T08:58:30.000000Z"),
        ("now", "2026-11-20T09:00:00.000000Z"),
        ("now+1w", "2026-11-27T09:00:00.000000Z"),
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        (None, None),
    ],
)
def test_relative_times(value, expected):
    assert resolve_time(value, NOW) == expected


def test_minimal_fleet_with_defaults():
    fleet = Fleet.from_dict(
        {
            "defaults": {"subscriptionId": SUB, "resourceGroup": RG},
            "vms": [{"name": "a"}, {"name": "b", "resourceGroup": "rg-b", "annotation": "AccelnetUnhealthy",
                                    "availabilityState": "degraded"}],
            "scaleSets": [{"name": "ss", "capacity": 3}],
        }
    )  # fmt: skip
    a, b = fleet.vm("a"), fleet.vm("b")
    assert (a.resource_group, a.location, a.power_state, a.availability_state) == (RG, "westeurope", "running", "Available")
    assert b.id == f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/b"
    assert b.annotation["name"] == "AccelnetUnhealthy" and b.annotation["occurredTime"].endswith("Z")
    assert b.availability_state == "Degraded"  # states are matched case-insensitively
    assert sorted(fleet.scale_set("ss").instances) == ["0", "1", "2"]
    assert SUB.lower() in fleet.subscriptions


def test_lookups_are_case_insensitive():
    fleet = Fleet.load(DEMO_FLEET)
    vm = fleet.vm("vm-accelnet")
    assert fleet.get(vm.id.upper()) is vm
    assert fleet.get(vm.id.lower() + "/") is vm
    assert fleet.vm("VM-ACCELNET") is vm
    assert fleet.vm(vm.id.swapcase()) is vm
    inst = fleet.instance("vmss-web", 7)
    assert fleet.get(inst.id.upper()) is inst
    assert inst.id.endswith("/virtualMachineScaleSets/vmss-web/virtualMachines/7")
    assert fleet.get(fleet.scale_set("vmss-web").id.lower()) is fleet.scale_set("vmss-web")
    with pytest.raises(KeyError):
        fleet.vm("vm-nope")


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"vms": [{"name": "x", "subscriptionId": SUB, "resourceGroup": RG, "powerstate": "running"}]}, "unknown key"),
        ({"vms": [{"name": "x", "subscriptionId": SUB}]}, "missing"),
        ({"vms": [{"name": "x", "subscriptionId": SUB, "resourceGroup": RG, "availabilityState": "Sick"}]}, "not one of"),
        ({"scaleSets": [{"name": "s", "subscriptionId": SUB, "resourceGroup": RG, "capacity": 1,
                         "instances": [{"instanceId": "0"}, {"instanceId": "1"}]}]}, "capacity"),
        ({"scaleSets": [{"name": "s", "subscriptionId": SUB, "resourceGroup": RG,
                         "orchestrationServiceState": "Paused"}]}, "not one of"),
        ({"vms": [{"name": "x", "subscriptionId": SUB, "resourceGroup": RG, "maintenance": {"windowStart": "-1h"}}]},
         "unknown key"),
        ({"vms": [{"name": "x", "subscriptionId": SUB, "resourceGroup": RG}] * 2}, "twice"),
        ({"virtualMachines": []}, "unknown key"),
    ],
)  # fmt: skip
def test_mistakes_in_a_fleet_file_fail_loudly(doc, message):
    with pytest.raises(FleetError, match=message):
        Fleet.from_dict(doc)


def test_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "fleet.json"
    path.write_text("{nope")
    with pytest.raises(FleetError, match="not valid JSON"):
        Fleet.load(path)


def test_generate_in_bulk():
    fleet = Fleet.generate(vms=10_000, subscriptionId=SUB, resourceGroup="rg-bench", resourceGroups=4,
                           degraded=25, maintenance=0.01, deallocated=10, seed=7)  # fmt: skip
    vms = fleet.vms
    assert len(vms) == 10_000 and len({vm.id.lower() for vm in vms}) == 10_000
    assert sum(vm.availability_state == "Degraded" for vm in vms) == 25
    assert all(vm.annotation for vm in vms if vm.availability_state == "Degraded")
    assert sum(bool(vm.maintenance) for vm in vms) == 100
    assert sum(vm.power_state == "deallocated" for vm in vms) == 10
    assert {vm.resource_group for vm in vms} == {f"rg-bench-{k}" for k in range(4)}
    assert len(fleet.vms_in(SUB, "RG-BENCH-2")) == 2_500
    again = Fleet.generate(vms=10_000, subscriptionId=SUB, degraded=25, seed=7)
    assert [vm.name for vm in again.vms if vm.annotation] == [vm.name for vm in vms if vm.annotation]


def test_generate_from_the_fleet_file_next_to_named_vms():
    fleet = Fleet.from_dict(
        {
            "defaults": {"subscriptionId": SUB, "resourceGroup": RG},
            "vms": [{"name": "vm-special", "availabilityState": "Unavailable"}],
            "generate": [{"vms": 500, "prefix": "vm-bulk-", "unavailable": 5}],
        }
    )
    assert len(fleet.vms) == 501
    assert fleet.vm("vm-bulk-000499").resource_group == RG
    assert sum(vm.availability_state == "Unavailable" for vm in fleet.vms) == 6


STORM_SUB = "00000000-0000-0000-0000-00000000c0de"  # the demo's storm: twelve shop VMs down at once


def test_the_demo_fleet_has_its_actors():
    fleet = Fleet.load(DEMO_FLEET)
    doc = json.loads(DEMO_FLEET.read_text())
    assert {s["subscriptionId"] for s in doc["subscriptions"]} == {SUB, OTHER_SUB, STORM_SUB}
    assert fleet.vm("vm-approve").tags["responder-mode"] == "approve"
    shop = fleet.vms_in(STORM_SUB)
    assert len(shop) == 12 and all(vm.availability_state == "Unavailable" and vm.location == "northeurope" for vm in shop)

    def state(name):
        vm = fleet.vm(name)
        return vm.availability_state, (vm.annotation or {}).get("name")

    assert state("vm-degraded-hw") == ("Degraded", "VirtualMachinePossiblyDegradedDueToHardwareFailure")
    assert state("vm-accelnet") == ("Degraded", "AccelnetUnhealthy")
    assert state("vm-host-crash") == ("Unavailable", "VirtualMachineHostCrashed")
    assert state("vm-user-restart")[0] == "Available"
    assert fleet.vm("vm-user-restart").annotation["context"] == "Customer Initiated"
    assert state("vm-healthy-again") == ("Available", None)
    now = dt.datetime.now(dt.UTC)
    for name, ud in (("vm-maint-1", 0), ("vm-maint-2", 0), ("vm-maint-3", 1), ("vm-maint-avset", 0)):
        vm = fleet.vm(name)
        m = vm.maintenance
        assert m["isCustomerInitiatedMaintenanceAllowed"] is True and vm.update_domain == ud
        start = dt.datetime.fromisoformat(m["preMaintenanceWindowStartTime"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(m["preMaintenanceWindowEndTime"].replace("Z", "+00:00"))
        assert start < now < end  # the window is open whenever the fleet is loaded
    assert fleet.vm("vm-maint-avset").availability_set == "avset-demo"
    assert all(fleet.vm(n).availability_set is None for n in ("vm-maint-1", "vm-maint-2", "vm-maint-3"))
    assert fleet.vm("vm-deallocated").power_state == "deallocated"
    assert fleet.vm("vm-out-of-scope").subscription_id == OTHER_SUB

    web = fleet.scale_set("vmss-web")
    assert (web.capacity, web.orchestration_state, web.automatic_repairs_policy["enabled"]) == (10, "Suspended", True)
    assert [i.instance_id for i in web.instances.values() if i.health_state != "Healthy"] == ["7"]
    api = fleet.scale_set("vmss-api")
    assert (api.capacity, api.orchestration_state) == (4, "Running")
    assert [i.instance_id for i in api.instances.values() if i.provisioning_state == "Failed"] == ["2"]
    batch = fleet.scale_set("vmss-batch")
    assert batch.automatic_repairs_policy is None and batch.orchestration_state == "NotRunning"
    probe = fleet.scale_set("vmss-probe")
    assert probe.capacity == 5 and probe.orchestration_state == "Suspended"
    assert all(i.health_state == "Unhealthy" for i in probe.instances.values())
