"""Every action against the bundled demo fleet: what a person running the demo will see."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_testbed import judged

from actions import AzureClients, registry

DEMO = Path(__file__).resolve().parents[2] / "responder" / "demo" / "fleet.json"
SUB = "00000000-0000-0000-0000-00000000d3e0"
P = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute"


@pytest.fixture(scope="module")
def demo():
    from pipeline.azure import LocalToken
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=str(DEMO), operation_delay=0.0) as sim:
        clients = AzureClients(subscription_id=SUB, base_url=sim.base_url, connection_verify=sim.ca_bundle,
                               credential=LocalToken(), polling_interval=0)  # fmt: skip
        yield clients
        clients.close()


@pytest.mark.parametrize(
    "action, resource, params, holds, reason",
    [
        ("redeploy", "virtualMachines/vm-degraded-hw", {}, True, "Degraded"),
        ("redeploy", "virtualMachines/vm-accelnet", {"signal_annotation": "AccelnetUnhealthy"}, True, "AccelnetUnhealthy is still active"),
        ("redeploy", "virtualMachines/vm-host-crash", {}, True, "Unavailable"),
        ("redeploy", "virtualMachines/vm-healthy-again", {"signal_annotation": "VirtualMachineHostCrashed"}, False,
         "already healthy"),
        ("restart", "virtualMachines/vm-deallocated", {}, False, "deallocated"),
        ("perform-maintenance", "virtualMachines/vm-maint-1", {}, True, "window open"),
        ("perform-maintenance", "virtualMachines/vm-maint-3", {}, True, "window open"),
        ("perform-maintenance", "virtualMachines/vm-maint-avset", {}, False, "availability sets"),
        ("perform-maintenance", "virtualMachines/vm-healthy-again", {}, False, "no maintenance is planned"),
        ("resume-automatic-repairs", "virtualMachineScaleSets/vmss-web", {}, True, "1 of 10"),
        ("resume-automatic-repairs", "virtualMachineScaleSets/vmss-probe", {}, False, "fix the health probe"),
        ("resume-automatic-repairs", "virtualMachineScaleSets/vmss-api", {}, False, "no longer Suspended"),
        ("resume-automatic-repairs", "virtualMachineScaleSets/vmss-batch", {}, False, "not enabled"),
        ("enable-automatic-repairs", "virtualMachineScaleSets/vmss-batch", {}, True, "not enabled"),
        ("enable-automatic-repairs", "virtualMachineScaleSets/vmss-web", {}, False, "already enabled"),
        ("replace-failed-instance", "virtualMachineScaleSets/vmss-api", {}, True, "to replace: 2"),
        ("replace-failed-instance", "virtualMachineScaleSets/vmss-web", {}, False, "no failed instances"),
    ],
)  # fmt: skip
def test_demo_verdicts(demo, action, resource, params, holds, reason):
    found, said, _facts = judged(registry.get(action), demo, f"{P}/{resource}", params)
    assert found is holds, said
    assert reason in said, said
