"""The fleet file: JSON entries to VMs, scale sets and instances, checked as they are read.

Unknown keys are errors, so a typo in a fleet file fails loudly instead of being ignored. Times
may be relative to load time ("-1h", "+2d", "now"). The format is in docs/simulated-azure.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from .resources import (
    AVAILABILITY_STATES,
    EVICTION_POLICIES,
    HEALTH_STATES,
    ORCHESTRATION_STATES,
    POWER_STATES,
    PRIORITIES,
    ResourceGroup,
    ScaleSet,
    ScaleSetInstance,
    VirtualMachine,
)

MAINTENANCE_FIELDS = (
    "isCustomerInitiatedMaintenanceAllowed",
    "preMaintenanceWindowStartTime",
    "preMaintenanceWindowEndTime",
    "maintenanceWindowStartTime",
    "maintenanceWindowEndTime",
    "lastOperationResultCode",
    "lastOperationMessage",
)
MAINTENANCE_TIMES = MAINTENANCE_FIELDS[1:5]
ANNOTATION_FIELDS = ("name", "reason", "summary", "context", "category", "reasonType", "impactType", "occurredTime")

_RELATIVE = re.compile(r"^\s*(?:now)?\s*(?:([+-])\s*(\d+(?:\.\d+)?)\s*([smhdw]))?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class FleetError(ValueError):
    """A fleet file or spec that cannot be loaded."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def resolve_time(value: Any, now: dt.datetime | None = None) -> Any:
    """'-1h', '+2d', '+30m', 'now' -> an ISO 8601 UTC time; anything else is returned as is."""
    if not isinstance(value, str):
        return value
    m = _RELATIVE.match(value)
    if not m or not value.strip():
        return value
    now = now or utcnow()
    sign, amount, unit = m.groups()
    if sign is None:
        return iso(now)
    delta = dt.timedelta(seconds=float(amount) * _UNITS[unit.lower()])
    return iso(now + delta if sign == "+" else now - delta)


def check_keys(where: str, data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise FleetError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _one_of(where: str, value: Any, allowed: Iterable[str]) -> str:
    for a in allowed:
        if isinstance(value, str) and value.lower() == a.lower():
            return a
    raise FleetError(f"{where}: {value!r} is not one of {list(allowed)}")


def _maintenance(where: str, data: Any, now: dt.datetime) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise FleetError(f"{where}: maintenance must be an object")
    check_keys(where + ".maintenance", data, MAINTENANCE_FIELDS)
    out = {k: (resolve_time(v, now) if k in MAINTENANCE_TIMES else v) for k, v in data.items()}
    out.setdefault("isCustomerInitiatedMaintenanceAllowed", False)
    return out


def _annotation(where: str, data: Any, now: dt.datetime) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict) or "name" not in data:
        raise FleetError(f"{where}: annotation must be a name or an object with a name")
    check_keys(where + ".annotation", data, ANNOTATION_FIELDS)
    out = dict(data)
    out["occurredTime"] = resolve_time(out.get("occurredTime", "-10m"), now)
    return out


# Who manages a machine, and how it is billed: on VMs and scale sets alike.
OWNERSHIP_KEYS = ("managedBy", "priority", "evictionPolicy", "extensions")
EXTENSION_KEYS = ("name", "publisher", "type", "typeHandlerVersion")
RESOURCE_GROUP_KEYS = ("name", "subscriptionId", "location", "managedBy", "tags")
VM_KEYS = (
    "name", "subscriptionId", "resourceGroup", "location", "tags", "availabilitySet", "zones",
    "updateDomain", "faultDomain", "powerState", "provisioningState", "availabilityState",
    "annotation", "maintenance", "hostId", "vmSize", "osType", "osName", "osVersion", "vmId",
    "timeCreated", "stateChanged", "provisioningError", "autoShutdown", "healthState", *OWNERSHIP_KEYS,
)  # fmt: skip
INSTANCE_KEYS = (
    "instanceId", "provisioningState", "provisioningError", "healthState", "powerState",
    "availabilityState", "annotation", "updateDomain", "faultDomain", "maintenance", "hostId",
    "vmId", "latestModelApplied", "zones", "timeCreated", "stateChanged",
)  # fmt: skip
SCALE_SET_KEYS = (
    "name", "subscriptionId", "resourceGroup", "location", "tags", "sku", "capacity", "zones",
    "automaticRepairsPolicy", "orchestrationServiceState", "healthProbeBroken", "instances",
    "instanceDefaults", "availabilityState", "annotation", "upgradeMode", "timeCreated", "orchestrationMode",
    *OWNERSHIP_KEYS,
)  # fmt: skip


