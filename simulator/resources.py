"""The live state of one simulated resource: a VM, a scale set, a scale-set instance.

Plain mutable objects; the fleet holds them under its lock. Field names are Python's; the fleet
file uses ARM's camelCase names for the same things (see `fleet.py` and docs/simulated-azure.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

AVAILABILITY_STATES = ("Available", "Unavailable", "Degraded", "Unknown")
POWER_STATES = ("running", "deallocated", "stopped", "starting", "stopping", "deallocating")
HEALTH_STATES = ("Healthy", "Unhealthy", "Unknown")
ORCHESTRATION_STATES = ("Running", "Suspended", "NotRunning")
PRIORITIES = ("Regular", "Low", "Spot")
EVICTION_POLICIES = ("Deallocate", "Delete")

COMPUTE = "/providers/Microsoft.Compute"


def new_host_id() -> str:
    return "host-" + uuid.uuid4().hex[:12]


@dataclass(eq=False)
class VirtualMachine:
    subscription_id: str
    resource_group: str
    name: str
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)
    availability_set: str | None = None
    zones: list[str] = field(default_factory=list)
    update_domain: int = 0
    fault_domain: int = 0
    power_state: str = "running"
    provisioning_state: str = "Succeeded"
    provisioning_error: str | None = None  # e.g. VMExtensionProvisioningError: ProvisioningState/failed/<code>
    scale_set_id: str | None = None  # a Flexible scale set's VM names its set (virtualMachineScaleSet.id)
    health_state: str | None = None  # Application Health extension: Healthy | Unhealthy | Unknown; None: none
    availability_state: str = "Available"
    annotation: dict[str, Any] | None = None  # current Resource Health annotation: name, reason, summary, ...
    maintenance: dict[str, Any] | None = None  # maintenanceRedeployStatus, or None when none is planned
    host_id: str = field(default_factory=new_host_id)
    vm_size: str = "Standard_D2s_v5"
    os_type: str = "Linux"
    os_name: str = "ubuntu"
    os_version: str = "22.04"
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_created: str = ""
    state_changed: str = ""  # when availability last changed (Resource Health occuredTime)
    managed_by: str | None = None  # another resource that manages this one (a Flexible scale set, say)
    priority: str | None = None  # Regular | Low | Spot; None: not set, as ARM omits it
    eviction_policy: str | None = None  # Deallocate | Delete, for Spot
    extensions: list[dict[str, Any]] = field(default_factory=list)  # {name, publisher, type, typeHandlerVersion}
    # Its DevTest Labs auto-shutdown schedule (shutdown-computevm-<name>): status, time, timeZoneId
    auto_shutdown: dict[str, Any] | None = None

    type = "Microsoft.Compute/virtualMachines"
    kind = "vm"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"{COMPUTE}/virtualMachines/{self.name}"
        )

    @property
    def availability_set_id(self) -> str | None:
        if not self.availability_set:
            return None
        if self.availability_set.startswith("/"):
            return self.availability_set
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"{COMPUTE}/availabilitySets/{self.availability_set}"
        )

    @property
    def computer_name(self) -> str:
        return self.name


@dataclass(eq=False)
class ScaleSetInstance:
    scale_set: ScaleSet
    instance_id: str
    provisioning_state: str = "Succeeded"
    provisioning_error: str | None = None  # e.g. OSProvisioningTimedOut, shown as ProvisioningState/failed/<code>
    health_state: str | None = "Healthy"  # application health; None: no health extension or probe
    power_state: str = "running"
    availability_state: str = "Available"
    annotation: dict[str, Any] | None = None
    update_domain: int = 0
    fault_domain: int = 0
    maintenance: dict[str, Any] | None = None
    host_id: str = field(default_factory=new_host_id)
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    latest_model_applied: bool = True
    zones: list[str] = field(default_factory=list)
    time_created: str = ""
    state_changed: str = ""

    type = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
    kind = "instance"

    @property
    def id(self) -> str:
        return f"{self.scale_set.id}/virtualMachines/{self.instance_id}"

    @property
    def name(self) -> str:
        return f"{self.scale_set.name}_{self.instance_id}"

    @property
    def subscription_id(self) -> str:
        return self.scale_set.subscription_id

    @property
    def resource_group(self) -> str:
        return self.scale_set.resource_group

    @property
    def location(self) -> str:
        return self.scale_set.location

    @property
    def tags(self) -> dict[str, str]:
        return self.scale_set.tags

    @property
    def computer_name(self) -> str:
        base = self.scale_set.name.replace("-", "")[:9]
        return f"{base}{int(self.instance_id):06X}" if self.instance_id.isdigit() else f"{base}{self.instance_id}"


@dataclass(eq=False)
class ScaleSet:
    subscription_id: str
    resource_group: str
    name: str
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)
    sku_name: str = "Standard_D2s_v5"
    sku_tier: str = "Standard"
    capacity: int = 0
    zones: list[str] = field(default_factory=list)
    automatic_repairs_policy: dict[str, Any] | None = None  # {enabled, gracePeriod, repairAction}
    orchestration_state: str | None = "NotRunning"  # AutomaticRepairs service state; None: not listed
    orchestration_changed: str = ""
    health_probe_broken: bool = False  # every instance stays Unhealthy whatever is done to it
    instance_defaults: dict[str, Any] = field(default_factory=dict)  # fleet-file fields for new instances
    provisioning_state: str = "Succeeded"
    availability_state: str = "Available"
    annotation: dict[str, Any] | None = None
    upgrade_mode: str = "Manual"
    orchestration_mode: str = "Uniform"  # Uniform | Flexible (Flexible: its machines are VMs, see flexible.py)
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_created: str = ""
    state_changed: str = ""
    instances: dict[str, ScaleSetInstance] = field(default_factory=dict)  # instance id -> instance, in order
    next_instance_id: int = 0
    managed_by: str | None = None
    priority: str | None = None  # of the instances' profile
    eviction_policy: str | None = None
    extensions: list[dict[str, Any]] = field(default_factory=list)  # in the model, beside the health extension

    type = "Microsoft.Compute/virtualMachineScaleSets"
    kind = "scale-set"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"{COMPUTE}/virtualMachineScaleSets/{self.name}"
        )

    def instance(self, instance_id: str | int) -> ScaleSetInstance | None:
        return self.instances.get(str(instance_id))

    def take_instance_id(self) -> str:
        while str(self.next_instance_id) in self.instances:
            self.next_instance_id += 1
        iid = str(self.next_instance_id)
        self.next_instance_id += 1
        return iid


@dataclass(eq=False)
class ResourceGroup:
    """A resource group as ARM answers for it: a platform's own group carries `managedBy`."""

    subscription_id: str
    name: str
    location: str = "westeurope"
    managed_by: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}"


Resource = VirtualMachine | ScaleSet | ScaleSetInstance
