"""Conformance: every ARM route the simulated Azure serves answers as Azure does, field by field.

The expected shapes below are written from Azure's published REST examples and reference pages
(azure-rest-api-specs, Compute 2026-04-01: VirtualMachine_Get_InstanceView,
VirtualMachine_Create_WithSpotPlusPriority, VirtualMachine_ListAll_MaximumSet_Gen,
VirtualMachineScaleSet_Create_WithAutomaticRepairs, VirtualMachineScaleSet_GetInstanceView_*,
VirtualMachineScaleSetVM_Get_InstanceView*, VirtualMachineScaleSetVM_List; ResourceHealth
2025-05-01 AvailabilityStatuses_*; Subscriptions_Get; Resource Graph 2021-03-01
ResourcesBasicQuery; the Compute async-operation and ARM error contracts), not from the
simulator: names and casing, JSON types, enum spellings (`ProvisioningState/failed/<code>`,
`HealthState/unhealthy`, serviceState, lastOperationResultCode, Spot priority...), `title` being the
state, and `nextLink` paging. tests/simulator/test_sim_shapes.py compares key paths with the shared
examples read in place; this module checks values and covers every route, including those the
shared examples do not show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

SUB = "00000000-0000-0000-0000-0000000000cf"
RG = "rg-conform"
BASE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
COMPUTE_API = "2026-04-01"
HEALTH_API = "2025-05-01"
GRAPH_API = "2021-03-01"

FLEET = {
    "defaults": {"subscriptionId": SUB, "resourceGroup": RG, "location": "westeurope"},
    "subscriptions": [{"subscriptionId": SUB, "displayName": "Conformance"}],
    "vms": [
        {"name": "vm-ok"},
        {"name": "vm-avset", "availabilitySet": "avset-1", "maintenance": {
            "isCustomerInitiatedMaintenanceAllowed": True, "preMaintenanceWindowStartTime": "-1h",
            "preMaintenanceWindowEndTime": "+1d", "maintenanceWindowStartTime": "+2d",
            "maintenanceWindowEndTime": "+3d", "lastOperationResultCode": "RetryLater"}},
        {"name": "vm-annotated", "availabilityState": "Degraded",
         "annotation": "VirtualMachinePossiblyDegradedDueToHardwareFailure"},
        {"name": "vm-failed-ext", "provisioningState": "Failed", "provisioningError": "VMExtensionProvisioningError"},
        {"name": "vm-off", "powerState": "deallocated", "availabilityState": "Unavailable"},
        {"name": "vm-nightly", "autoShutdown": {"time": "1900", "timeZoneId": "W. Europe Standard Time"}},
    ],
    "scaleSets": [
        {"name": "ss-uni", "capacity": 4, "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"},
         "orchestrationServiceState": "Suspended",
         "instances": [{"instanceId": "0", "healthState": "Unhealthy"},
                       {"instanceId": "1", "provisioningState": "Failed", "provisioningError": "OSProvisioningTimedOut"},
                       {"instanceId": "2", "maintenance": {"isCustomerInitiatedMaintenanceAllowed": False,
                                                           "lastOperationResultCode": "MaintenanceCompleted"}}]},
        {"name": "ss-flex", "orchestrationMode": "Flexible", "capacity": 2},
    ],
}  # fmt: skip

# -- a small vocabulary of expected shapes ------------------------------------------------------

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PROVISIONING_CODE = re.compile(
    r"^ProvisioningState/(succeeded|creating|updating|deleting|migrating|canceled|failed(/[A-Za-z]+)?)$")
POWER_CODE = re.compile(r"^PowerState/(starting|running|stopping|stopped|deallocating|deallocated|unknown)$")
HEALTH_CODE = re.compile(r"^HealthState/(healthy|unhealthy|unknown|initializing)$")
MODEL_PROVISIONING = ("Succeeded", "Failed", "Creating", "Updating", "Deleting", "Migrating", "Canceled")


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Text:
    pattern: re.Pattern | None = None


@dataclass(frozen=True)
class Opt:
    shape: Any  # a key that Azure sends only sometimes


@dataclass(frozen=True)
class ListOf:
    item: Any


def enum(*values: str) -> Enum:
    return Enum(values)


def text(pattern: str | re.Pattern | None = None) -> Text:
    return Text(re.compile(pattern) if isinstance(pattern, str) else pattern)


def check(value: Any, shape: Any, at: str = "$") -> list[str]:
    """What differs between an answer and Azure's shape: names (exact casing), types, enums."""
    if isinstance(shape, Opt):
        shape = shape.shape
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{at}: {type(value).__name__}, Azure sends an object"]
        problems = []
        known = {k.lower(): k for k in shape}
        for key in value:
            spelled = known.get(key.lower())
            if spelled is not None and spelled != key:
                problems.append(f"{at}.{key}: Azure spells it {spelled}")
        for key, sub in shape.items():
            if key in value:
                problems += check(value[key], sub, f"{at}.{key}")
            elif not isinstance(sub, Opt):
                problems.append(f"{at}.{key}: missing")
        return problems
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return [f"{at}: {type(value).__name__}, Azure sends an array"]
        return [p for i, item in enumerate(value) for p in check(item, shape.item, f"{at}[{i}]")]
    if isinstance(shape, Enum):
        return [] if value in shape.values else [f"{at}: {value!r} is not one of Azure's {shape.values}"]
    if isinstance(shape, Text):
        if not isinstance(value, str):
            return [f"{at}: {type(value).__name__}, Azure sends a string"]
        if shape.pattern is not None and not shape.pattern.search(value):
            return [f"{at}: {value!r} is not written as Azure writes it ({shape.pattern.pattern})"]
        return []
    if shape is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{at}: {value!r} is not an integer"]
    if shape is float:
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{at}: {value!r} is not a number"]
    if shape is bool:
        return [] if isinstance(value, bool) else [f"{at}: {value!r} is not a boolean"]
    if shape is dict:
        return [] if isinstance(value, dict) else [f"{at}: not an object"]
    if shape is list:
        return [] if isinstance(value, list) else [f"{at}: not an array"]
    raise AssertionError(f"no such shape {shape!r}")