def _require(where: str, spec: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not spec.get(k)]
    if missing:
        raise FleetError(f"{where}: missing {missing} (give them, or set them in 'defaults')")


def _extensions(where: str, data: Any) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise FleetError(f"{where}.extensions: a list of {{publisher, type[, name, typeHandlerVersion]}}")
    out = []
    for i, ext in enumerate(data):
        at = f"{where}.extensions[{i}]"
        if not isinstance(ext, dict):
            raise FleetError(f"{at}: an object with publisher and type")
        check_keys(at, ext, EXTENSION_KEYS)
        _require(at, ext, "publisher", "type")
        out.append({"name": ext.get("name") or ext["type"], "publisher": ext["publisher"], "type": ext["type"],
                    "typeHandlerVersion": ext.get("typeHandlerVersion", "1.0")})
    return out


def _ownership(where: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The managedBy, Spot priority and extensions of a VM or scale set entry, as resource fields."""
    priority, eviction = spec.get("priority"), spec.get("evictionPolicy")
    return {
        "managed_by": spec.get("managedBy") or None,
        "priority": None if priority is None else _one_of(where + ".priority", priority, PRIORITIES),
        "eviction_policy": None if eviction is None else _one_of(where + ".evictionPolicy", eviction, EVICTION_POLICIES),
        "extensions": _extensions(where, spec.get("extensions")),
    }


def resource_group_from_spec(spec: dict[str, Any], *, where: str) -> ResourceGroup:
    """A resource group from its fleet-file entry: where a platform's group says who manages it."""
    check_keys(where, spec, RESOURCE_GROUP_KEYS)
    _require(where, spec, "name", "subscriptionId")
    return ResourceGroup(subscription_id=spec["subscriptionId"], name=spec["name"], location=spec.get("location", "westeurope"),
                         managed_by=spec.get("managedBy") or None, tags=dict(spec.get("tags") or {}))


def vm_from_spec(spec: dict[str, Any], *, where: str, now: dt.datetime) -> VirtualMachine:
    """A VM from its fleet-file entry (with `defaults` merged in)."""
    check_keys(where, spec, VM_KEYS)
    _require(where, spec, "name", "subscriptionId", "resourceGroup")
    vm = VirtualMachine(
        subscription_id=spec["subscriptionId"],
        resource_group=spec["resourceGroup"],
        name=spec["name"],
        location=spec.get("location", "westeurope"),
        tags=dict(spec.get("tags") or {}),
        availability_set=spec.get("availabilitySet"),
        zones=[str(z) for z in spec.get("zones") or []],
        update_domain=int(spec.get("updateDomain", 0)),
        fault_domain=int(spec.get("faultDomain", 0)),
        power_state=_one_of(where + ".powerState", spec.get("powerState", "running"), POWER_STATES),
        provisioning_state=spec.get("provisioningState", "Succeeded"),
        provisioning_error=spec.get("provisioningError"),
        health_state=None if spec.get("healthState") is None else _one_of(
            where + ".healthState", spec["healthState"], HEALTH_STATES),
        availability_state=_one_of(
            where + ".availabilityState", spec.get("availabilityState", "Available"), AVAILABILITY_STATES
        ),
        annotation=_annotation(where, spec.get("annotation"), now),
        maintenance=_maintenance(where, spec.get("maintenance"), now),
        vm_size=spec.get("vmSize", "Standard_D2s_v5"),
        os_type=spec.get("osType", "Linux"),
        os_name=spec.get("osName", "ubuntu"),
        os_version=spec.get("osVersion", "22.04"),
        time_created=resolve_time(spec.get("timeCreated", "-30d"), now),
        state_changed=resolve_time(spec.get("stateChanged", "-10m"), now),
        **_ownership(where, spec),
    )
    if spec.get("hostId"):
        vm.host_id = spec["hostId"]
    if spec.get("vmId"):
        vm.vm_id = spec["vmId"]
    if spec.get("autoShutdown") is not None:
        vm.auto_shutdown = _auto_shutdown(where + ".autoShutdown", spec["autoShutdown"])
    return vm


def _auto_shutdown(where: str, spec: Any) -> dict[str, Any]:
    """A VM's auto-shutdown schedule: `{time: "1900", timeZoneId: "UTC", status: "Enabled"}`, or
    just the time of day."""
    spec = {"time": spec} if isinstance(spec, str) else spec
    if not isinstance(spec, dict):
        raise FleetError(f"{where}: expected a time of day such as \"1900\" or {{time, timeZoneId, status}}")
    check_keys(where, spec, ("time", "timeZoneId", "status"))
    time = str(spec.get("time", "1900"))
    if not re.fullmatch(r"([01]\d|2[0-3]):?[0-5]\d", time):
        raise FleetError(f"{where}.time: {time!r} is not a time of day such as 1900")
    return {"time": time.replace(":", ""), "timeZoneId": str(spec.get("timeZoneId", "UTC")),
            "status": _one_of(where + ".status", spec.get("status", "Enabled"), ("Enabled", "Disabled"))}


def scale_set_from_spec(spec: dict[str, Any], *, where: str, now: dt.datetime) -> ScaleSet:
    """A scale set and its instances from its fleet-file entry, filled up to its capacity."""
    check_keys(where, spec, SCALE_SET_KEYS)
    _require(where, spec, "name", "subscriptionId", "resourceGroup")
    sku = spec.get("sku") or {}
    if isinstance(sku, str):
        sku = {"name": sku}
    policy = spec.get("automaticRepairsPolicy")
    if policy is not None:
        check_keys(where + ".automaticRepairsPolicy", policy, ("enabled", "gracePeriod", "repairAction"))
        policy = {"enabled": bool(policy.get("enabled", False)), "gracePeriod": policy.get("gracePeriod", "PT10M"),
                  **({"repairAction": policy["repairAction"]} if "repairAction" in policy else {})}  # fmt: skip
    default_state = "Running" if policy and policy["enabled"] else "NotRunning"
    ss = ScaleSet(
        subscription_id=spec["subscriptionId"],
        resource_group=spec["resourceGroup"],
        name=spec["name"],
        location=spec.get("location", "westeurope"),
        tags=dict(spec.get("tags") or {}),
        sku_name=sku.get("name", "Standard_D2s_v5"),
        sku_tier=sku.get("tier", "Standard"),
        zones=[str(z) for z in spec.get("zones") or []],
        automatic_repairs_policy=policy,
        # null: the instance view lists no AutomaticRepairs service at all (a policy not applied yet)
        orchestration_state=None if "orchestrationServiceState" in spec and spec["orchestrationServiceState"] is None else _one_of(
            where + ".orchestrationServiceState",
            spec.get("orchestrationServiceState", default_state),
            ORCHESTRATION_STATES,
        ),
        orchestration_changed=iso(now - dt.timedelta(hours=1)),
        health_probe_broken=bool(spec.get("healthProbeBroken", False)),
        instance_defaults=dict(spec.get("instanceDefaults") or {}),
        availability_state=_one_of(
            where + ".availabilityState", spec.get("availabilityState", "Available"), AVAILABILITY_STATES
        ),
        annotation=_annotation(where, spec.get("annotation"), now),
        upgrade_mode=spec.get("upgradeMode", "Manual"),
        orchestration_mode=_one_of(where + ".orchestrationMode", spec.get("orchestrationMode", "Uniform"),
                                   ("Uniform", "Flexible")),
        time_created=resolve_time(spec.get("timeCreated", "-30d"), now),
        state_changed=iso(now - dt.timedelta(minutes=10)),
        **_ownership(where, spec),
    )
    if ss.orchestration_mode == "Flexible":  # its machines are VMs: the fleet adds them (flexible.py)
        listed = len(spec.get("instances") or [])
        ss.capacity = int(spec.get("capacity", listed))
        if ss.capacity < listed:
            raise FleetError(f"{where}: capacity {ss.capacity} is less than the {listed} instances listed")
        return ss
    check_keys(where + ".instanceDefaults", ss.instance_defaults, INSTANCE_KEYS)
    for i, ispec in enumerate(spec.get("instances") or []):
        instance_from_spec(ss, ispec, where=f"{where}.instances[{i}]", now=now)
    capacity = int(spec.get("capacity", len(ss.instances)))
    if capacity < len(ss.instances):
        raise FleetError(f"{where}: capacity {capacity} is less than the {len(ss.instances)} instances listed")
    free = (str(n) for n in range(capacity * 2 + 1) if str(n) not in ss.instances)
    while len(ss.instances) < capacity:  # fill with the lowest free ids, as a new scale set has
        instance_from_spec(ss, {"instanceId": next(free)}, where=f"{where}.instances[+]", now=now)
    ss.instances = dict(sorted(ss.instances.items(), key=lambda kv: (len(kv[0]), kv[0])))
    ss.capacity = capacity
    return ss


def instance_from_spec(ss: ScaleSet, spec: dict[str, Any], *, where: str, now: dt.datetime) -> ScaleSetInstance:
    """Add an instance to `ss.instances` from fleet-file fields over the set's `instanceDefaults`."""
    merged = {**ss.instance_defaults, **spec}
    check_keys(where, merged, INSTANCE_KEYS)
    iid = str(spec["instanceId"]) if "instanceId" in spec else ss.take_instance_id()
    if iid in ss.instances:
        raise FleetError(f"{where}: instance id {iid} is used twice in {ss.name}")
    n = int(iid) if iid.isdigit() else len(ss.instances)
    health = merged.get("healthState", "Healthy")
    if ss.health_probe_broken:
        health = "Unhealthy"
    prov = merged.get("provisioningState", "Succeeded")
    prov = "Failed" if str(prov).lower() == "failed" else str(prov)[:1].upper() + str(prov)[1:]
    inst = ScaleSetInstance(
        scale_set=ss,
        instance_id=iid,
        provisioning_state=prov,
        provisioning_error=merged.get("provisioningError"),
        health_state=None if health is None else _one_of(where + ".healthState", health, HEALTH_STATES),
        power_state=_one_of(where + ".powerState", merged.get("powerState", "running"), POWER_STATES),
        availability_state=_one_of(
            where + ".availabilityState", merged.get("availabilityState", "Available"), AVAILABILITY_STATES
        ),
        annotation=_annotation(where, merged.get("annotation"), now),
        update_domain=int(merged.get("updateDomain", n % 5)),
        fault_domain=int(merged.get("faultDomain", n % 5)),
        maintenance=_maintenance(where, merged.get("maintenance"), now),
        latest_model_applied=bool(merged.get("latestModelApplied", True)),
        zones=[str(z) for z in merged.get("zones") or ([ss.zones[n % len(ss.zones)]] if ss.zones else [])],
        time_created=resolve_time(merged.get("timeCreated", "-30d"), now),
        state_changed=resolve_time(merged.get("stateChanged", "-10m"), now),
    )
    if merged.get("hostId"):
        inst.host_id = merged["hostId"]
    if merged.get("vmId"):
        inst.vm_id = merged["vmId"]
    ss.instances[iid] = inst
    if iid.isdigit():
        ss.next_instance_id = max(ss.next_instance_id, int(iid) + 1)
    return inst
