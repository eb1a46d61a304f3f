"""ARM JSON for the fleet's resources, in the shapes of shared/azure-examples.

Pure functions from a resource to a dict; the routes call them under the fleet's lock.
"""

from __future__ import annotations

from typing import Any

from .fleet import iso, utcnow
from .resources import ResourceGroup, ScaleSet, ScaleSetInstance, VirtualMachine

POWER_DISPLAY = {
    "running": "VM running",
    "deallocated": "VM deallocated",
    "stopped": "VM stopped",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "deallocating": "VM deallocating",
}
HEALTH_DISPLAY = {"Healthy": "The VM is healthy", "Unhealthy": "The VM is unhealthy", "Unknown": "The VM health is unknown"}


def provisioning_status(state: str, error: str | None, when: str) -> dict[str, Any]:
    lowered = state.lower()
    if lowered == "failed":
        code = f"ProvisioningState/failed/{error}" if error else "ProvisioningState/failed"
        return {
            "code": code,
            "level": "Error",
            "displayStatus": "Provisioning failed",
            "message": f"Provisioning failed: {error or 'the operation did not complete'}.",
            "time": when,
        }
    display = "Provisioning succeeded" if lowered == "succeeded" else state[:1].upper() + state[1:]
    return {"code": f"ProvisioningState/{lowered}", "level": "Info", "displayStatus": display, "time": when}


def power_status(state: str) -> dict[str, Any]:
    return {"code": f"PowerState/{state}", "level": "Info", "displayStatus": POWER_DISPLAY.get(state, state)}


def _statuses(res: VirtualMachine | ScaleSetInstance) -> list[dict[str, Any]]:
    error = res.provisioning_error
    return [provisioning_status(res.provisioning_state, error, res.state_changed), power_status(res.power_state)]


def _agent(res: VirtualMachine | ScaleSetInstance) -> dict[str, Any]:
    ready = res.power_state == "running" and res.provisioning_state.lower() == "succeeded"
    status = (
        {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
         "message": "Guest Agent is running", "time": res.state_changed}
        if ready
        else {"code": "ProvisioningState/Unavailable", "level": "Warning", "displayStatus": "Not Ready",
              "message": "VM status blob is found but not yet populated.", "time": res.state_changed}
    )  # fmt: skip
    return {"vmAgentVersion": "2.13.1.1" if ready else "Unknown", "statuses": [status]}


def _disks(name: str, when: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f"{name}_OsDisk_1",
            "statuses": [
                {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": when}
            ],
        }
    ]


def maintenance_status(m: dict[str, Any] | None) -> dict[str, Any] | None:
    return dict(m) if m else None


def vm_instance_view(vm: VirtualMachine) -> dict[str, Any]:
    view: dict[str, Any] = {
        "platformUpdateDomain": vm.update_domain,
        "platformFaultDomain": vm.fault_domain,
        "computerName": vm.computer_name,
        "osName": vm.os_name,
        "osVersion": vm.os_version,
        "vmAgent": _agent(vm),
        "disks": _disks(vm.name, vm.time_created),
        "hyperVGeneration": "V2",
        "statuses": _statuses(vm),
    }
    if vm.health_state:
        view["vmHealth"] = vm_health(vm.health_state, vm.state_changed)
    if vm.maintenance:
        view["maintenanceRedeployStatus"] = maintenance_status(vm.maintenance)
    return view


def vm_health(state: str, when: str) -> dict[str, Any]:
    """The Application Health extension's report in an instance view."""
    return {"status": {"code": f"HealthState/{state.lower()}", "level": "Info" if state == "Healthy" else "Warning",
                       "displayStatus": HEALTH_DISPLAY[state], "time": when}}


def vm_status_only_view(vm: VirtualMachine) -> dict[str, Any]:
    """What `statusOnly=true` lists carry: the statuses, domains and planned maintenance."""
    view: dict[str, Any] = {
        "platformUpdateDomain": vm.update_domain,
        "platformFaultDomain": vm.fault_domain,
        "computerName": vm.computer_name,
        "statuses": _statuses(vm),
    }
    if vm.health_state:
        view["vmHealth"] = vm_health(vm.health_state, vm.state_changed)
    if vm.maintenance:
        view["maintenanceRedeployStatus"] = maintenance_status(vm.maintenance)
    return view


