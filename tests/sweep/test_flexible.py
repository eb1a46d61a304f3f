"""The sweep over a scale set in Flexible orchestration: no scale-set instance view, no scale-set
VM list (Azure's "Orchestration modes API comparison"); its VMs are read through the VM list
filtered on the set, and its findings are made from them."""

from __future__ import annotations

import pytest

from tests.sweep.conftest import found, make_sweeper

SUB = "00000000-0000-0000-0000-0000000000f2"
RG = "rg-flex"


@pytest.fixture
def flex_sim():
    from simulator import SimulatedAzure

    fleet = {
        "defaults": {"subscriptionId": SUB, "resourceGroup": RG},
        "scaleSets": [
            {"name": "flex-failed", "orchestrationMode": "Flexible", "capacity": 3,
             "automaticRepairsPolicy": {"enabled": True},
             "instances": [{"name": "flex-failed_0000aaaa", "provisioningState": "Failed",
                            "provisioningError": "OSProvisioningTimedOut"}]},
            {"name": "flex-probe", "orchestrationMode": "Flexible", "capacity": 2, "healthProbeBroken": True,
             "automaticRepairsPolicy": {"enabled": True}},
            {"name": "flex-off", "orchestrationMode": "Flexible", "capacity": 2},
        ],
    }  # fmt: skip
    with SimulatedAzure(fleet=fleet) as sim:
        yield sim


def test_flexible_sets_are_swept_through_their_vms(flex_sim):
    sweeper = make_sweeper(flex_sim, subscriptions=(SUB,))
    signals = list(sweeper)
    assert sweeper.stats.problems == []
    assert sweeper.stats.machines == 7  # each Flexible VM once, though two passes read it
    assert sweeper.stats.resources["flexible-scale-set-vm"] == 7
    assert found(signals) == {
        ("flex-failed", "InstanceProvisioningFailed"),
        ("flex-probe", "AllInstancesUnhealthy"),
        ("flex-off", "RepairsNotEnabled"),
    }
    failed = next(s for s in signals if s.name == "InstanceProvisioningFailed")
    assert failed.details["instance_ids"] == ["flex-failed_0000aaaa"]  # the VM's name: the set's batch delete takes it
    paths = [r.path.lower() for r in flex_sim.requests]
    assert not [p for p in paths if p.endswith("/instanceview") and "/virtualmachinescalesets/" in p]
    assert not [p for p in paths if p.endswith("/virtualmachines") and "/virtualmachinescalesets/" in p]
