"""The test bed of the actions tests: a fleet made for them, ids, and the request log helpers.

(A module of its own, not conftest.py, so that test modules can import it by a unique name.)
"""

from __future__ import annotations

import re
from typing import Any

SUB = "00000000-0000-0000-0000-0000000000a1"
RG = "rg-actions"
PREFIX = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
COMPUTE_API = "2026-04-01"
HEALTH_API = "2025-05-01"
OPEN_WINDOW = {"isCustomerInitiatedMaintenanceAllowed": True, "preMaintenanceWindowStartTime": "-1h",
               "preMaintenanceWindowEndTime": "+2d", "maintenanceWindowStartTime": "+3d",
               "maintenanceWindowEndTime": "+4d"}  # fmt: skip


def vm_id(name: str) -> str:
    return f"{PREFIX}/virtualMachines/{name}"


def ss_id(name: str) -> str:
    return f"{PREFIX}/virtualMachineScaleSets/{name}"


def ssvm_id(name: str, instance: int | str) -> str:
    return f"{ss_id(name)}/virtualMachines/{instance}"


FLEET: dict[str, Any] = {
    "defaults": {"subscriptionId": SUB, "resourceGroup": RG, "location": "westeurope"},
    "subscriptions": [SUB],
    "vms": [
        {"name": "vm-degraded", "availabilityState": "Degraded",
         "annotation": "VirtualMachinePossiblyDegradedDueToHardwareFailure", "updateDomain": 1},
        {"name": "vm-unavailable", "availabilityState": "Unavailable", "annotation": "VirtualMachineHostCrashed"},
        {"name": "vm-accelnet", "availabilityState": "Available", "annotation": "AccelnetUnhealthy"},
        {"name": "vm-healthy", "availabilityState": "Available"},
        {"name": "vm-unknown", "availabilityState": "Unknown"},
        {"name": "vm-deallocated", "powerState": "deallocated", "availabilityState": "Unavailable"},
        {"name": "vm-stopped", "powerState": "stopped", "availabilityState": "Unavailable"},
        {"name": "vm-busy", "provisioningState": "Updating", "availabilityState": "Degraded"},
        {"name": "vm-failed-extension", "provisioningState": "Failed", "provisioningError": "VMExtensionProvisioningError",
         "availabilityState": "Degraded", "annotation": "VirtualMachinePossiblyDegradedDueToHardwareFailure"},
        {"name": "vm-maint", "maintenance": OPEN_WINDOW, "updateDomain": 2},
        {"name": "vm-maint-avset", "maintenance": OPEN_WINDOW, "availabilitySet": "avset-1"},
        {"name": "vm-maint-not-allowed", "maintenance": {**OPEN_WINDOW, "isCustomerInitiatedMaintenanceAllowed": False}},
        {"name": "vm-maint-future", "maintenance": {**OPEN_WINDOW, "preMaintenanceWindowStartTime": "+1d",
                                                    "preMaintenanceWindowEndTime": "+2d"}},
        {"name": "vm-maint-past", "maintenance": {**OPEN_WINDOW, "preMaintenanceWindowStartTime": "-3d",
                                                  "preMaintenanceWindowEndTime": "-2d"}},
        {"name": "vm-maint-done", "maintenance": {**OPEN_WINDOW, "isCustomerInitiatedMaintenanceAllowed": False,
                                                  "lastOperationResultCode": "MaintenanceCompleted"}},
        {"name": "vm-no-maint"},
    ],
    "scaleSets": [
        {"name": "ss-web", "capacity": 10, "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"},
         "orchestrationServiceState": "Suspended",
         "instances": [{"instanceId": "0", "healthState": "Unhealthy"},
                       {"instanceId": "1", "availabilityState": "Degraded", "annotation": "AccelnetUnhealthy"},
                       {"instanceId": "2", "maintenance": OPEN_WINDOW}]},
        {"name": "ss-half", "capacity": 4, "automaticRepairsPolicy": {"enabled": True},
         "orchestrationServiceState": "Suspended",
         "instances": [{"instanceId": "0", "healthState": "Unhealthy"}, {"instanceId": "1", "healthState": "Unhealthy"}]},
        {"name": "ss-probe", "capacity": 4, "automaticRepairsPolicy": {"enabled": True},
         "orchestrationServiceState": "Suspended", "healthProbeBroken": True},
        {"name": "ss-running", "capacity": 3, "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT10M"}},
        {"name": "ss-off", "capacity": 3},
        {"name": "ss-off-unhealthy", "capacity": 4,
         "instances": [{"instanceId": "0", "healthState": "Unhealthy"}, {"instanceId": "1", "healthState": "Unhealthy"}]},
        {"name": "ss-api", "capacity": 4,
         "instances": [{"instanceId": "2", "provisioningState": "Failed", "provisioningError": "OSProvisioningTimedOut"}]},
        {"name": "ss-two-failed", "capacity": 5,
         "instances": [{"instanceId": "1", "provisioningState": "Failed"}, {"instanceId": "3", "provisioningState": "Failed"}]},
        {"name": "ss-all-failed", "capacity": 2, "instanceDefaults": {"provisioningState": "Failed"}},
    ],
}  # fmt: skip


OPERATION_PATH = re.compile(r"/providers/Microsoft\.Compute/locations/[^/]+/operations/", re.IGNORECASE)


def calls(sim, since: int = 0) -> list[tuple[str, str, str | None, Any]]:
    """(method, path, api-version, body) of each request the server saw, in order.

    Query parameters other than api-version are appended to the path ("?$expand=instanceView").
    """
    out = []
    for r in list(sim.requests)[since:]:
        query = dict(r.query or {})
        api = query.pop("api-version", None)
        path = r.path + ("?" + "&".join(f"{k}={v}" for k, v in sorted(query.items())) if query else "")
        out.append((r.method, path, api, r.body))
    return out


def is_poll(call: tuple) -> bool:
    return call[0] == "GET" and bool(OPERATION_PATH.search(call[1]))


# The gate is the only issuer of permits in the product; these tests drive executors directly,
# so they hold an office of their own (one write each, as the gate's permits are).
_OFFICE = None


def permit(executor, resource_id: str):
    """A permit for one write of `executor` on `resource_id`, as the gate would issue it."""
    global _OFFICE
    from actions.permits import PermitOffice

    _OFFICE = _OFFICE or PermitOffice()
    return _OFFICE.issue(executor.name, resource_id, "test", "a test drives the executor directly")


def judged(executor, clients, resource_id: str, params: dict, category: str = ""):
    """What the gate makes of an executor's verification with the action's default evidence
    (rules/evidence.py): (holds, reason). The executor says whether the machine can take the
    action; the evidence says whether the live state shows what the signal claimed."""
    from rules.evidence import default_evidence, judge

    verdict = executor.verify(clients, resource_id, params)
    if not verdict.holds:
        return False, verdict.reason, verdict.facts
    annotation = params.get("signal_annotation") or ""
    evidence = default_evidence(executor.name, "annotation" if annotation else "availability", category)
    holds, said = judge(evidence, verdict.facts, {"annotation": annotation})
    return holds, "; ".join(part for part in (verdict.reason, said) if part), verdict.facts