def vm_model(vm: VirtualMachine, *, instance_view: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {
        "vmId": vm.vm_id,
        "hardwareProfile": {"vmSize": vm.vm_size},
        "storageProfile": {
            "osDisk": {
                "osType": vm.os_type,
                "name": f"{vm.name}_OsDisk_1",
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {
                    "storageAccountType": "Premium_LRS",
                    "id": f"/subscriptions/{vm.subscription_id}/resourceGroups/{vm.resource_group}"
                    f"/providers/Microsoft.Compute/disks/{vm.name}_OsDisk_1",
                },
                "deleteOption": "Delete",
                "diskSizeGB": 30,
            },
            "dataDisks": [],
        },
        "osProfile": {"computerName": vm.computer_name, "adminUsername": "azureuser"},
        "networkProfile": {
            "networkInterfaces": [
                {
                    "id": f"/subscriptions/{vm.subscription_id}/resourceGroups/{vm.resource_group}"
                    f"/providers/Microsoft.Network/networkInterfaces/{vm.name}-nic"
                }
            ]
        },
        "provisioningState": vm.provisioning_state,
        "timeCreated": vm.time_created,
    }
    if vm.availability_set_id:
        props["availabilitySet"] = {"id": vm.availability_set_id}
    props.update(_priority(vm.priority, vm.eviction_policy))
    if vm.scale_set_id:  # a Flexible scale set's VM
        props["virtualMachineScaleSet"] = {"id": vm.scale_set_id}
    if instance_view:
        props["instanceView"] = vm_instance_view(vm)
    out: dict[str, Any] = {
        "name": vm.name,
        "id": vm.id,
        "type": vm.type,
        "location": vm.location,
        "tags": dict(vm.tags),
        "properties": props,
    }
    if vm.managed_by:
        out["managedBy"] = vm.managed_by
    if vm.extensions:  # a VM's GET lists its extensions as child resources
        out["resources"] = [
            {"name": ext["name"], "id": f"{vm.id}/extensions/{ext['name']}", "type": "Microsoft.Compute/virtualMachines/extensions",
             "location": vm.location, "properties": {**_extension_properties(ext), "provisioningState": "Succeeded"}}
            for ext in vm.extensions
        ]
    if vm.zones:
        out["zones"] = list(vm.zones)
    return out


def _priority(priority: str | None, eviction_policy: str | None) -> dict[str, Any]:
    """A Spot machine's billing fields, as a VM's properties and a scale set's profile carry them."""
    out: dict[str, Any] = {}
    if priority:
        out["priority"] = priority
    if eviction_policy:
        out["evictionPolicy"] = eviction_policy
    if priority == "Spot":
        out["billingProfile"] = {"maxPrice": -1}
    return out


def _extension_properties(ext: dict[str, Any]) -> dict[str, Any]:
    return {"publisher": ext["publisher"], "type": ext["type"], "typeHandlerVersion": ext["typeHandlerVersion"],
            "autoUpgradeMinorVersion": True}


def resource_group(group: ResourceGroup) -> dict[str, Any]:
    """ResourceGroups_Get: managedBy only when a resource manages the group."""
    out: dict[str, Any] = {
        "id": group.id,
        "name": group.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": group.location,
        "properties": {"provisioningState": "Succeeded"},
    }
    if group.managed_by:
        out["managedBy"] = group.managed_by
    if group.tags:
        out["tags"] = dict(group.tags)
    return out


def vm_status_only(vm: VirtualMachine) -> dict[str, Any]:
    return {
        "name": vm.name,
        "id": vm.id,
        "type": vm.type,
        "location": vm.location,
        "properties": {"instanceView": vm_status_only_view(vm)},
    }


# -- scale sets ------------------------------------------------------------------------------


def orchestration_services(ss: ScaleSet) -> list[dict[str, Any]]:
    if ss.orchestration_state is None:  # Azure lists no service for it
        return []
    return [
        {
            "serviceName": "AutomaticRepairs",
            "serviceState": ss.orchestration_state,
            "lastStatusChangeTime": ss.orchestration_changed,
        }
    ]


def scale_set_model(ss: ScaleSet) -> dict[str, Any]:
    props: dict[str, Any] = {
        "singlePlacementGroup": False,
        "orchestrationMode": ss.orchestration_mode,
        "upgradePolicy": {"mode": ss.upgrade_mode},
        "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": ss.name.replace("-", "")[:9], "adminUsername": "azureuser"},
            "storageProfile": {
                "osDisk": {"createOption": "FromImage", "caching": "ReadWrite", "managedDisk": {"storageAccountType": "Premium_LRS"}},
                "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
            },
            "extensionProfile": {
                "extensions": [
                    {
                        "name": "HealthExtension",
                        "properties": {
                            "publisher": "Microsoft.ManagedServices",
                            "type": "ApplicationHealthLinux",
                            "typeHandlerVersion": "2.0",
                            "autoUpgradeMinorVersion": True,
                            "settings": {"protocol": "http", "port": 80, "requestPath": "/health"},
                        },
                    },
                    *({"name": ext["name"], "properties": _extension_properties(ext)} for ext in ss.extensions),
                ]
            },
            **_priority(ss.priority, ss.eviction_policy),
        },
        "provisioningState": ss.provisioning_state,
        "overprovision": False,
        "uniqueId": ss.unique_id,
        "timeCreated": ss.time_created,
    }
    if ss.automatic_repairs_policy is not None:
        props["automaticRepairsPolicy"] = dict(ss.automatic_repairs_policy)
    out: dict[str, Any] = {
        "name": ss.name,
        "id": ss.id,
        "type": ss.type,
        "location": ss.location,
        "tags": dict(ss.tags),
        "sku": {"name": ss.sku_name, "tier": ss.sku_tier, "capacity": ss.capacity},
        "properties": props,
    }
    if ss.managed_by:
        out["managedBy"] = ss.managed_by
    if ss.zones:
        out["zones"] = list(ss.zones)
    return out


