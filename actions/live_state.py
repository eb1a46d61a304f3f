"""Reads of the live state that verification, polling and recovery rely on.

Each reader makes one ARM GET through the SDK and hands back a small value read from the
wire names of ARM's JSON (the names AZURE-FACTS and Azure's docs use), so the rules in the
executors read like the documentation.

Which annotations are still active on a resource is read from Resource Graph, not from the
availability status (which never names one): `active_annotations`, from active_annotations.py.

RBAC: every reader lists the action it needs in READS; executors declare the readers they use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arm import SCALE_SET_VM, VM, ResourceId

from .active_annotations import (  # noqa: F401  (the annotations still active: read here too)
    READ_RESOURCE_GRAPH,
    ActiveAnnotation,
    active_annotations,
    annotation_active,
)
from .errors import NotApplicableError
from .lro import azure_errors
from .statuses import HEALTH, POWER, PROVISIONING, StatusCode, find_status, status_code
from .targets import kind_of

READ_AVAILABILITY = "Microsoft.ResourceHealth/availabilityStatuses/read"
READ_VM_INSTANCE_VIEW = "Microsoft.Compute/virtualMachines/instanceView/read"
READ_SCALE_SET_VM_INSTANCE_VIEW = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read"
READ_SCALE_SET_INSTANCE_VIEW = "Microsoft.Compute/virtualMachineScaleSets/instanceView/read"
READ_SCALE_SET = "Microsoft.Compute/virtualMachineScaleSets/read"
READ_SCALE_SET_VMS = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read"
READ_VMS = "Microsoft.Compute/virtualMachines/read"  # a Flexible scale set's machines are VMs
FLEXIBLE = "flexible"
READ_OPERATION = "Microsoft.Compute/locations/operations/read"


def parse_time(value: Any) -> datetime | None:
    """An ARM time, or None when it is none. Python 3.11's reader takes every form ARM writes:
    `Z` or an offset, up to seven fractional digits (it keeps six). No zone is taken as UTC."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _health(vm_health: Any) -> str | None:
    """The Application Health extension's state from an instance view's vmHealth
    (`HealthState/healthy`), lower-cased; None when it reports nothing."""
    parsed = status_code(((vm_health or {}).get("status") or {}).get("code"))
    return parsed.state if parsed is not None and parsed.kind == HEALTH else None


