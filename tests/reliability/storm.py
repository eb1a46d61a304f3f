"""A storm of signals against the demo fleet and the checks that nothing was lost or done twice.

Shared by the fault tests (in process) and the crash tests (in a worker process), with the ARM
routes the fault tests break and how they run the storm through a pipeline and account for it."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from intake.deliveries import parse_delivery
from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes

ACTING_VMS = ("vm-degraded-hw", "vm-accelnet", "vm-host-crash")

# Every route the app reads or writes for the storm's actions (the sim's paths).
ROUTES = {
    "vm": ("GET", r"/virtualMachines/vm-[a-z0-9-]+$"),
    "instance-view": ("GET", r"/instanceView$"),
    "resource-health": ("GET", r"/availabilityStatuses/current$"),
    "scale-set": ("GET", r"/virtualMachineScaleSets/[a-z0-9-]+$"),
    "scale-set-instances": ("GET", r"/virtualMachineScaleSets/[a-z0-9-]+/virtualMachines$"),
    "redeploy": ("POST", r"/redeploy$"),
    "orchestration": ("POST", r"/setOrchestrationServiceState$"),
    "operation-poll": ("GET", r"/operations/"),
}
WRITES = ("redeploy", "orchestration")
KINDS = ("429", "500", "503", "drop", "slow")
# Retry-After of a tenth of a second keeps the suites fast; test_faults.py honours a whole second once.
RETRY_AFTER = 0.1


def vm(name: str) -> str:
    return b.vm_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def scale_set(name: str) -> str:
    return b.scale_set_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def storm() -> list[list[dict] | dict]:
    """About three dozen deliveries: the actionable ones, each delivered twice (at-least-once), a
    second road to the same fact, and noise that must be decided without acting. Dated now: it
    is sent to workers on the real clock (an event hours old when it arrives is never acted on)."""
    previous, b.EVENTS_AT = b.EVENTS_AT, datetime.now(UTC) - timedelta(minutes=15)
    try:
        return _storm(datetime.now(UTC).isoformat())
    finally:
        b.EVENTS_AT = previous


def _storm(now: str) -> list[list[dict] | dict]:
    grid = [
        b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw"), when=now, event_id="storm-degraded"),
        b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"), when=now, event_id="storm-accelnet", schema="cloud"),
        b.annotated("VirtualMachineHostCrashed", target=vm("vm-host-crash"), when=now, event_id="storm-crash"),
    ]
    noise = [
        b.annotated("VirtualMachineScheduledForServiceHealing", target=vm("vm-healthy-again"), when=now, event_id="storm-healthy"),
        b.annotated("VirtualMachineRestarted", target=vm("vm-user-restart"), context="Customer Initiated", when=now, event_id="storm-restart"),
        b.annotated("AccelnetUnhealthy", target=vm("vm-deallocated"), when=now, event_id="storm-deallocated"),
    ] + [b.availability("Available", previous="Unavailable", target=vm(f"vm-maint-{i}"), when=now, event_id=f"storm-avail-{i}") for i in (1, 2, 3)]
    deliveries: list = []
    for event in grid:
        deliveries += [[event], [event]]  # Event Grid delivers at least once
    deliveries += [[event] for event in noise]
    deliveries.append(grid)  # the same three again, batched
    deliveries += [b.orchestration_changed(target=scale_set("vmss-web")), b.orchestration_changed(target=scale_set("vmss-web"))]
    deliveries += [b.resource_health("Degraded", target=vm(name)) for name in ACTING_VMS]  # a second road to the same fact
    deliveries += [b.service_health(), b.legacy("ServiceHealth")]
    deliveries += [[b.availability("Unavailable", target=vm(name), when=now)] for name in ACTING_VMS + ("vm-healthy-again",)]
    deliveries += [[b.annotated("AccelnetUnhealthy", target=vm(f"vm-forged-{i}"), when=now)] for i in range(4)]
    return deliveries


def bodies() -> list[bytes]:
    return [json.dumps(d).encode() for d in storm()]


def tick_until_settled(pipeline, seconds: float = 40.0) -> list:
    """What the timer does: a run the ledger failed is followed by the next one."""
    from ledger.errors import LedgerUnavailableError

    ended, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            ended += pipeline.tick()
        except LedgerUnavailableError:
            time.sleep(0.1)
            continue
        if not pipeline.ledger.open_operations():
            return ended
        time.sleep(0.1)
    return ended


def ledger_rows(db, table: str) -> list[dict]:
    db.row_factory = __import__("sqlite3").Row
    return [dict(r) for r in db.execute(f"SELECT * FROM {table}")]  # nosec B608 - test tables


def account(db, write_paths: list[str]) -> dict:
    """What the ledger says about the storm, and the invariants as a list of broken ones."""
    signals, decisions, operations, deliveries = (ledger_rows(db, t) for t in ("signals", "decisions", "operations", "deliveries"))
    broken = []
    decided = Counter(d["signal_id"] for d in decisions if d["signal_id"] is not None)
    # A worker killed mid-decision leaves its signal row behind; the retry records the delivery anew.
    decided_deliveries = {s["delivery_key"] for s in signals if decided[s["id"]]}
    broken += [f"signal {s['id']} ({s['event_id']}) has no decision" for s in signals if s["delivery_key"] not in decided_deliveries]
    broken += [f"delivery {d['key']} was claimed and never decided" for d in deliveries if not d["decided_at"]]
    broken += [f"decision {d['id']} has no reason" for d in decisions if not d["reason"]]
    for d in decisions:
        if d["status"] == "started" and not any(o["incident_id"] == d["incident_id"] for o in operations):
            broken.append(f"decision {d['id']} started with no operation recorded")
    broken += [f"operation {o['id']} ended {o['state']} with no message" for o in operations
               if o["state"] in ("failed", "skipped", "succeeded") and not o["message"]]
    per_incident = Counter(o["incident_id"] for o in operations)
    broken += [f"incident {i} has {n} operations" for i, n in per_incident.items() if n > 1]
    actions = Counter(path.rsplit("/", 1)[0] for path in write_paths if path.rsplit("/", 1)[-1] != "delete")
    broken += [f"{resource} written {n} times" for resource, n in actions.items() if n > 1]
    return {
        "signals": len(signals), "decisions": len(decisions), "operations": len(operations),
        "open": [o for o in operations if o["state"] not in ("succeeded", "failed", "skipped", "canceled")],
        "states": Counter(o["state"] for o in operations), "broken": broken,
    }


def storm_through(pipeline) -> int:
    delivered = 0
    for body in bodies():
        delivery = parse_delivery(body, "storm")
        delivered += len(delivery.signals) + len(delivery.rejections)
        outcomes = pipeline.process(delivery)
        assert len(outcomes) == len(delivery.signals) + len(delivery.rejections)
    return delivered


def settle_and_account(pipeline, sim, ledger) -> dict:
    tick_until_settled(pipeline)
    writes = [r.path for r in accepted_writes(sim)]
    report = account(ledger._db, writes)
    assert not report["broken"], report["broken"]
    return report