STATUS = {"code": text(re.compile(f"{PROVISIONING_CODE.pattern}|{POWER_CODE.pattern}")),
          "level": enum("Info", "Warning", "Error"), "displayStatus": text(),
          "message": Opt(text()), "time": Opt(text(ISO))}  # fmt: skip
HEALTH = {"status": {"code": text(HEALTH_CODE), "level": enum("Info", "Warning", "Error"), "displayStatus": text(),
                     "time": Opt(text(ISO))}}  # fmt: skip
MAINTENANCE = {
    "isCustomerInitiatedMaintenanceAllowed": bool,
    "preMaintenanceWindowStartTime": Opt(text(ISO)), "preMaintenanceWindowEndTime": Opt(text(ISO)),
    "maintenanceWindowStartTime": Opt(text(ISO)), "maintenanceWindowEndTime": Opt(text(ISO)),
    "lastOperationResultCode": Opt(enum("None", "RetryLater", "MaintenanceAborted", "MaintenanceCompleted")),
    "lastOperationMessage": Opt(text()),
}  # fmt: skip
DISK = {"name": text(), "statuses": ListOf(STATUS)}
AGENT = {"vmAgentVersion": text(), "statuses": ListOf({"code": text(), "level": enum("Info", "Warning", "Error"),
                                                       "displayStatus": text(), "message": Opt(text()),
                                                       "time": Opt(text(ISO))})}  # fmt: skip
VM_VIEW = {"platformUpdateDomain": int, "platformFaultDomain": int, "computerName": Opt(text()), "osName": Opt(text()),
           "osVersion": Opt(text()), "vmAgent": Opt(AGENT), "disks": Opt(ListOf(DISK)),
           "hyperVGeneration": Opt(enum("V1", "V2")), "statuses": ListOf(STATUS), "vmHealth": Opt(HEALTH),
           "maintenanceRedeployStatus": Opt(MAINTENANCE)}  # fmt: skip
