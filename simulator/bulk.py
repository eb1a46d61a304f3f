"""Many VMs without a file that lists them: `Fleet.generate(vms=50_000, degraded=100)`."""

from __future__ import annotations

import datetime as dt
import random

from .fleet_file import iso, resolve_time, utcnow
from .resources import VirtualMachine

KEYS = (
    "vms", "prefix", "subscriptionId", "resourceGroup", "resourceGroups", "location", "tags",
    "updateDomains", "faultDomains", "degraded", "unavailable", "annotation", "maintenance",
    "maintenanceWindow", "deallocated", "seed", "start",
)  # fmt: skip


def generate_vms(
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
    now: dt.datetime | None = None,
) -> list[VirtualMachine]:
    """`vms` new VMs named `{prefix}{n:06d}` (not yet in any fleet).

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
    now = now or utcnow()
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
        out.append(vm)
    return out