def scale_set_instance_view(ss: ScaleSet) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for inst in ss.instances.values():
        for status in _statuses(inst):
            counts[status["code"]] = counts.get(status["code"], 0) + 1
    health: dict[str, int] = {}
    for inst in ss.instances.values():
        if inst.health_state:
            code = f"HealthState/{inst.health_state.lower()}"
            health[code] = health.get(code, 0) + 1
    view: dict[str, Any] = {
        "virtualMachine": {"statusesSummary": [{"code": c, "count": n} for c, n in counts.items()]},
        "extensions": [
            {
                "name": "HealthExtension",
                "statusesSummary": [{"code": "ProvisioningState/succeeded", "count": len(ss.instances)}],
            }
        ],
        "statuses": [provisioning_status(ss.provisioning_state, None, ss.state_changed)],
        "orchestrationServices": orchestration_services(ss),
    }
    return view


def instance_view(inst: ScaleSetInstance) -> dict[str, Any]:
    view: dict[str, Any] = {
        "platformUpdateDomain": inst.update_domain,
        "platformFaultDomain": inst.fault_domain,
        "computerName": inst.computer_name,
        "osName": "ubuntu",
        "osVersion": "24.04",
        "vmAgent": _agent(inst),
        "disks": _disks(inst.name, inst.time_created),
        "statuses": _statuses(inst),
    }
    if inst.health_state:
        level = "Info" if inst.health_state == "Healthy" else "Warning"
        view["vmHealth"] = {
            "status": {
                "code": f"HealthState/{inst.health_state.lower()}",
                "level": level,
                "displayStatus": HEALTH_DISPLAY[inst.health_state],
                "time": inst.state_changed,
            }
        }
    if inst.maintenance:
        view["maintenanceRedeployStatus"] = maintenance_status(inst.maintenance)
    return view