VM_MODEL = {
    "id": text(rf"^{BASE}/virtualMachines/[^/]+$"), "name": text(), "type": enum("Microsoft.Compute/virtualMachines"),
    "location": text(), "tags": Opt(dict), "zones": Opt(ListOf(text())),
    "properties": {
        "vmId": text(), "hardwareProfile": {"vmSize": text()}, "provisioningState": enum(*MODEL_PROVISIONING),
        "priority": Opt(enum("Regular", "Low", "Spot", "SpotPlus")), "evictionPolicy": Opt(enum("Deallocate", "Delete")),
        "billingProfile": Opt({"maxPrice": float}), "availabilitySet": Opt({"id": text(rf"^{BASE}/availabilitySets/")}),
        "virtualMachineScaleSet": Opt({"id": text(rf"^{BASE}/virtualMachineScaleSets/[^/]+$")}),
        "timeCreated": Opt(text(ISO)), "instanceView": Opt(VM_VIEW),
        "storageProfile": Opt(dict), "osProfile": Opt(dict), "networkProfile": Opt(dict),
    },
}  # fmt: skip
VM_STATUS_ONLY = {"id": VM_MODEL["id"], "name": text(), "type": VM_MODEL["type"], "location": text(),
                  "properties": {"instanceView": VM_VIEW}}  # fmt: skip
SS_MODEL = {
    "id": text(rf"^{BASE}/virtualMachineScaleSets/[^/]+$"), "name": text(),
    "type": enum("Microsoft.Compute/virtualMachineScaleSets"), "location": text(), "tags": Opt(dict),
    "zones": Opt(ListOf(text())), "sku": {"name": text(), "tier": Opt(text()), "capacity": int},
    "properties": {
        "orchestrationMode": enum("Uniform", "Flexible"), "provisioningState": enum(*MODEL_PROVISIONING),
        "automaticRepairsPolicy": Opt({"enabled": bool, "gracePeriod": text(r"^PT(\d+H)?(\d+M)?(\d+S)?$"),
                                       "repairAction": Opt(enum("Replace", "Restart", "Reimage"))}),
        "upgradePolicy": Opt({"mode": enum("Automatic", "Manual", "Rolling")}), "uniqueId": text(GUID),
        "timeCreated": text(ISO), "singlePlacementGroup": Opt(bool), "overprovision": Opt(bool),
        "virtualMachineProfile": Opt(dict),
    },
}  # fmt: skip
SS_VIEW = {
    "virtualMachine": {"statusesSummary": ListOf({"code": text(re.compile(f"{PROVISIONING_CODE.pattern}|{POWER_CODE.pattern}")),
                                                  "count": int})},
    "extensions": Opt(ListOf({"name": text(), "statusesSummary": ListOf({"code": text(), "count": int})})),
    "statuses": ListOf(STATUS),
    "orchestrationServices": ListOf({"serviceName": enum("AutomaticRepairs", "AutomaticZoneRebalancing"),
                                     "serviceState": enum("NotRunning", "Running", "Suspended"),
                                     "lastStatusChangeTime": Opt(text(ISO))}),
}  # fmt: skip
SSVM_VIEW = {**VM_VIEW}
SSVM_MODEL = {
    "id": text(rf"^{BASE}/virtualMachineScaleSets/[^/]+/virtualMachines/\d+$"), "name": text(r"^[^_]+_\d+$"),
    "type": enum("Microsoft.Compute/virtualMachineScaleSets/virtualMachines"), "location": text(),
    "tags": Opt(dict), "zones": Opt(ListOf(text())), "instanceId": text(r"^\d+$"),
    "sku": Opt({"name": text(), "tier": Opt(text())}),
    "properties": {"latestModelApplied": bool, "vmId": text(), "provisioningState": enum(*MODEL_PROVISIONING),
                   "instanceView": Opt(SSVM_VIEW), "hardwareProfile": Opt({"vmSize": text()}),
                   "osProfile": Opt(dict), "timeCreated": Opt(text(ISO))},
}  # fmt: skip
AVAILABILITY = {
    "id": text(r"/providers/Microsoft\.ResourceHealth/availabilityStatuses/current$"), "name": enum("current"),
    "type": enum("Microsoft.ResourceHealth/AvailabilityStatuses"), "location": text(),
    "properties": {"availabilityState": enum("Available", "Unavailable", "Degraded", "Unknown"),
                   "title": enum("Available", "Unavailable", "Degraded", "Unknown"), "summary": text(),
                   "detailedStatus": Opt(text()), "reasonType": Opt(text()), "context": Opt(text()),
                   "category": Opt(text()), "reasonChronicity": Opt(enum("Transient", "Persistent")),
                   "occuredTime": text(ISO), "reportedTime": text(ISO),
                   "recommendedActions": Opt(ListOf({"action": text(), "actionUrl": text(), "actionUrlText": text()}))},
}  # fmt: skip
OPERATION = {"name": text(), "status": enum("InProgress", "Succeeded", "Failed", "Canceled"), "startTime": text(ISO),
             "endTime": Opt(text(ISO)), "error": Opt({"code": text(), "message": text()})}  # fmt: skip
