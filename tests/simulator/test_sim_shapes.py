"""The simulator's answers have the shapes of ARM's own examples in ../shared/azure-examples.

Each example names its operation's parameters; the request is made with the example's
api-version against a demo resource, and the key paths of the answer are compared with the
example's. What the simulator leaves out, or adds, is listed here, each with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from .conftest import RG, SUB

BASE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"

# example file -> (method, path, body parameter name or None,
#                  example paths the sim does not model, sim paths beyond the example)
BODY_CASES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "VirtualMachine_Get_InstanceView.json": (
        "GET",
        f"{BASE}/virtualMachines/vm-maint-1/instanceView",
        # boot diagnostics, extensions, patching and standby pools: nothing the responder reads
        ("vmAgent.extensionHandlers", "bootDiagnostics", "extensions", "patchStatus", "isVMInStandbyPool",
         "capacityReservationType"),
        ("maintenanceRedeployStatus",),  # present when maintenance is planned (AZURE-FACTS.md)
    ),
    "VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json": (
        "GET",
        f"{BASE}/virtualMachineScaleSets/vmss-web/virtualMachines/7/instanceView",
        ("rdpThumbPrint", "vmAgent.extensionHandlers", "disks[].encryptionSettings", "extensions",
         "assignedHost",  # dedicated hosts only
         "bootDiagnostics", "statuses[].message", "disks[].statuses[].message"),
        # fields of VirtualMachineScaleSetVMInstanceView the example leaves out: the application
        # health (vmHealth) is what automatic repairs act on
        ("computerName", "osName", "osVersion", "vmHealth", "maintenanceRedeployStatus", "vmAgent.statuses[].message",
         "disks[].statuses[].time", "statuses[].time"),
    ),
    "VirtualMachineScaleSet_GetInstanceView_MaximumSet_Gen.json": (
        "GET",
        f"{BASE}/virtualMachineScaleSets/vmss-web/instanceView",
        ("orchestrationServices[].latestOperationStatus",  # AutomaticZoneRebalancing only
         "statuses[].message"),
        (),
    ),
    "VirtualMachineScaleSet_Create_WithAutomaticRepairs.json": (
        "GET",
        f"{BASE}/virtualMachineScaleSets/vmss-web",
        ("properties.virtualMachineProfile.networkProfile", "properties.scheduledEventsPolicy",
         "properties.virtualMachineProfile.osProfile.secrets",
         "properties.virtualMachineProfile.osProfile.windowsConfiguration"),
        ("tags", "properties.virtualMachineProfile.extensionProfile",  # the application health extension
         "properties.orchestrationMode", "properties.timeCreated",
         "properties.automaticRepairsPolicy.repairAction"),
    ),
}  # fmt: skip

# example file -> (method, path, body) of an action answered 202 with a Location header
ACCEPTED_CASES: dict[str, tuple[str, str, Any]] = {
    "VirtualMachine_Redeploy_MaximumSet_Gen.json": ("POST", f"{BASE}/virtualMachines/vm-degraded-hw/redeploy", None),
    "VirtualMachine_Restart_MinimumSet_Gen.json": ("POST", f"{BASE}/virtualMachines/vm-host-crash/restart", None),
    "VirtualMachine_Reimage.json": ("POST", f"{BASE}/virtualMachines/vm-accelnet/reimage", "parameters"),
    "VirtualMachine_PerformMaintenance_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachines/vm-maint-1/performMaintenance", None),
    "VirtualMachineScaleSetVM_Redeploy_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachineScaleSets/vmss-web/virtualMachines/7/redeploy", None),
    "VirtualMachineScaleSetVM_Reimage_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachineScaleSets/vmss-api/virtualMachines/2/reimage", "vmScaleSetVMReimageInput"),
    "VirtualMachineScaleSetVM_Delete_Force.json": ("DELETE", f"{BASE}/virtualMachineScaleSets/vmss-api/virtualMachines/2", None),
    "VirtualMachineScaleSet_SetOrchestrationServiceState_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachineScaleSets/vmss-web/setOrchestrationServiceState", "parameters"),
    "VirtualMachineScaleSet_DeleteInstances_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachineScaleSets/vmss-api/delete", "vmInstanceIDs"),
    "VirtualMachineScaleSet_PerformMaintenance_MaximumSet_Gen.json": (
        "POST", f"{BASE}/virtualMachineScaleSets/vmss-web/performMaintenance", "vmInstanceIDs"),
}  # fmt: skip


def key_paths(value: Any, prefix: str = "") -> dict[str, type | None]:
    """Every key path in a JSON value ("a.b[].c"), with the JSON type at it (None: null)."""
    out: dict[str, type | None] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            out[p] = _kind(v)
            out.update(key_paths(v, p))
    elif isinstance(value, list):
        for item in value:
            for p, t in key_paths(item, prefix + "[]").items():
                out[p] = out.get(p) or t
    return out


def _kind(v: Any) -> type | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return bool
    if isinstance(v, (int, float)):
        return float
    return type(v)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[]") for p in prefixes)


def compare(example: Any, answer: Any, not_modelled: tuple[str, ...], extra: tuple[str, ...]) -> None:
    ex, got = key_paths(example), key_paths(answer)
    missing = sorted(p for p in ex.keys() - got.keys() if not _under(p, not_modelled))
    added = sorted(p for p in got.keys() - ex.keys() if not _under(p, extra))
    clashes = sorted(p for p in ex.keys() & got.keys() if ex[p] and got[p] and ex[p] is not got[p])
    assert not missing, f"the simulator's answer lacks {missing}"
    assert not added, f"the simulator's answer has keys the example has not: {added}"
    assert not clashes, f"JSON types differ at {clashes}"


def _load(shared_examples, name: str) -> dict[str, Any]:
    return json.loads((shared_examples / name).read_text())


def _call(sim, method: str, path: str, example: dict[str, Any], body_param: str | None = None):
    version = example["parameters"]["api-version"]
    body = example["parameters"].get(body_param) if body_param else None
    if body_param == "vmInstanceIDs":
        body = {"instanceIds": ["7"] if "vmss-web" in path else ["2"]}
    params = {"api-version": version}
    if "forceDeletion" in example["parameters"]:
        params["forceDeletion"] = str(example["parameters"]["forceDeletion"]).lower()
    return requests.request(method, sim.base_url + path, params=params, json=body, verify=sim.ca_bundle, timeout=10)


@pytest.mark.parametrize("name", sorted(BODY_CASES))
def test_answers_have_the_examples_shape(sim, shared_examples, name):
    method, path, not_modelled, extra = BODY_CASES[name]
    example = _load(shared_examples, name)
    answer = _call(sim, method, path, example)
    assert answer.status_code == 200, answer.text
    compare(example["responses"]["200"]["body"], answer.json(), not_modelled, extra)


@pytest.mark.parametrize("name", sorted(ACCEPTED_CASES))
def test_actions_are_accepted_like_the_examples(sim, shared_examples, name):
    method, path, body_param = ACCEPTED_CASES[name]
    example = _load(shared_examples, name)
    assert "202" in example["responses"]
    expected_headers = {h.lower() for h in example["responses"]["202"].get("headers", {})}
    if name.startswith("VirtualMachineScaleSet_PerformMaintenance"):  # the demo's instances have no window open
        sim.fleet.instance("vmss-web", 7).maintenance = {"isCustomerInitiatedMaintenanceAllowed": True}
    answer = _call(sim, method, path, example, body_param)
    assert answer.status_code == 202, answer.text
    assert expected_headers <= {h.lower() for h in answer.headers}
    assert answer.content == b""
    assert answer.headers["Azure-AsyncOperation"].startswith(sim.base_url)
    assert "monitor=true" in answer.headers["Location"]
    assert int(answer.headers["Retry-After"]) >= 0
    status = requests.get(answer.headers["Azure-AsyncOperation"], verify=sim.ca_bundle, timeout=10).json()
    assert status["status"] == "Succeeded" and set(status) >= {"startTime", "endTime", "status", "name"}


def test_availability_statuses_have_the_examples_shape(sim, shared_examples):
    name = "AvailabilityStatuses_ListBySubscriptionId.json"
    example = _load(shared_examples, name)
    sim.page_size = 5  # so that a nextLink is there, as in the example
    answer = requests.get(
        f"{sim.base_url}/subscriptions/{SUB}/providers/Microsoft.ResourceHealth/availabilityStatuses",
        params={"api-version": example["parameters"]["api-version"], "$expand": "recommendedactions"},
        verify=sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 200
    compare(
        example["responses"]["200"]["body"],
        answer.json(),
        ("value[].properties.recentlyResolved", "value[].properties.resolutionETA",
         "value[].properties.rootCauseAttributionTime"),  # fmt: skip
        (),
    )
    one = requests.get(
        f"{sim.base_url}{sim.fleet.vm('vm-host-crash').id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        params={"api-version": example["parameters"]["api-version"]},
        verify=sim.ca_bundle,
        timeout=10,
    ).json()
    example_item = {"value": [example["responses"]["200"]["body"]["value"][1]]}
    compare(example_item, {"value": [one]}, ("value[].properties.resolutionETA", "value[].properties.rootCauseAttributionTime"),
            ("value[].properties.category", "value[].properties.context"))  # fmt: skip
