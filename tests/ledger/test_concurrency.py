"""Four Function instances, one Table Storage ledger: every delivery reaches every worker (Event Grid
and action groups deliver at least once, and a scaled-out app runs many instances), each in its
own order. The ledger must still claim each delivery once, lose no signal, agree on one incident
per resource and hold one action per incident.

Workers are real processes (spawn, as the Functions host starts its workers), each with its own
SDK client; only Azurite is shared.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC

import pytest

from ledger import open_ledger
from tests import builders as b
from tests.ledger.conftest import fresh_prefix
from tests.ledger.spawned import run_spawned
from tests.ledger.workers import process_deliveries

# The workers decide on the real clock: the events are minutes old, not days.
pytestmark = pytest.mark.usefixtures("fresh_events")

WORKERS = 4
HOLDING = ("planned", "awaiting-approval", "started", "succeeded")


# Four annotations that each ask for a redeploy of the machine they name.
ASKING_REDEPLOY = (
    "VirtualMachinePossiblyDegradedDueToHardwareFailure",
    "VirtualMachineMigrationScheduledForDegradedHardware",
    "VirtualMachineScheduledForServiceHealing",
    "AccelnetUnhealthy",
)


def deliveries() -> tuple[list[bytes], list[list[int]], list[int]]:
    """Bodies as Azure sends them; groups of bodies that ask one incident for an action; the rest.

    Each machine gets four signals asking for the same redeploy, and other roads to the same fact
    (an alert in another casing, a status change); a scale-set instance gets two asking for
    different actions; an Event Grid batch and a Service Health notice come along.
    """
    bodies, groups = [], []
    for name in ("vm1", "vm2", "vm3", "vm4"):
        target = b.vm_id(name)
        groups.append(list(range(len(bodies), len(bodies) + len(ASKING_REDEPLOY))))
        bodies += [b.annotated(annotation, target=target) for annotation in ASKING_REDEPLOY]
    instance = b.instance_id("ss1", "3")
    groups.append([len(bodies), len(bodies) + 1])
    bodies += [b.annotated("AccelnetUnhealthy", target=instance), b.annotated("VirtualMachineProvisioningTimedOut", target=instance)]
    rest = len(bodies)
    for name in ("vm1", "vm2", "vm3", "vm4"):
        target = b.vm_id(name)
        bodies += [
            b.resource_health("Unavailable", target=target.upper().replace("/SUBSCRIPTIONS", "/subscriptions")),
            b.availability("Unavailable", target=target),
        ]
    bodies.append([b.annotated("VirtualMachineHostCrashed", target=b.vm_id("vm5")), b.availability("Degraded", target=b.vm_id("vm5"))])
    bodies += [b.service_health("Maintenance", "Planned", tracking_id="T-9"), b.service_health("Maintenance", "Active", tracking_id="T-9")]
    return [b.body(body) for body in bodies], groups, list(range(rest, len(bodies)))


def orders(groups: list[list[int]], rest: list[int]) -> list[list[int]]:
    """Every delivery for every worker, each worker in its own order. Within a group, worker k
    starts at the k-th delivery, so at one moment four workers decide four different signals of
    one incident: the race a read-then-write would lose. The rest is shuffled per worker."""
    made = []
    for worker in range(WORKERS):
        order = [group[(worker + i) % len(group)] for group in groups for i in range(len(group))]
        shuffled = list(rest)
        random.Random(worker).shuffle(shuffled)
        made.append(order + shuffled)
    return made


def run_workers(connection: str, prefix: str, bodies: list[bytes], per_worker: list[list[int]]) -> list[list]:
    reports = run_spawned(process_deliveries, [(connection, prefix, bodies, order, seed) for seed, order in enumerate(per_worker)])
    return [seen for _, seen, _ in reports]


def test_four_workers_given_every_delivery_act_once_per_incident_and_lose_nothing(azurite):
    prefix, (bodies, groups, rest) = fresh_prefix(), deliveries()
    per_worker = run_workers(azurite, prefix, bodies, orders(groups, rest))
    ledger = open_ledger("table", {"table_connection_string": azurite, "table_prefix": prefix})
    try:
        rows = list(ledger.history())
        logged = list(ledger._table("log").list_entities())
        signals = [row for row in logged if row["RowKey"].startswith("sig|")]
        claims = [row for row in logged if row["RowKey"].startswith("claim|")]
        assert not [row for row in logged if row["RowKey"].startswith("lease|")], "every claim settled"

        # Every signal was claimed by exactly one worker and has exactly one decision about it.
        reported = [seen for worker in per_worker for seen in worker]
        event_ids = {event_id for _, event_id, *_ in reported}
        decided = [row for row in rows if row["signal_id"] is not None]
        duplicates = [row for row in rows if row["rule"] == "dedupe"]
        assert len(event_ids) == len(signals) == len(claims) == len(decided)
        assert sorted(row["event_id"] for row in decided) == sorted(event_ids), "each signal decided once"
        assert {row["signal_id"] for row in decided} == {int(s["id"]) for s in signals}, "no signal without its decision"
        # Every other delivery was told a duplicate (logged, not recorded) or deferred (recorded):
        # held by another worker at that moment, it is Event Grid's to deliver again.
        others = [seen for seen in reported if seen[5] == "dedupe"]
        assert len(others) == (WORKERS - 1) * len(event_ids), "every other delivery answered by its claim"
        assert {seen[2] for seen in others} <= {"duplicate", "deferred"}
        assert len(duplicates) == sum(1 for seen in others if seen[2] == "deferred")
        assert {row["status"] for row in duplicates} <= {"deferred"}
        assert len(reported) == WORKERS * len(event_ids)

        # Two roads to one fact (an annotation, an alert in another casing, a status change): one incident.
        incidents_of = defaultdict(set)
        for row in decided:
            incidents_of[row["resource_id"].lower()].add(row["incident_id"])
        assert all(len(ids) == 1 for ids in incidents_of.values()), incidents_of

        # One action per incident: exactly one decision holds it, the others are duplicates or skipped;
        # and the hold names that action.
        by_incident = defaultdict(list)
        for row in decided:
            by_incident[row["incident_id"]].append(row)
        acting = {incident: rows for incident, rows in by_incident.items() if any(r["action"] != "none" for r in rows)}
        assert len(acting) >= 5, "vm1-vm4 and the scale-set instance ask for an action"
        for incident, incident_rows in acting.items():
            holders = [r for r in incident_rows if r["action"] != "none" and r["status"] in HOLDING]
            others = Counter(r["status"] for r in incident_rows if r["action"] != "none" and r["status"] not in HOLDING)
            assert len(holders) == 1, f"{incident}: {[(r['action'], r['status']) for r in incident_rows]}"
            assert set(others) <= {"duplicate", "skipped"}
            holder = ledger.hold_action(incident, "probe", "test", _now())
            assert holder is not None and holder["action"] == holders[0]["action"]
    finally:
        ledger.close()


def _now():
    from datetime import datetime

    return datetime.now(UTC)