SUBSCRIPTION = {"id": text(rf"^/subscriptions/{GUID}$"), "subscriptionId": text(GUID), "displayName": text(),
                "state": enum("Enabled", "Warned", "PastDue", "Disabled", "Deleted")}  # fmt: skip
# ResourceGroups_Get (azure-rest-api-specs, resources 2021-04-01): managedBy and tags only when set.
RESOURCE_GROUP = {"id": text(rf"^/subscriptions/{GUID}/resourceGroups/[^/]+$"), "name": text(),
                  "type": enum("Microsoft.Resources/resourceGroups"), "location": text(r"^[a-z0-9]+$"),
                  "managedBy": Opt(text(r"^/subscriptions/")), "tags": Opt(dict),
                  "properties": {"provisioningState": enum("Succeeded", "Deleting")}}  # fmt: skip
# Global schedules of DevTest Labs (azure-rest-api-specs, devtestlabs GlobalSchedules_Get): the
# portal's VM auto-shutdown is one, named shutdown-computevm-<vm>.
SCHEDULE = {"id": text(r"/providers/microsoft\.devtestlab/schedules/shutdown-computevm-"), "name": text(r"^shutdown-computevm-"),
            "type": enum("microsoft.devtestlab/schedules"), "location": text(),
            "properties": {"status": enum("Enabled", "Disabled"), "taskType": enum("ComputeVmShutdownTask"),
                           "dailyRecurrence": {"time": text(r"^\d{4}$")}, "timeZoneId": text(),
                           "notificationSettings": Opt({"status": enum("Enabled", "Disabled"), "timeInMinutes": int}),
                           "createdDate": Opt(text(ISO)), "targetResourceId": text(r"/virtualMachines/"),
                           "provisioningState": enum("Succeeded")}}  # fmt: skip
def graph_answer(row: Any) -> dict:
    return {"totalRecords": int, "count": int, "resultTruncated": enum("true", "false"), "data": ListOf(row),
            "facets": list, "$skipToken": Opt(text())}  # fmt: skip


def graph_row(id_pattern: str, row_type: str, properties: dict) -> dict:
    return {"id": text(id_pattern), "name": text(), "type": enum(row_type), "tenantId": text(), "location": text(),
            "resourceGroup": text(r"^[^A-Z]+$"), "subscriptionId": text(GUID), "properties": properties}  # fmt: skip


STATES = ("Available", "Unavailable", "Degraded", "Unknown")
# Resource Graph rows ("VM availability information in Azure Resource Graph"; the Maintenance
# `Update` model for MaintenanceResources' updates; Resources rows carry the resource's ARM properties).
GRAPH_ROW = graph_row(r"/providers/Microsoft\.ResourceHealth/resourceAnnotations/", "microsoft.resourcehealth/resourceannotations",
                      {"targetResourceType": text(), "targetResourceId": text(), "occurredTime": text(ISO),
                       "annotationName": text(), "reason": text(), "category": text(), "context": text(), "summary": text()})