# -- Resource Health --------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """The current availability status of one resource (availabilityStatuses/current).

    `title` is the state again ("Available"); no field names an annotation (see active_annotations).
    """

    state: str  # Available | Unavailable | Degraded | Unknown
    summary: str = ""
    reason_type: str = ""
    occurred: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def read_availability(clients: Any, ref: ResourceId) -> Availability:
    health = clients.health(ref.subscription)
    with azure_errors(f"reading the availability status of {ref.id}", write=False):
        # The SDK's URL template is "/{resourceUri}/providers/...": the id goes in without its "/".
        status = health.availability_statuses.get_by_resource(ref.id.lstrip("/"))
    props = dict((status.as_dict() or {}).get("properties") or {})
    return Availability(
        state=str(props.get("availabilityState") or "Unknown"),
        summary=str(props.get("summary") or ""),
        reason_type=str(props.get("reasonType") or ""),
        occurred=parse_time(props.get("occuredTime") or props.get("occurredTime")),
        properties=props,
    )


# -- one machine (VM or scale-set VM) ----------------------------------------------------------


@dataclass(frozen=True)
class Maintenance:
    """maintenanceRedeployStatus of an instance view (present only when maintenance is planned)."""

    allowed: bool
    window_start: datetime | None
    window_end: datetime | None
    azure_window_start: datetime | None
    azure_window_end: datetime | None
    last_result: str | None  # None | RetryLater | MaintenanceAborted | MaintenanceCompleted
    last_message: str | None

    def window_open(self, now: datetime) -> bool:
        return bool(self.window_start and self.window_end and self.window_start <= now <= self.window_end)


@dataclass(frozen=True)
class Machine:
    """The instance view of a VM or a scale-set VM, reduced to what the actions decide on."""

    power_state: str | None  # running, deallocated, stopped, starting, stopping, deallocating
    provisioning_state: str | None  # succeeded, updating, failed, ... (the state alone, lower case)
    provisioning_time: datetime | None  # when the last operation on it ended
    update_domain: int | None
    fault_domain: int | None
    health: str | None  # application health: healthy | unhealthy | initializing | unknown
    host: str | None
    maintenance: Maintenance | None
    provisioning_error: str | None = None  # the code of ProvisioningState/failed/<code>

    @property
    def busy(self) -> bool:
        """An operation is under way on it: creating, updating, deleting, migrating, or power moving.

        A failed state (with or without an error code) is settled, not busy."""
        provisioning = StatusCode(PROVISIONING, self.provisioning_state) if self.provisioning_state else None
        power = StatusCode(POWER, self.power_state) if self.power_state else None
        return bool((provisioning and provisioning.busy) or (power and power.busy))

    @property
    def provisioning_failed(self) -> bool:
        return self.provisioning_state == "failed"

    @property
    def provisioning_text(self) -> str:
        """For messages: "updating", "failed (OSProvisioningTimedOut)"."""
        state = self.provisioning_state or "unknown"
        return f"{state} ({self.provisioning_error})" if self.provisioning_error else state


def read_machine(clients: Any, ref: ResourceId) -> Machine:
    compute = clients.compute(ref.subscription)
    with azure_errors(f"reading the instance view of {ref.id}", write=False):
        if ref.provider_type == VM:
            view = compute.virtual_machines.instance_view(ref.resource_group, ref.name)
        elif ref.provider_type == SCALE_SET_VM:
            view = compute.virtual_machine_scale_set_vms.get_instance_view(
                ref.resource_group, ref.scale_set_name, ref.instance_id
            )
        else:
            raise NotApplicableError("reading a machine", kind_of(ref), ("VM", "scale-set VM"))
    data = view.as_dict() or {}
    statuses = data.get("statuses") or []
    power, _ = find_status(statuses, POWER)
    provisioning, provisioned_at = find_status(statuses, PROVISIONING)
    health = _health(data.get("vmHealth"))
    m = data.get("maintenanceRedeployStatus")
    maintenance = None
    if m:
        maintenance = Maintenance(
            allowed=bool(m.get("isCustomerInitiatedMaintenanceAllowed")),
            window_start=parse_time(m.get("preMaintenanceWindowStartTime")),
            window_end=parse_time(m.get("preMaintenanceWindowEndTime")),
            azure_window_start=parse_time(m.get("maintenanceWindowStartTime")),
            azure_window_end=parse_time(m.get("maintenanceWindowEndTime")),
            last_result=m.get("lastOperationResultCode"),
            last_message=m.get("lastOperationMessage"),
        )
    host = data.get("assignedHost")
    return Machine(
        power_state=power.state if power else None,
        provisioning_state=provisioning.state if provisioning else None,
        provisioning_error=provisioning.error if provisioning else None,
        provisioning_time=parse_time(provisioned_at),
        update_domain=data.get("platformUpdateDomain"),
        fault_domain=data.get("platformFaultDomain"),
        health=health,
        host=host if isinstance(host, str) else None,
        maintenance=maintenance,
    )


# -- scale sets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleSetView:
    """The scale-set instance view: orchestration services and instance status counts."""

    services: dict[str, str]  # serviceName -> serviceState (Running | Suspended | NotRunning)
    service_changed: dict[str, datetime | None]
    statuses_summary: dict[str, int]  # code -> count, e.g. ProvisioningState/failed/... -> 1

    @property
    def repairs_state(self) -> str | None:
        for name, state in self.services.items():
            if name.lower() == "automaticrepairs":
                return state
        return None

    @property
    def repairs_changed(self) -> datetime | None:
        for name, changed in self.service_changed.items():
            if name.lower() == "automaticrepairs":
                return changed
        return None


def read_scale_set_view(clients: Any, ref: ResourceId) -> ScaleSetView:
    compute = clients.compute(ref.subscription)
    with azure_errors(f"reading the instance view of scale set {ref.scale_set_id}", write=False):
        view = compute.virtual_machine_scale_sets.get_instance_view(ref.resource_group, ref.scale_set_name)
    data = view.as_dict() or {}
    services: dict[str, str] = {}
    changed: dict[str, datetime | None] = {}
    for service in data.get("orchestrationServices") or []:
        name = service.get("serviceName")
        if name:
            services[name] = service.get("serviceState") or "NotRunning"
            changed[name] = parse_time(service.get("lastStatusChangeTime"))
    summary = {
        s.get("code"): int(s.get("count") or 0)
        for s in ((data.get("virtualMachine") or {}).get("statusesSummary") or [])
        if s.get("code")
    }
    return ScaleSetView(services=services, service_changed=changed, statuses_summary=summary)


@dataclass(frozen=True)
class ScaleSet:
    """The scale-set model: capacity and automatic repairs policy."""

    capacity: int
    provisioning_state: str | None
    repairs_enabled: bool
    repairs_grace_period: str | None
    repairs_action: str | None
    has_health_monitor: bool  # an application health extension or a load-balancer health probe
    orchestration_mode: str = "Uniform"  # Uniform | Flexible (Flexible: its machines are plain VMs)

    @property
    def flexible(self) -> bool:
        return self.orchestration_mode.lower() == FLEXIBLE


def read_scale_set(clients: Any, ref: ResourceId) -> ScaleSet:
    compute = clients.compute(ref.subscription)
    with azure_errors(f"reading scale set {ref.scale_set_id}", write=False):
        model = compute.virtual_machine_scale_sets.get(ref.resource_group, ref.scale_set_name)
    data = model.as_dict() or {}
    props = data.get("properties") or {}
    policy = props.get("automaticRepairsPolicy") or {}
    profile = props.get("virtualMachineProfile") or {}
    extensions = ((profile.get("extensionProfile") or {}).get("extensions")) or []
    has_extension = any(
        "applicationhealth" in str(((e.get("properties") or {}).get("type")) or "").lower() for e in extensions
    )
    has_probe = bool(((profile.get("networkProfile") or {}).get("healthProbe") or {}).get("id"))
    return ScaleSet(
        capacity=int(((data.get("sku") or {}).get("capacity")) or 0),
        provisioning_state=props.get("provisioningState"),
        repairs_enabled=bool(policy.get("enabled")),
        repairs_grace_period=policy.get("gracePeriod"),
        repairs_action=policy.get("repairAction"),
        has_health_monitor=has_extension or has_probe,
        orchestration_mode=str(props.get("orchestrationMode") or "Uniform"),
    )


@dataclass(frozen=True)
class Instance:
    """One machine of a scale set as listed: its id, ARM provisioning state, application health.

    A Uniform set's instance is known by its instance id ("3"); a Flexible set's machine is a VM,
    known by its name (which the set's batch delete takes as its instance id)."""

    instance_id: str
    provisioning_state: str  # Succeeded | Failed | Creating | Updating | Deleting ...
    health: str | None  # healthy | unhealthy | initializing | unknown (None: not reported)
    resource_id: str = ""  # the scale-set VM's or (Flexible) the VM's ARM id

    @property
    def failed(self) -> bool:
        return self.provisioning_state.lower() == "failed"


def read_instances(
    clients: Any, ref: ResourceId, *, with_health: bool = False, flexible: bool | None = None
) -> list[Instance]:
    """The machines of a scale set. `flexible` says the set's orchestration mode when the caller
    knows it; None reads the set's model first (one GET)."""
    if flexible is None:
        flexible = read_scale_set(clients, ref).flexible
    if flexible:
        return _flexible_machines(clients, ref)
    compute = clients.compute(ref.subscription)
    kwargs = {"expand": "instanceView"} if with_health else {}
    with azure_errors(f"listing the instances of scale set {ref.scale_set_id}", write=False):
        listed = list(compute.virtual_machine_scale_set_vms.list(ref.resource_group, ref.scale_set_name, **kwargs))
    instances = []
    for vm in listed:
        data = vm.as_dict() or {}
        props = data.get("properties") or {}
        view = props.get("instanceView") or {}
        provisioning = props.get("provisioningState")
        if not provisioning:
            found, _ = find_status(view.get("statuses"), PROVISIONING)
            provisioning = (found.state if found else "succeeded").capitalize()
        instances.append(
            Instance(
                instance_id=str(data.get("instanceId") or str(data.get("name", "")).rsplit("_", 1)[-1]),
                provisioning_state=str(provisioning),
                health=_health(view.get("vmHealth")),
                resource_id=str(data.get("id") or ""),
            )
        )
    return instances


def _flexible_machines(clients: Any, ref: ResourceId) -> list[Instance]:
    """A Flexible set has no scale-set VM list: its VMs are listed by the VM list, filtered on
    virtualMachineScaleSet/id, with their instance views (health, failed provisioning)."""
    compute = clients.compute(ref.subscription)
    with azure_errors(f"listing the VMs of Flexible scale set {ref.scale_set_id}", write=False):
        listed = list(compute.virtual_machines.list(
            ref.resource_group, filter=f"'virtualMachineScaleSet/id' eq '{ref.scale_set_id}'", expand="instanceView"))
    machines = []
    for vm in listed:
        data = vm.as_dict() or {}
        props = data.get("properties") or {}
        view = props.get("instanceView") or {}
        found, _ = find_status(view.get("statuses"), PROVISIONING)
        state = str(props.get("provisioningState") or (found.state if found else "succeeded").capitalize())
        if found is not None and found.failed:
            state = "Failed"
        machines.append(Instance(instance_id=str(data.get("name") or ""), provisioning_state=state,
                                 health=_health(view.get("vmHealth")), resource_id=str(data.get("id") or "")))  # fmt: skip
    return machines
