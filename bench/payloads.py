"""Deliveries as Azure sends them, in bulk, for the benchmarks (shapes from tests/builders.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from tests import builders

# Five annotations the default policy has rules for: three redeploy at once, a host crash
# redeploys the second time within 24 hours, a VM's provisioning timeout is a person's.
ACTING_ANNOTATIONS = (
    "VirtualMachinePossiblyDegradedDueToHardwareFailure",
    "AccelnetUnhealthy",
    "NetworkDatapathLiveMigrationSerializationError",
    "VirtualMachineHostCrashed",
    "VirtualMachineProvisioningTimedOut",
)
# And some it only records.
INFORMATIONAL_ANNOTATIONS = (
    "VirtualMachineRestarted",
    "LiveMigrationSucceeded",
    "VirtualMachineRebootInitiatedForPlannedMaintenance",
    "VirtualMachineHostRebootedForRepair",
    "VirtualMachineStoppedInternally",
)
SUBSCRIPTIONS = (
    "00000000-0000-0000-0000-0000000be001",
    "00000000-0000-0000-0000-0000000be002",
    "00000000-0000-0000-0000-0000000be003",
)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # seven fractional digits, as Azure writes them


def event_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"


def mixed(count: int, seed: int = 1, duplicates: float = 0.05, vms: int = 2000) -> list[bytes]:
    """`count` delivery bodies of every kind the app takes, some of them delivered twice.

    Mostly Event Grid events (annotations of several names, availability changes, scheduled
    events; both schemas), then Service Health and Resource Health alerts (common schema) and
    legacy Activity Log alerts, over `vms` VMs of three subscriptions.
    """
    rng = random.Random(seed)
    now = datetime.now(UTC)
    names = ACTING_ANNOTATIONS + INFORMATIONAL_ANNOTATIONS

    def vm() -> str:
        n = rng.randrange(vms)
        return builders.vm_id(f"vm-mix-{n:06d}", rg=f"rg-mix-{n % 7}", sub=SUBSCRIPTIONS[n % 3])

    def one(i: int) -> dict:
        when = _stamp(now - timedelta(seconds=rng.randrange(3600)))
        schema = "cloud" if i % 3 == 0 else "grid"
        pick = rng.random()
        if pick < 0.55:
            return builders.annotated(rng.choice(names), target=vm(), when=when, schema=schema, event_id=event_id(rng),
                                      context=rng.choice(("Platform Initiated", "Platform-Initiated", "PlatformInitiated")))  # fmt: skip
        if pick < 0.75:
            state, previous = rng.choice((("Unavailable", "Available"), ("Degraded", "Available"), ("Available", "Unavailable")))
            return builders.availability(state, previous, target=vm(), when=when, schema=schema, event_id=event_id(rng))
        if pick < 0.83:
            n = rng.randrange(50)
            return builders.scheduled(rng.choice(("Reboot", "Redeploy", "Freeze")), target=builders.scale_set_id(f"ss-mix-{n}"),
                                      schema=schema, event_id=event_id(rng))  # fmt: skip
        if pick < 0.89:
            return builders.service_health(rng.choice(("Maintenance", "Incident", "ActionRequired")), tracking_id=f"TRK-{rng.randrange(200)}")
        if pick < 0.96:
            return builders.resource_health(rng.choice(("Unavailable", "Degraded")), target=vm(), when=when[:23] + "Z")
        return builders.legacy(rng.choice(("ResourceHealth", "ServiceHealth")), target=vm())

    bodies: list[bytes] = []
    while len(bodies) < count:
        if bodies and rng.random() < duplicates:
            bodies.append(rng.choice(bodies))  # Event Grid delivers at least once
        else:
            payload = one(len(bodies))
            bodies.append(json.dumps([payload] if "eventType" in payload or "specversion" in payload else payload).encode())
    return bodies


def annotation_storm(count: int, vms_per_subscription: int, seed: int = 7, duplicated: float = 0.20) -> list[bytes]:
    """`count` single-event Event Grid deliveries: annotations (five kinds) on VMs of three
    subscriptions, `duplicated` of them a second delivery of an earlier one, shuffled; stamped
    within the last ten minutes (a storm is what is arriving now)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    unique = count - int(count * duplicated)
    bodies = []
    for i in range(unique):
        sub = SUBSCRIPTIONS[i % 3]
        target = storm_vm_id(sub, rng.randrange(vms_per_subscription))
        when = _stamp(now - timedelta(seconds=rng.randrange(600)))
        payload = builders.annotated(ACTING_ANNOTATIONS[rng.randrange(5)], target=target, when=when,
                                     schema="cloud" if i % 2 else "grid", event_id=event_id(rng))  # fmt: skip
        bodies.append(json.dumps([payload]).encode())
    bodies += [rng.choice(bodies[:unique]) for _ in range(count - unique)]
    rng.shuffle(bodies)
    return bodies


STORM_PREFIX = "vm-storm-"
STORM_GROUP = "rg-storm"


def storm_vm_id(subscription: str, n: int) -> str:
    return builders.vm_id(f"{STORM_PREFIX}{n:06d}", rg=STORM_GROUP, sub=subscription)