AVAILABILITY_ROW = graph_row(r"/providers/Microsoft\.ResourceHealth/availabilityStatuses/current$",
                             "microsoft.resourcehealth/availabilitystatuses",
                             {"targetResourceType": text(r"^Microsoft\.Compute/virtualMachines$"), "targetResourceId": text(r"^/subscriptions/"),
                              "occurredTime": text(ISO), "availabilityState": enum(*STATES),
                              "previousAvailabilityState": Opt(enum(*STATES))})
UPDATE_ROW = graph_row(r"/providers/Microsoft\.Maintenance/updates/", "microsoft.maintenance/updates",
                       {"resourceId": text(r"^/subscriptions/"),
                        "maintenanceScope": enum("Host", "Resource", "OSImage", "Extension", "InGuestPatch", "SQLDB", "SQLManagedInstance"),
                        "impactType": enum("None", "Freeze", "Restart", "Redeploy"),
                        "status": enum("Pending", "InProgress", "Completed", "RetryNow", "RetryLater"),
                        "impactDurationInSec": int, "notBefore": Opt(text(ISO))})
GRAPH_SCALE_SET_ROW = graph_row(r"/virtualMachineScaleSets/[^/]+$", "microsoft.compute/virtualmachinescalesets",
                                {"orchestrationMode": enum("Uniform", "Flexible"), "provisioningState": enum(*MODEL_PROVISIONING),
                                 "automaticRepairsPolicy": Opt({"enabled": bool, "gracePeriod": Opt(text(r"^PT")),
                                                                "repairAction": Opt(enum("Replace", "Restart", "Reimage"))})})
GRAPH_ANSWER = graph_answer(GRAPH_ROW)
ERROR = {"error": {"code": text(r"^[A-Za-z]+$"), "message": text()}}


def paged(item: Any) -> dict:
    return {"value": ListOf(item), "nextLink": Opt(text(r"^https://"))}


# -- the routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    api: str
    shape: Any  # the answer body's shape; None: no body
    status: int = 200
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[str, ...] = ()  # headers Azure's answer carries


SS = f"{BASE}/virtualMachineScaleSets"
ANNOTATIONS_QUERY = "HealthResources | where type =~ 'microsoft.resourcehealth/resourceannotations'"
QUOTA_HEADERS = ("x-ms-user-quota-remaining", "x-ms-user-quota-resets-after")
ASYNC = ("Location", "Azure-AsyncOperation", "Retry-After")

