"""What the simulated Azure says about who manages a machine, in Azure's shapes: ResourceGroups_Get
(managedBy and tags), a VM's managedBy, Spot priority and extensions (its `resources`), a scale
set's extensions and priority in its model; and the fleet file's mistakes in these fields."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from simulator import SimulatedAzure
from simulator.fleet import Fleet, FleetError

FLEET = Path(__file__).resolve().parents[1] / "actions" / "platform_fleet.json"
SUB = "00000000-0000-0000-0000-0000000a0b1c"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/analytics/providers/Microsoft.Databricks/workspaces/ws1"


@pytest.fixture(scope="module")
def get():
    with SimulatedAzure(fleet=FLEET) as sim:
        def get(path: str, api_version: str = "2021-04-01") -> requests.Response:
            return requests.get(f"{sim.base_url}{path}", params={"api-version": api_version},
                                headers={"Authorization": "Bearer sim"}, verify=sim.ca_bundle, timeout=10)
        yield get


@pytest.mark.parametrize("group,expected", [
    ("databricks-rg-ws1-q2w3e4", {
        "id": f"/subscriptions/{SUB}/resourceGroups/databricks-rg-ws1-q2w3e4", "name": "databricks-rg-ws1-q2w3e4",
        "type": "Microsoft.Resources/resourceGroups", "location": "westeurope", "managedBy": WORKSPACE,
        "tags": {"application": "databricks"}, "properties": {"provisioningState": "Succeeded"}}),
    # Listed without managedBy or tags: neither key is there, as ARM answers.
    ("rg-app", {"id": f"/subscriptions/{SUB}/resourceGroups/rg-app", "name": "rg-app", "type": "Microsoft.Resources/resourceGroups",
                "location": "northeurope", "tags": {"cost-center": "42"}, "properties": {"provisioningState": "Succeeded"}}),
])
def test_resource_groups_get(get, group, expected):
    answer = get(f"/subscriptions/{SUB}/resourcegroups/{group.upper()}")
    assert answer.status_code == 200 and answer.json() == expected


def test_a_group_only_its_resources_imply_has_no_managed_by_nor_tags():
    fleet = {"vms": [{"name": "vm1", "subscriptionId": SUB, "resourceGroup": "rg-implied", "location": "swedencentral"}]}
    with SimulatedAzure(fleet=fleet) as sim:
        answer = requests.get(f"{sim.base_url}/subscriptions/{SUB}/resourceGroups/rg-implied", params={"api-version": "2021-04-01"},
                              headers={"Authorization": "Bearer sim"}, verify=sim.ca_bundle, timeout=10)
    assert answer.json() == {"id": f"/subscriptions/{SUB}/resourceGroups/rg-implied", "name": "rg-implied",
                             "type": "Microsoft.Resources/resourceGroups", "location": "swedencentral",
                             "properties": {"provisioningState": "Succeeded"}}


@pytest.mark.parametrize("path,status,code", [
    (f"/subscriptions/{SUB}/resourcegroups/rg-gone", 404, "ResourceGroupNotFound"),
    ("/subscriptions/00000000-0000-0000-0000-00000000dead/resourcegroups/rg-app", 404, "SubscriptionNotFound"),
])
def test_a_missing_group_or_subscription(get, path, status, code):
    answer = get(path)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_a_vm_carries_its_manager_priority_and_extensions(get):
    body = get(f"/subscriptions/{SUB}/resourceGroups/databricks-rg-ws1-q2w3e4/providers/Microsoft.Compute/virtualMachines/worker-0101-abc-1",
               "2026-04-01").json()
    assert body["properties"]["priority"] == "Spot" and body["properties"]["evictionPolicy"] == "Deallocate"
    assert body["properties"]["billingProfile"] == {"maxPrice": -1}
    assert "managedBy" not in body and "resources" not in body
    app = get(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app", "2026-04-01").json()
    (ext,) = app["resources"]
    assert ext["type"] == "Microsoft.Compute/virtualMachines/extensions" and ext["id"].endswith("/extensions/AzureMonitorLinuxAgent")
    assert ext["properties"] == {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "typeHandlerVersion": "1.33",
                                 "autoUpgradeMinorVersion": True, "provisioningState": "Succeeded"}
    assert "priority" not in app["properties"]
    flex = get(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-flex-1", "2026-04-01").json()
    assert flex["managedBy"].endswith("/virtualMachineScaleSets/ss-flex")


def test_a_scale_set_model_carries_its_extensions_and_priority(get):
    body = get(f"/subscriptions/{SUB}/resourceGroups/rg-sf/providers/Microsoft.Compute/virtualMachineScaleSets/nt1vm", "2026-04-01").json()
    profile = body["properties"]["virtualMachineProfile"]
    assert [(e["properties"]["publisher"], e["properties"]["type"]) for e in profile["extensionProfile"]["extensions"]] == [
        ("Microsoft.ManagedServices", "ApplicationHealthLinux"), ("Microsoft.Azure.ServiceFabric", "ServiceFabricNode")]
    assert "priority" not in profile
    spot = get(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachineScaleSets/ss-web", "2026-04-01").json()
    assert (spot["properties"]["virtualMachineProfile"]["priority"], spot["properties"]["virtualMachineProfile"]["evictionPolicy"]) == ("Spot", "Delete")


BASE = {"subscriptionId": SUB, "resourceGroup": "rg"}


@pytest.mark.parametrize("doc,message", [
    ({"vms": [{**BASE, "name": "v", "priority": "Cheap"}]}, r"vms\[0\].priority: 'Cheap' is not one of \['Regular', 'Low', 'Spot'\]"),
    ({"vms": [{**BASE, "name": "v", "evictionPolicy": "Stop"}]}, r"vms\[0\].evictionPolicy: 'Stop' is not one of"),
    ({"vms": [{**BASE, "name": "v", "extensions": [{"type": "CustomScript"}]}]}, r"vms\[0\].extensions\[0\]: missing \['publisher'\]"),
    ({"scaleSets": [{**BASE, "name": "s", "extensions": {"publisher": "p"}}]}, r"scaleSets\[0\].extensions: a list of"),
    ({"scaleSets": [{**BASE, "name": "s", "extensions": [{"publisher": "p", "type": "t", "settings": {}}]}]},
     r"scaleSets\[0\].extensions\[0\]: unknown key\(s\) \['settings'\]"),
    ({"resourceGroups": [{"subscriptionId": SUB, "name": "g", "manager": "x"}]}, r"resourceGroups\[0\]: unknown key\(s\) \['manager'\]"),
    ({"resourceGroups": [{"subscriptionId": SUB}]}, r"resourceGroups\[0\]: missing \['name'\]"),
    ({"resourceGroups": [{"subscriptionId": SUB, "name": "g"}, {"subscriptionId": SUB, "name": "G"}]}, "is in the fleet twice"),
])
def test_mistakes_in_ownership_fields_fail_loudly(doc, message):
    with pytest.raises(FleetError, match=message):
        Fleet.from_dict(doc)
