"""Scale-set findings from live state in the simulated Azure: one table of scale sets."""

from __future__ import annotations

import pytest

from .conftest import make_sweeper

SUB = "00000000-0000-0000-0000-0000000000c1"
ON = {"enabled": True, "gracePeriod": "PT30M"}

SCALE_SETS = [
    # name, spec, expected findings (in order), failed ids
    ("ss-running", {"automaticRepairsPolicy": ON}, [], None),
    ("ss-suspended", {"automaticRepairsPolicy": ON, "orchestrationServiceState": "Suspended",
                      "instances": [{"instanceId": "0", "healthState": "Unhealthy"}]}, ["RepairsSuspended"], None),
    ("ss-no-policy", {}, ["RepairsNotEnabled"], None),
    ("ss-disabled", {"automaticRepairsPolicy": {"enabled": False}}, ["RepairsNotEnabled"], None),
    ("ss-not-running", {"automaticRepairsPolicy": ON, "orchestrationServiceState": "NotRunning"}, ["RepairsNotRunning"], None),
    ("ss-no-service", {"automaticRepairsPolicy": ON, "orchestrationServiceState": None}, ["RepairsNotRunning"], None),
    ("ss-overdue", {"automaticRepairsPolicy": ON,
                    "instances": [{"instanceId": "2", "healthState": "Unhealthy", "stateChanged": "-45m"}]}, ["RepairsOverdue"], None),
    ("ss-probe-suspended", {"automaticRepairsPolicy": ON, "orchestrationServiceState": "Suspended",
                            "healthProbeBroken": True}, ["AllInstancesUnhealthy"], None),
    ("ss-probe-no-policy", {"instanceDefaults": {"healthState": "Unhealthy"}}, ["AllInstancesUnhealthy"], None),
    ("ss-half-unhealthy", {"automaticRepairsPolicy": ON,  # unhealthy 10 minutes, grace period 30: in it
                           "instances": [{"instanceId": "0", "healthState": "Unhealthy"}]}, [], None),
    ("ss-failed", {"automaticRepairsPolicy": ON, "instances": [
        {"instanceId": "11", "provisioningState": "Failed", "provisioningError": "OSProvisioningTimedOut"},
        {"instanceId": "3", "provisioningState": "Failed"}]}, ["InstanceProvisioningFailed"], ["3", "11"]),
    ("ss-failed-no-policy", {"instances": [{"instanceId": "1", "provisioningState": "Failed"}]},
     ["RepairsNotEnabled", "InstanceProvisioningFailed"], ["1"]),
    ("ss-empty", {"automaticRepairsPolicy": ON, "capacity": 0}, [], None),
]  # fmt: skip


@pytest.fixture(scope="module")
def swept():
    from simulator import SimulatedAzure

    fleet = {
        "defaults": {"subscriptionId": SUB, "resourceGroup": "rg-sets"},
        "scaleSets": [{"name": name, "capacity": spec.get("capacity", 4), **{k: v for k, v in spec.items() if k != "capacity"}}
                      for name, spec, _, _ in SCALE_SETS],
    }  # fmt: skip
    with SimulatedAzure(fleet=fleet) as sim:
        yield list(make_sweeper(sim, (SUB,)).signals())


@pytest.mark.parametrize(("name", "spec", "expected", "failed_ids"), SCALE_SETS, ids=[row[0] for row in SCALE_SETS])
def test_repair_findings(swept, name, spec, expected, failed_ids):
    mine = [s for s in swept if s.resource_id.endswith(f"/virtualMachineScaleSets/{name}")]
    assert [s.name for s in mine] == expected
    assert all(s.kind == "repair-state" for s in mine)
    for signal in mine:
        if signal.name == "InstanceProvisioningFailed":
            assert signal.details["instance_ids"] == failed_ids  # numeric order, as ARM numbers instances
            assert signal.delivery_key.endswith(":" + ",".join(failed_ids))


def test_repairs_suspended_keys_on_when_the_service_changed_state(swept):
    (suspended,) = [s for s in swept if s.resource_id.endswith("/ss-suspended")]
    assert suspended.occurred.isoformat() == suspended.details["repairs_state_changed"]
    assert suspended.delivery_key.endswith(suspended.details["repairs_state_changed"].lower())