CASES = [
    Case("subscription", "GET", f"/subscriptions/{SUB}", "2022-12-01", SUBSCRIPTION),
    Case("resource group", "GET", f"/subscriptions/{SUB}/resourceGroups/{RG}", "2021-04-01", RESOURCE_GROUP),
    Case("auto-shutdown schedule", "GET",
         f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DevTestLab/schedules/shutdown-computevm-vm-nightly",
         "2018-09-15", SCHEDULE),
    Case("vm list, statusOnly", "GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines", COMPUTE_API,
         paged(VM_STATUS_ONLY), query=(("statusOnly", "true"),)),
    Case("vm list of a group", "GET", f"{BASE}/virtualMachines", COMPUTE_API, paged(VM_MODEL)),
    Case("vm list of a Flexible set", "GET", f"{BASE}/virtualMachines", COMPUTE_API, paged(VM_MODEL),
         query=(("$filter", f"'virtualMachineScaleSet/id' eq '{SS}/ss-flex'"), ("$expand", "instanceView"))),
    Case("vm get", "GET", f"{BASE}/virtualMachines/vm-ok", COMPUTE_API, VM_MODEL),
    Case("vm get, instance view expanded", "GET", f"{BASE}/virtualMachines/vm-avset", COMPUTE_API, VM_MODEL,
         query=(("$expand", "instanceView"),)),
    Case("vm instance view (failed extension)", "GET", f"{BASE}/virtualMachines/vm-failed-ext/instanceView",
         COMPUTE_API, VM_VIEW),
    Case("vm redeploy", "POST", f"{BASE}/virtualMachines/vm-annotated/redeploy", COMPUTE_API, None, 202, headers=ASYNC),
    Case("scale set list", "GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets",
         COMPUTE_API, paged(SS_MODEL)),
    Case("scale set list of a group", "GET", SS, COMPUTE_API, paged(SS_MODEL)),
    Case("scale set get", "GET", f"{SS}/ss-uni", COMPUTE_API, SS_MODEL),
    Case("scale set get (Flexible)", "GET", f"{SS}/ss-flex", COMPUTE_API, SS_MODEL),
    Case("scale set update", "PATCH", f"{SS}/ss-uni", COMPUTE_API, SS_MODEL,
         body={"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT45M"}}},
         headers=("Azure-AsyncOperation",)),
    Case("scale set instance view", "GET", f"{SS}/ss-uni/instanceView", COMPUTE_API, SS_VIEW),
    Case("scale set instance view (Flexible: refused)", "GET", f"{SS}/ss-flex/instanceView", COMPUTE_API, ERROR, 400),
    Case("set orchestration service state", "POST", f"{SS}/ss-uni/setOrchestrationServiceState", COMPUTE_API, None,
         202, body={"serviceName": "AutomaticRepairs", "action": "Resume"}, headers=ASYNC),
    Case("scale set batch delete", "POST", f"{SS}/ss-uni/delete", COMPUTE_API, None, 202,
         body={"instanceIds": ["1"]}, headers=ASYNC),
    Case("scale set performMaintenance", "POST", f"{SS}/ss-uni/performMaintenance", COMPUTE_API, ERROR, 409,
         body={"instanceIds": ["2"]}),  # no window open: Azure refuses with ARM's error shape
    Case("scale set VM list", "GET", f"{SS}/ss-uni/virtualMachines", COMPUTE_API, paged(SSVM_MODEL),
         query=(("$expand", "instanceView"),)),
    Case("scale set VM get", "GET", f"{SS}/ss-uni/virtualMachines/0", COMPUTE_API, SSVM_MODEL),
    Case("scale set VM instance view (timed out)", "GET", f"{SS}/ss-uni/virtualMachines/1/instanceView", COMPUTE_API,
         SSVM_VIEW),
    Case("scale set VM reimage", "POST", f"{SS}/ss-uni/virtualMachines/0/reimage", COMPUTE_API, None, 202,
         headers=ASYNC),
    Case("scale set VM delete", "DELETE", f"{SS}/ss-uni/virtualMachines/3", COMPUTE_API, None, 202, headers=ASYNC),
    Case("availability status", "GET",
         f"{BASE}/virtualMachines/vm-annotated/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
         HEALTH_API, AVAILABILITY),
    Case("availability statuses of a subscription", "GET",
         f"/subscriptions/{SUB}/providers/Microsoft.ResourceHealth/availabilityStatuses", HEALTH_API,
         paged(AVAILABILITY)),
    Case("availability statuses of a group", "GET",
         f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ResourceHealth/availabilityStatuses",
         HEALTH_API, paged(AVAILABILITY)),
    Case("resource graph annotations", "POST", "/providers/Microsoft.ResourceGraph/resources", GRAPH_API, GRAPH_ANSWER,
         body={"subscriptions": [SUB], "query": ANNOTATIONS_QUERY},
         headers=("x-ms-user-quota-remaining", "x-ms-user-quota-resets-after")),
    Case("resource graph availability statuses", "POST", "/providers/Microsoft.ResourceGraph/resources", GRAPH_API,
         graph_answer(AVAILABILITY_ROW), headers=QUOTA_HEADERS,
         body={"subscriptions": [SUB], "query": "HealthResources | where type =~ 'microsoft.resourcehealth/availabilitystatuses'"}),
    Case("resource graph maintenance updates", "POST", "/providers/Microsoft.ResourceGraph/resources", GRAPH_API,
         graph_answer(UPDATE_ROW), headers=QUOTA_HEADERS,
         body={"subscriptions": [SUB], "query": "MaintenanceResources | where type =~ 'microsoft.maintenance/updates'"}),
    Case("resource graph scale sets", "POST", "/providers/Microsoft.ResourceGraph/resources", GRAPH_API,
         graph_answer(GRAPH_SCALE_SET_ROW), headers=QUOTA_HEADERS,
         body={"subscriptions": [SUB], "query": "Resources | where type =~ 'microsoft.compute/virtualmachinescalesets'"}),
    Case("resource graph VMs counted", "POST", "/providers/Microsoft.ResourceGraph/resources", GRAPH_API,
         graph_answer({"subscriptionId": text(GUID), "count_": int}), headers=QUOTA_HEADERS,
         body={"subscriptions": [SUB], "query": "Resources | where type =~ 'microsoft.compute/virtualmachines' | summarize count() by subscriptionId"}),
]  # fmt: skip


