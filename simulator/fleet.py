"""The simulated fleet: subscriptions, VMs and scale sets, keyed case-insensitively by ARM id.

Loaded from a fleet file (JSON; read by `fleet_file`, format in docs/simulated-azure.md), a
dict, or built in code; `Fleet.generate(vms=50_000)` (or a `generate` entry in the file) adds
many VMs without a file that lists them. The server's routes hold `lock` while they read or
change it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

from . import bulk
from .fleet_file import (  # FleetError, iso, resolve_time, utcnow: imported from here by the rest of the sim
    FleetError,
    check_keys,
    instance_from_spec,
    iso,
    resolve_time,
    resource_group_from_spec,
    scale_set_from_spec,
    utcnow,
    vm_from_spec,
)
from .resources import Resource, ResourceGroup, ScaleSet, ScaleSetInstance, VirtualMachine

__all__ = ["Fleet", "FleetError", "iso", "resolve_time", "utcnow"]


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
        self._groups: dict[tuple[str, str], ResourceGroup] = {}  # (subscription, name), lower-cased: the groups listed
        self.history: list[dict[str, Any]] = []  # what the operations changed, in order

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    def from_any(cls, source: Fleet | dict | str | os.PathLike | None) -> Fleet:
        if isinstance(source, Fleet):
            return source
        if source is None:
            return cls()
        if isinstance(source, dict):
            return cls.from_dict(source)
        return cls.load(source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Fleet:
        with open(path, encoding="utf-8") as f:
            try:
                data = json.load(f)
            except ValueError as exc:
                raise FleetError(f"{path}: not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, now: dt.datetime | None = None) -> Fleet:
        fleet = cls(now=now)
        fleet.extend(data)
        return fleet

    def extend(self, data: dict[str, Any]) -> Fleet:
        """Add what a fleet document describes to this fleet."""
        check_keys("fleet", data, ("$schema", "description", "defaults", "subscriptions", "resourceGroups", "vms", "scaleSets",
                                   "generate"))
        defaults = dict(data.get("defaults") or {})
        check_keys("fleet.defaults", defaults, ("subscriptionId", "resourceGroup", "location"))
        for i, sub in enumerate(data.get("subscriptions") or []):
            if isinstance(sub, str):
                sub = {"subscriptionId": sub}
            check_keys(f"subscriptions[{i}]", sub, ("subscriptionId", "displayName", "state"))
            self.add_subscription(sub["subscriptionId"], sub.get("displayName"), sub.get("state", "Enabled"))
        for i, spec in enumerate(data.get("resourceGroups") or []):
            group = {k: v for k, v in {**defaults, **spec}.items() if k != "resourceGroup"}
            self.add_resource_group(resource_group_from_spec(group, where=f"resourceGroups[{i}]"))
        for i, spec in enumerate(data.get("vms") or []):
            self.add_vm_spec({**defaults, **spec}, where=f"vms[{i}]")
        for i, spec in enumerate(data.get("scaleSets") or []):
            self.add_scale_set_spec({**defaults, **spec}, where=f"scaleSets[{i}]")
        for i, spec in enumerate(data.get("generate") or []):
            check_keys(f"generate[{i}]", spec, bulk.KEYS)
            self.add_generated(**{**defaults, **spec})
        return self

    def add_subscription(self, subscription_id: str, display_name: str | None = None, state: str = "Enabled") -> None:
        with self.lock:
            self.subscriptions.setdefault(
                subscription_id.lower(),
                {"subscriptionId": subscription_id, "displayName": display_name or subscription_id, "state": state},
            )

    def add_resource_group(self, group: ResourceGroup) -> ResourceGroup:
        """List a resource group (its managedBy, tags); a group only implied by its resources has neither."""
        with self.lock:
            key = (group.subscription_id.lower(), group.name.lower())
            if key in self._groups:
                raise FleetError(f"{group.id} is in the fleet twice")
            self.add_subscription(group.subscription_id)
            self._groups[key] = group
            return group

    def add_vm_spec(self, spec: dict[str, Any], *, where: str = "vm") -> VirtualMachine:
        """Add a VM from its fleet-file fields."""
        return self.add(vm_from_spec(spec, where=where, now=self.loaded_at))

    def add_scale_set_spec(self, spec: dict[str, Any], *, where: str = "scaleSet") -> ScaleSet:
        """Add a scale set (and its instances, or a Flexible set's VMs) from its fleet-file fields."""
        from . import flexible  # it imports effects, which imports this module

        ss = self.add(scale_set_from_spec(spec, where=where, now=self.loaded_at))
        if flexible.is_flexible(ss):
            for i, member in enumerate(flexible.member_specs(ss, spec)):
                self.add_vm_spec(member, where=f"{where}.instances[{i}]").scale_set_id = ss.id
        return ss

    def add_instance_spec(self, ss: ScaleSet, spec: dict[str, Any], *, where: str = "instance") -> ScaleSetInstance:
        """Add an instance to a scale set of the fleet (a scale-out), from fleet-file fields."""
        with self.lock:
            inst = instance_from_spec(ss, spec, where=where, now=utcnow())
            if ss.id.lower() in self._by_id:
                self._index(inst)
            return inst

    # -- bulk -------------------------------------------------------------------------------

    @classmethod
    def generate(cls, vms: int = 1000, **knobs: Any) -> Fleet:
        """A fleet of `vms` generated VMs (the knobs are `bulk.generate_vms`'s)."""
        fleet = cls()
        fleet.add_generated(vms=vms, **knobs)
        return fleet

    def add_generated(self, vms: int, **knobs: Any) -> list[VirtualMachine]:
        """Add `vms` generated VMs: see `bulk.generate_vms` and docs/simulated-azure.md."""
        made = bulk.generate_vms(vms, now=self.loaded_at, **knobs)
        with self.lock:
            for vm in made:
                self.add(vm, check=False)
        return made

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

    def remove_vm(self, vm: VirtualMachine) -> None:
        with self.lock:
            self._by_id.pop(vm.id.lower(), None)
            vms = self._vms_by_sub.get(vm.subscription_id.lower(), [])
            if vm in vms:
                vms.remove(vm)
            named = self._by_name.get(vm.name.lower(), [])
            if vm in named:
                named.remove(vm)

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

    def resource_group(self, subscription_id: str, resource_group: str) -> ResourceGroup | None:
        """The group as listed in the fleet file, or one its resources imply (no managedBy, no tags)."""
        listed = self._groups.get((subscription_id.lower(), resource_group.lower()))
        if listed is not None:
            return listed
        rg = resource_group.lower()
        member = next((r for r in [*self.vms_in(subscription_id), *self.scale_sets_in(subscription_id)] if r.resource_group.lower() == rg), None)
        return None if member is None else ResourceGroup(subscription_id, member.resource_group, member.location)

    def has_resource_group(self, subscription_id: str, resource_group: str) -> bool:
        rg = resource_group.lower()
        if (subscription_id.lower(), rg) in self._groups:
            return True
        return any(r.resource_group.lower() == rg for r in self.vms_in(subscription_id)) or any(
            r.resource_group.lower() == rg for r in self.scale_sets_in(subscription_id)
        )

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._by_id.values()))

    def record(self, resource: Resource, change: str, **details: Any) -> None:
        """Note a change an operation made (read by tests and the demo)."""
        self.history.append({"time": iso(utcnow()), "resourceId": resource.id, "change": change, **details})