def instance_model(inst: ScaleSetInstance, *, with_instance_view: bool = False) -> dict[str, Any]:
    ss = inst.scale_set
    props: dict[str, Any] = {
        "latestModelApplied": inst.latest_model_applied,
        "vmId": inst.vm_id,
        "hardwareProfile": {"vmSize": ss.sku_name},
        "osProfile": {"computerName": inst.computer_name, "adminUsername": "azureuser"},
        "provisioningState": inst.provisioning_state,
        "timeCreated": inst.time_created,
    }
    if with_instance_view:
        props["instanceView"] = instance_view(inst)
    out: dict[str, Any] = {
        "name": inst.name,
        "id": inst.id,
        "type": inst.type,
        "location": ss.location,
        "tags": dict(ss.tags),
        "instanceId": inst.instance_id,
        "sku": {"name": ss.sku_name, "tier": ss.sku_tier},
        "properties": props,
    }
    if inst.zones:
        out["zones"] = list(inst.zones)
    return out


# -- Resource Health -------------------------------------------------------------------------

SUMMARIES = {
    "Available": "There aren't any known Azure platform problems affecting this resource.",
    "Unavailable": "We're sorry, your resource is unavailable.",
    "Degraded": "We're sorry, your resource is running with degraded performance.",
    "Unknown": "We are currently unable to determine the health of this resource.",
}


def availability_status(res: Any, *, expand_actions: bool = True) -> dict[str, Any]:
    state = res.availability_state
    note = res.annotation or {}
    props: dict[str, Any] = {
        "availabilityState": state,
        # Azure's title is the state ("Available", "Unavailable"); no field names the annotation
        # (that is in Resource Graph's HealthResources, simulator/resource_graph.py).
        "title": state,
        "summary": note.get("summary") or SUMMARIES.get(state, state),
        "detailedStatus": note.get("reason") or SUMMARIES.get(state, state),
        "reasonType": note.get("reasonType") or ("Unplanned" if state != "Available" else ""),
        "context": note.get("context") or ("Platform Initiated" if note else "Not Applicable"),
        "category": note.get("category") or ("Unplanned" if state != "Available" else "Not Applicable"),
        "reasonChronicity": "Persistent" if state != "Available" else "Transient",
        "occuredTime": note.get("occurredTime") or res.state_changed,
        "reportedTime": iso(utcnow()),
    }
    if not props["reasonType"]:
        del props["reasonType"]
    if expand_actions and state != "Available":
        props["recommendedActions"] = [
            {
                "action": "Redeploy this virtual machine to move it to a new Azure host.",
                "actionUrl": "<#ResourceBlade>",
                "actionUrlText": "redeploy",
            },
            {
                "action": "If you are experiencing problems you believe are caused by Azure, contact support",
                "actionUrl": "<#SupportCase>",
                "actionUrlText": "contact support",
            },
        ]
    return {
        "id": f"{res.id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        "name": "current",
        "type": "Microsoft.ResourceHealth/AvailabilityStatuses",
        "location": res.location,
        "properties": props,
    }


# -- DevTest Labs auto-shutdown schedules ----------------------------------------------------


def auto_shutdown_schedule(vm: VirtualMachine) -> dict[str, Any]:
    """`Microsoft.DevTestLab/schedules/shutdown-computevm-<vm>`, as the portal's auto-shutdown
    (and DevTest Labs) writes it: a daily ComputeVmShutdownTask aimed at the VM."""
    schedule = vm.auto_shutdown or {}
    name = f"shutdown-computevm-{vm.name}"
    return {
        "id": f"/subscriptions/{vm.subscription_id}/resourceGroups/{vm.resource_group}/providers/microsoft.devtestlab/schedules/{name}",
        "name": name,
        "type": "microsoft.devtestlab/schedules",
        "location": vm.location,
        "properties": {
            "status": schedule.get("status", "Enabled"),
            "taskType": "ComputeVmShutdownTask",
            "dailyRecurrence": {"time": schedule.get("time", "1900")},
            "timeZoneId": schedule.get("timeZoneId", "UTC"),
            "notificationSettings": {"status": "Disabled", "timeInMinutes": 30},
            "createdDate": vm.time_created,
            "targetResourceId": vm.id,
            "provisioningState": "Succeeded",
        },
    }
