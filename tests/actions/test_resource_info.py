"""read_resource against the simulated Azure: the facts ownership and the brakes are told from
(managedBy of the resource and of its group, the group's tags, the extensions, Spot priority),
read with the real SDK over HTTPS, for each kind of platform-managed machine and the owner's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.resource_info import READ_RESOURCE_GROUP, ResourceInfo, read_resource
from rules.ownership import Extension, platform_owner

FLEET = Path(__file__).with_name("platform_fleet.json")
SUB = "00000000-0000-0000-0000-0000000a0b1c"
AKS_GROUP, DBX_GROUP, SFMC_GROUP = "MC_prod_aks1_westeurope", "databricks-rg-ws1-q2w3e4", "SFC_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
AKS = f"/subscriptions/{SUB}/resourcegroups/prod/providers/Microsoft.ContainerService/managedClusters/aks1"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/analytics/providers/Microsoft.Databricks/workspaces/ws1"
SFMC = f"/subscriptions/{SUB}/resourceGroups/apps/providers/Microsoft.ServiceFabric/managedClusters/sfmc1"
FLEX = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachineScaleSets/ss-flex"
BATCH = f"/subscriptions/{SUB}/resourceGroups/batch/providers/Microsoft.Batch/batchAccounts/acct1"
HEALTH = Extension("Microsoft.ManagedServices", "ApplicationHealthLinux")  # every simulated scale set has one


def vm(group: str, name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}"


def scale_set(group: str, name: str, instance: str | None = None) -> str:
    base = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    return base if instance is None else f"{base}/virtualMachines/{instance}"


@pytest.fixture(scope="module")
def clients():
    from actions import AzureClients
    from pipeline.azure import LocalToken
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=FLEET, operation_delay=0.0) as sim:
        built = AzureClients(subscription_id=SUB, base_url=sim.base_url, connection_verify=sim.ca_bundle,
                             credential=LocalToken(), polling_interval=0)
        yield built
        built.close()


# (case, resource id, fields of ResourceInfo expected, what ownership says)
CASES = [
    ("aks node pool instance", scale_set(AKS_GROUP, "aks-nodepool1-12345678-vmss", "1"),
     dict(group_managed_by=AKS, group_tags={"aks-managed-cluster-name": "aks1", "aks-managed-cluster-rg": "prod"}, capacity=3,
          extensions=(HEALTH, Extension("Microsoft.Azure.Extensions", "CustomScript")), priority=None),
     f"managed by AKS: resource group {AKS_GROUP} is an AKS node resource group (MC_<group>_<cluster>_<region>)"),
    ("databricks worker on Spot", vm(DBX_GROUP, "worker-0101-abc-1"),
     dict(group_managed_by=WORKSPACE, group_tags={"application": "databricks"}, priority="Spot", eviction_policy="Deallocate",
          managed_by="", extensions=()),
     f"managed by Databricks: resource group {DBX_GROUP} is managed by {WORKSPACE}"),
    ("service fabric classic node type", scale_set("rg-sf", "nt1vm"),
     dict(group_managed_by="", group_tags={"team": "payments"},
          extensions=(HEALTH, Extension("Microsoft.Azure.ServiceFabric", "ServiceFabricNode"))),
     "managed by Service Fabric: it runs the Service Fabric node extension Microsoft.Azure.ServiceFabric/ServiceFabricNode"),
    ("service fabric managed cluster node", scale_set(SFMC_GROUP, "nt1", "0"),
     dict(group_managed_by=SFMC, extensions=(HEALTH, Extension("Microsoft.Azure.ServiceFabric.MC", "ServiceFabricMCNode"))),
     "managed by Service Fabric: it runs the Service Fabric node extension Microsoft.Azure.ServiceFabric.MC/ServiceFabricMCNode"),
    ("another manager on the VM", vm("rg-app", "batch-node-1"), dict(managed_by=BATCH, group_managed_by=""),
     f"managed by another resource: the resource is managed by {BATCH}"),
    # The owner's own: nothing manages them.
    ("owner's VM", vm("rg-app", "vm-app"),
     dict(managed_by="", group_managed_by="", group_tags={"cost-center": "42"}, location="northeurope", priority=None,
          extensions=(Extension("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),)), None),
    ("owner's Spot scale set", scale_set("rg-app", "ss-web"),
     dict(managed_by="", group_managed_by="", priority="Spot", eviction_policy="Delete", capacity=4, extensions=(HEALTH,)), None),
    ("a Flexible scale set's VM", vm("rg-app", "vm-flex-1"), dict(managed_by=FLEX, priority="Regular"), None),
]


@pytest.mark.parametrize("resource_id,expected,owner", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_read_resource_returns_what_ownership_is_told_from(clients, resource_id, expected, owner):
    info = read_resource(clients, resource_id)
    assert isinstance(info, ResourceInfo)
    assert {name: getattr(info, name) for name in expected} == expected
    assert platform_owner(info.owner_facts(resource_id)) == owner


def test_a_resource_group_that_is_gone_is_an_error_naming_it(clients):
    from actions.errors import AzureCallError

    with pytest.raises(AzureCallError, match="reading resource group rg-gone failed") as raised:
        read_resource(clients, vm("rg-gone", "vm-x"))
    assert raised.value.status == 404


def test_the_group_read_is_a_declared_permission():
    import actions

    assert READ_RESOURCE_GROUP == "Microsoft.Resources/subscriptions/resourceGroups/read"
    assert READ_RESOURCE_GROUP in actions.required_permissions()
