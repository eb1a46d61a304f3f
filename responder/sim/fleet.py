"""The simulated fleet: subscriptions, VMs and scale sets, keyed case-insensitively by ARM id.

Loaded from a fleet file (JSON; format in docs/simulated-azure.md), a dict, or built in code;
`Fleet.generate(vms=50_000)` (or a `generate` entry in the file) adds many VMs without a file
that lists them. Times in the file may be relative to load time ("-1h", "+2d", "now").
Unknown keys are errors, so a typo in a fleet file fails loudly instead of being ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import threading
from typing import Any, Iterable, Iterator

from .resources import (
    AVAILABILITY_STATES,
    HEALTH_STATES,
    ORCHESTRATION_STATES,
    POWER_STATES,
    Resource,
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
    return dt.datetime.now(dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def _check_keys(where: str, data: dict[str, Any], allowed: Iterable[str]) -> None:
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
    _check_keys(where + ".maintenance", data, MAINTENANCE_FIELDS)
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
    _check_keys(where + ".annotation", data, ANNOTATION_FIELDS)
    out = dict(data)
    out["occurredTime"] = resolve_time(out.get("occurredTime", "-10m"), now)
    return out


VM_KEYS = (
    "name", "subscriptionId", "resourceGroup", "location", "tags", "availabilitySet", "zones",
    "updateDomain", "faultDomain", "powerState", "provisioningState", "availabilityState",
    "annotation", "maintenance", "hostId", "vmSize", "osType", "osName", "osVersion", "vmId",
    "timeCreated", "stateChanged",
)  # fmt: skip
INSTANCE_KEYS = (
    "instanceId", "provisioningState", "provisioningError", "healthState", "powerState",
    "availabilityState", "annotation", "updateDomain", "faultDomain", "maintenance", "hostId",
    "vmId", "latestModelApplied", "zones", "timeCreated", "stateChanged",
)  # fmt: skip
SCALE_SET_KEYS = (
    "name", "subscriptionId", "resourceGroup", "location", "tags", "sku", "capacity", "zones",
    "automaticRepairsPolicy", "orchestrationServiceState", "healthProbeBroken", "instances",
    "instanceDefaults", "availabilityState", "annotation", "upgradeMode", "timeCreated",
)  # fmt: skip
GENERATE_KEYS = (
    "vms", "prefix", "subscriptionId", "resourceGroup", "resourceGroups", "location", "tags",
    "updateDomains", "faultDomains", "degraded", "unavailable", "annotation", "maintenance",
    "maintenanceWindow", "deallocated", "seed", "start",
)  # fmt: skip


class Fleet:
    """Live state of the simulated Azure. Thread-safe through `lock` (held by the server's routes)."""

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.lock = threading.RLock()
        self.loaded_at = now or utcnow()
        self.subscriptions: dict[str, dict[str, Any]] = {}  # lower-cased id -> {subscriptionId, displayName, state}
        self._by_id: dict[str, Resource] = {}  # lower-cased ARM id -> resource
        self._vms_by_sub: dict[str, list[VirtualMachine]] = {}
        self._sets_by_sub: dict[str, list[ScaleSet]] = {}
        self._by_name: dict[str, list[Resource]] = {}
        self.history: list[dict[str, Any]] = []  # what the operations changed, in order

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def from_any(cls, source: "Fleet | dict | str | os.PathLike | None") -> "Fleet":
        if isinstance(source, Fleet):
            return source
        if source is None:
            return cls()
        if isinstance(source, dict):
            return cls.from_dict(source)
        return cls.load(source)

    @classmethod
    def load(cls, path: "str | os.PathLike") -> "Fleet":
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except ValueError as exc:
                raise FleetError(f"{path}: not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, now: dt.datetime | None = None) -> "Fleet":
        fleet = cls(now=now)
        fleet.extend(data)
        return fleet

    def extend(self, data: dict[str, Any]) -> "Fleet":
        """Add what a fleet document describes to this fleet."""
        _check_keys("fleet", data, ("$schema", "description", "defaults", "subscriptions", "vms", "scaleSets", "generate"))
        defaults = dict(data.get("defaults") or {})
        _check_keys("fleet.defaults", defaults, ("subscriptionId", "resourceGroup", "location"))
        for i, sub in enumerate(data.get("subscriptions") or []):
            if isinstance(sub, str):
                sub = {"subscriptionId": sub}
            _check_keys(f"subscriptions[{i}]", sub, ("subscriptionId", "displayName", "state"))
            self.add_subscription(sub["subscriptionId"], sub.get("displayName"), sub.get("state", "Enabled"))
        for i, spec in enumerate(data.get("vms") or []):
            self.add_vm_spec({**defaults, **spec}, where=f"vms[{i}]")
        for i, spec in enumerate(data.get("scaleSets") or []):
            self.add_scale_set_spec({**defaults, **spec}, where=f"scaleSets[{i}]")
        for i, spec in enumerate(data.get("generate") or []):
            _check_keys(f"generate[{i}]", spec, GENERATE_KEYS)
            self.add_generated(**{**defaults, **spec})
        return self

    def add_subscription(self, subscription_id: str, display_name: str | None = None, state: str = "Enabled") -> None:
        with self.lock:
            self.subscriptions.setdefault(
                subscription_id.lower(),
                {"subscriptionId": subscription_id, "displayName": display_name or subscription_id, "state": state},
            )

    def _require(self, where: str, spec: dict[str, Any], *keys: str) -> None:
        missing = [k for k in keys if not spec.get(k)]
        if missing:
            raise FleetError(f"{where}: missing {missing} (give them, or set them in 'defaults')")

    def add_vm_spec(self, spec: dict[str, Any], *, where: str = "vm") -> VirtualMachine:
        _check_keys(where, spec, VM_KEYS)
        self._require(where, spec, "name", "subscriptionId", "resourceGroup")
        now = self.loaded_at
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
        )
        if spec.get("hostId"):
            vm.host_id = spec["hostId"]
        if spec.get("vmId"):
            vm.vm_id = spec["vmId"]
        return self.add(vm)

    def add_scale_set_spec(self, spec: dict[str, Any], *, where: str = "scaleSet") -> ScaleSet:
        _check_keys(where, spec, SCALE_SET_KEYS)
        self._require(where, spec, "name", "subscriptionId", "resourceGroup")
        now = self.loaded_at
        sku = spec.get("sku") or {}
        if isinstance(sku, str):
            sku = {"name": sku}
        policy = spec.get("automaticRepairsPolicy")
        if policy is not None:
            _check_keys(where + ".automaticRepairsPolicy", policy, ("enabled", "gracePeriod", "repairAction"))
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
            orchestration_state=_one_of(
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
            time_created=resolve_time(spec.get("timeCreated", "-30d"), now),
            state_changed=iso(now - dt.timedelta(minutes=10)),
        )
        _check_keys(where + ".instanceDefaults", ss.instance_defaults, INSTANCE_KEYS)
        for i, ispec in enumerate(spec.get("instances") or []):
            self.add_instance_spec(ss, ispec, where=f"{where}.instances[{i}]")
        capacity = int(spec.get("capacity", len(ss.instances)))
        if capacity < len(ss.instances):
            raise FleetError(f"{where}: capacity {capacity} is less than the {len(ss.instances)} instances listed")
        free = (str(n) for n in range(capacity * 2 + 1) if str(n) not in ss.instances)
        while len(ss.instances) < capacity:  # fill with the lowest free ids, as a new scale set has
            self.add_instance_spec(ss, {"instanceId": next(free)}, where=f"{where}.instances[+]")
        ss.instances = dict(sorted(ss.instances.items(), key=lambda kv: (len(kv[0]), kv[0])))
        ss.capacity = capacity
        return self.add(ss)

    def add_instance_spec(self, ss: ScaleSet, spec: dict[str, Any], *, where: str = "instance") -> ScaleSetInstance:
        """Add an instance to a scale set from fleet-file fields over the set's `instanceDefaults`."""
        merged = {**ss.instance_defaults, **spec}
        _check_keys(where, merged, INSTANCE_KEYS)
        now = self.loaded_at
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
        with self.lock:
            ss.instances[iid] = inst
            if iid.isdigit():
                ss.next_instance_id = max(ss.next_instance_id, int(iid) + 1)
            if ss.id.lower() in self._by_id:  # the set is already in the fleet
                self._index(inst)
        return inst

    # -- bulk -------------------------------------------------------------------------------

    @classmethod
    def generate(cls, vms: int = 1000, **spec: Any) -> "Fleet":
        """A fleet of `vms` generated VMs (see `add_generated` for the knobs)."""
        fleet = cls()
        fleet.add_generated(vms=vms, **spec)
        return fleet

    def add_generated(
        self,
        vms: int,
        *,
        prefix: str = "vm-bulk-",
        subscriptionId: str = "00000000-0000-0000-0000-00000000b0b0",
        resourceGroup: str = "rg-bulk",
        resourceGroups: int = 1,
        location: str = "westeurope",
        tags: dict[str, str] | None = None,
        updateDomains: int = 5,
        faultDomains: int = 3,
        degraded: float = 0,
        unavailable: float = 0,
        annotation: str = "VirtualMachinePossiblyDegradedDueToHardwareFailure",
        maintenance: float = 0,
        maintenanceWindow: tuple[str, str] | list[str] = ("-1h", "+2d"),
        deallocated: float = 0,
        seed: int = 0,
        start: int = 0,
    ) -> list[VirtualMachine]:
        """Add `vms` VMs named `{prefix}{n:06d}`.

        `degraded`, `unavailable`, `maintenance`, `deallocated`: a count (>= 1) or a share
        (< 1) of the VMs, picked at random with `seed`. Degraded and unavailable VMs carry
        `annotation`; maintenance VMs have a self-service window `maintenanceWindow` open.
        `resourceGroups` > 1 spreads VMs over `{resourceGroup}-{k}`.
        """
        rng = random.Random(seed)

        def pick(amount: float) -> set[int]:
            k = int(amount) if amount >= 1 else int(round(amount * vms))
            return set(rng.sample(range(vms), min(k, vms)))

        bad, down, maint, off = pick(degraded), pick(unavailable), pick(maintenance), pick(deallocated)
        self.add_subscription(subscriptionId)
        now = self.loaded_at
        created = iso(now - dt.timedelta(days=30))
        changed = iso(now - dt.timedelta(minutes=10))
        window = [resolve_time(t, now) for t in maintenanceWindow]
        out = []
        for n in range(vms):
            i = start + n
            rg = resourceGroup if resourceGroups <= 1 else f"{resourceGroup}-{i % resourceGroups}"
            vm = VirtualMachine(
                subscription_id=subscriptionId,
                resource_group=rg,
                name=f"{prefix}{i:06d}",
                location=location,
                tags=dict(tags or {}),
                update_domain=i % max(1, updateDomains),
                fault_domain=i % max(1, faultDomains),
                time_created=created,
                state_changed=changed,
            )
            if n in bad or n in down:
                vm.availability_state = "Unavailable" if n in down else "Degraded"
                vm.annotation = {"name": annotation, "occurredTime": changed}
            if n in maint:
                vm.maintenance = {
                    "isCustomerInitiatedMaintenanceAllowed": True,
                    "preMaintenanceWindowStartTime": window[0],
                    "preMaintenanceWindowEndTime": window[1],
                    "maintenanceWindowStartTime": window[1],
                    "maintenanceWindowEndTime": iso(now + dt.timedelta(days=4)),
                    "lastOperationResultCode": "None",
                }
            if n in off:
                vm.power_state = "deallocated"
            out.append(self.add(vm, check=False))
        return out

    # -- registry ---------------------------------------------------------------------------

    def add(self, resource: Resource, *, check: bool = True) -> Any:
        """Put a VM or scale set (with its instances) in the fleet."""
        with self.lock:
            key = resource.id.lower()
            if check and key in self._by_id:
                raise FleetError(f"{resource.id} is in the fleet twice")
            self.add_subscription(resource.subscription_id)
            sub = resource.subscription_id.lower()
            self._index(resource)
            if isinstance(resource, VirtualMachine):
                self._vms_by_sub.setdefault(sub, []).append(resource)
            elif isinstance(resource, ScaleSet):
                self._sets_by_sub.setdefault(sub, []).append(resource)
                for inst in resource.instances.values():
                    self._index(inst)
        return resource

    def _index(self, resource: Resource) -> None:
        self._by_id[resource.id.lower()] = resource
        if not isinstance(resource, ScaleSetInstance):
            self._by_name.setdefault(resource.name.lower(), []).append(resource)

    def remove_instance(self, inst: ScaleSetInstance) -> None:
        with self.lock:
            inst.scale_set.instances.pop(inst.instance_id, None)
            self._by_id.pop(inst.id.lower(), None)

    # -- look-ups ---------------------------------------------------------------------------

    def get(self, resource_id: str) -> Resource | None:
        """A VM, scale set or scale-set instance by ARM id (any casing)."""
        return self._by_id.get(resource_id.rstrip("/").lower())

    def __contains__(self, resource_id: str) -> bool:
        return self.get(resource_id) is not None

    def __len__(self) -> int:
        return len(self._by_id)

    def _named(self, name_or_id: str, cls: type) -> Any:
        if name_or_id.startswith("/"):
            found = self.get(name_or_id)
            return found if isinstance(found, cls) else None
        matches = [r for r in self._by_name.get(name_or_id.lower(), []) if isinstance(r, cls)]
        if len(matches) > 1:
            raise KeyError(f"{name_or_id!r} names {len(matches)} resources; use the ARM id")
        return matches[0] if matches else None

    def vm(self, name_or_id: str) -> VirtualMachine:
        found = self._named(name_or_id, VirtualMachine)
        if found is None:
            raise KeyError(f"no VM {name_or_id!r} in the fleet")
        return found

    def scale_set(self, name_or_id: str) -> ScaleSet:
        found = self._named(name_or_id, ScaleSet)
        if found is None:
            raise KeyError(f"no scale set {name_or_id!r} in the fleet")
        return found

    def instance(self, scale_set: str, instance_id: str | int) -> ScaleSetInstance:
        inst = self.scale_set(scale_set).instance(instance_id)
        if inst is None:
            raise KeyError(f"no instance {instance_id} in scale set {scale_set!r}")
        return inst

    @property
    def vms(self) -> list[VirtualMachine]:
        return [vm for vms in self._vms_by_sub.values() for vm in vms]

    @property
    def scale_sets(self) -> list[ScaleSet]:
        return [ss for sets in self._sets_by_sub.values() for ss in sets]

    def vms_in(self, subscription_id: str, resource_group: str | None = None) -> list[VirtualMachine]:
        vms = self._vms_by_sub.get(subscription_id.lower(), [])
        if resource_group is None:
            return vms
        rg = resource_group.lower()
        return [vm for vm in vms if vm.resource_group.lower() == rg]

    def scale_sets_in(self, subscription_id: str, resource_group: str | None = None) -> list[ScaleSet]:
        sets = self._sets_by_sub.get(subscription_id.lower(), [])
        if resource_group is None:
            return sets
        rg = resource_group.lower()
        return [ss for ss in sets if ss.resource_group.lower() == rg]

    def has_resource_group(self, subscription_id: str, resource_group: str) -> bool:
        rg = resource_group.lower()
        return any(r.resource_group.lower() == rg for r in self.vms_in(subscription_id)) or any(
            r.resource_group.lower() == rg for r in self.scale_sets_in(subscription_id)
        )

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._by_id.values()))

    def record(self, resource: Resource, change: str, **details: Any) -> None:
        """Note a change an operation made (read by tests and the demo)."""
        self.history.append({"time": iso(utcnow()), "resourceId": resource.id, "change": change, **details})