@pytest.fixture
def azure():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=FLEET, page_size=3) as sim:
        yield sim


def send(sim, case: Case) -> requests.Response:
    return requests.request(case.method, sim.base_url + case.path, params={"api-version": case.api, **dict(case.query)},
                            json=case.body, verify=sim.ca_bundle, timeout=10)  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_route_answers_with_azure_shape(azure, case):
    answer = send(azure, case)
    assert answer.status_code == case.status, answer.text
    missing = [h for h in case.headers if h.lower() not in {k.lower() for k in answer.headers}]
    assert not missing, f"Azure's answer carries {missing}"
    if case.shape is None:
        assert answer.content == b""
        return
    problems = check(answer.json(), case.shape)
    assert not problems, "\n".join(problems)


def test_every_arm_route_is_covered(azure):
    """Each ARM route the simulated Azure registers is exercised by a case above."""
    routes = [r for r in azure.server._routes if r.counter is not None]
    uncovered = [f"{r.method} {r.pattern.pattern}" for r in routes
                 if not any(r.method == c.method and r.pattern.fullmatch(c.path) for c in CASES + EXTRA_COVERAGE)]
    assert not uncovered, uncovered


# Routes whose answer is checked by a test of its own below (an operation's status needs one to exist).
EXTRA_COVERAGE = [
    Case("vm actions", "POST", f"{BASE}/virtualMachines/vm-ok/restart", COMPUTE_API, None, 202),
    Case("operation status", "GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operations/x",
         COMPUTE_API, OPERATION),
    Case("scale set VM actions", "POST", f"{SS}/ss-uni/virtualMachines/0/redeploy", COMPUTE_API, None, 202),
]  # fmt: skip


# -- values Azure gives meaning to --------------------------------------------------------------


def get(sim, path: str, api: str = COMPUTE_API, **query: str) -> Any:
    answer = requests.get(sim.base_url + path, params={"api-version": api, **query}, verify=sim.ca_bundle, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_failed_provisioning_carries_its_error_code(azure):
    codes = [s["code"] for s in get(azure, f"{BASE}/virtualMachines/vm-failed-ext/instanceView")["statuses"]]
    assert "ProvisioningState/failed/VMExtensionProvisioningError" in codes
    codes = [s["code"] for s in get(azure, f"{SS}/ss-uni/virtualMachines/1/instanceView")["statuses"]]
    assert "ProvisioningState/failed/OSProvisioningTimedOut" in codes
    health = get(azure, f"{SS}/ss-uni/virtualMachines/0/instanceView")["vmHealth"]["status"]["code"]
    assert health == "HealthState/unhealthy"


def test_availability_title_is_the_state_and_no_field_names_the_annotation(azure):
    statuses = []
    url = f"/subscriptions/{SUB}/providers/Microsoft.ResourceHealth/availabilityStatuses"
    page = get(azure, url, HEALTH_API)
    statuses += page["value"]
    while page.get("nextLink"):
        page = requests.get(page["nextLink"], verify=azure.ca_bundle, timeout=10).json()
        statuses += page["value"]
    assert statuses
    for status in statuses:
        props = status["properties"]
        assert props["title"] == props["availabilityState"]
        assert "VirtualMachinePossiblyDegradedDueToHardwareFailure" not in str(props)


LISTS = [
    (f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines", COMPUTE_API, {"statusOnly": "true"}),
    (f"{BASE}/virtualMachines", COMPUTE_API, {}),
    (f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets", COMPUTE_API, {}),
    (f"{SS}/ss-uni/virtualMachines", COMPUTE_API, {"$expand": "instanceView"}),
    (f"/subscriptions/{SUB}/providers/Microsoft.ResourceHealth/availabilityStatuses", HEALTH_API, {}),
]


@pytest.mark.parametrize("path, api, query", LISTS, ids=[p.rsplit("/", 1)[-1] for p, _, _ in LISTS])
def test_next_link_paging_as_azure_writes_it(azure, path, api, query):
    """nextLink: an absolute URL to the same list, carrying $skipToken and the api-version; the
    last page has none (AvailabilityStatuses_ListBySubscriptionId's "{originalRequestUrl}?$skipToken=")."""
    azure.page_size = 1
    page, ids, pages = get(azure, path, api, **query), [], 1
    ids += [v["id"] for v in page["value"]]
    while "nextLink" in page:
        link = urlsplit(page["nextLink"])
        assert f"{link.scheme}://{link.netloc}" == azure.base_url and link.path.lower() == path.lower()
        params = parse_qs(link.query)
        assert params["$skipToken"] and params["api-version"] == [api]
        assert all(params.get(k) == [v] for k, v in query.items())
        page = requests.get(page["nextLink"], verify=azure.ca_bundle, timeout=10).json()
        ids += [v["id"] for v in page["value"]]
        pages += 1
    assert pages > 1 and len(ids) == len(set(ids))


def test_operation_status_and_the_conflict_while_one_runs(azure):
    """Azure-AsyncOperation answers {name, status, startTime[, endTime, error]}; a second write on
    a machine whose operation still runs is refused with 409 in ARM's error shape."""
    azure.operation_delay = {"redeploy": 30.0}
    first = requests.post(f"{azure.base_url}{BASE}/virtualMachines/vm-ok/redeploy", params={"api-version": COMPUTE_API},
                          verify=azure.ca_bundle, timeout=10)  # fmt: skip
    assert first.status_code == 202
    running = requests.get(first.headers["Azure-AsyncOperation"], verify=azure.ca_bundle, timeout=10).json()
    assert not check(running, OPERATION) and running["status"] == "InProgress"
    second = requests.post(f"{azure.base_url}{BASE}/virtualMachines/vm-ok/restart", params={"api-version": COMPUTE_API},
                           verify=azure.ca_bundle, timeout=10)  # fmt: skip
    assert second.status_code == 409
    assert not check(second.json(), ERROR)
    azure.finish_operations()
    done = requests.get(first.headers["Azure-AsyncOperation"], verify=azure.ca_bundle, timeout=10).json()
    assert not check(done, OPERATION) and done["status"] == "Succeeded" and "endTime" in done


def test_the_checker_catches_what_azure_would_not_send():
    """The checker itself: a wrong casing, type, enum spelling and code format are each caught."""
    assert check({"Title": "Available"}, {"title": Opt(text())}) == ["$.Title: Azure spells it title"]
    assert check({"capacity": "3"}, {"capacity": int})
    assert check({"serviceState": "suspended"}, {"serviceState": enum("Suspended")})
    assert check({"code": "ProvisioningState/Failed/X"}, {"code": text(PROVISIONING_CODE)})
    assert check({"code": "ProvisioningState/failed/OSProvisioningTimedOut"}, {"code": text(PROVISIONING_CODE)}) == []
