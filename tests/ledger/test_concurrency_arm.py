"""Four Function instances, one Table Storage ledger, one Azure: every delivery reaches every
worker, in its own order, and the workers race to act. Exactly one ARM write per incident, and
the in-flight cap kept across workers."""

from __future__ import annotations

import multiprocessing
import queue
import random
from collections import Counter

import pytest

from tests import builders as b
from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, policy_file
from tests.ledger.conftest import fresh_prefix
from tests.ledger.workers import act_on_deliveries

# The workers decide on the real clock: the events are minutes old, not days.
pytestmark = pytest.mark.usefixtures("fresh_events")

WORKERS = 4
VMS = [f"vm-race-{n:06d}" for n in range(4)]
ASKING_REDEPLOY = ("VirtualMachinePossiblyDegradedDueToHardwareFailure", "VirtualMachineScheduledForServiceHealing", "AccelnetUnhealthy")


def _run(azurite, sim, policy_path, bodies):
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    prefix = fresh_prefix()
    workers = []
    for seed in range(WORKERS):
        order = list(range(len(bodies)))
        random.Random(seed).shuffle(order)
        worker = context.Process(target=act_on_deliveries, args=(azurite, prefix, (sim.base_url, sim.ca_bundle), str(policy_path), bodies, order, seed, start, results))
        worker.start()
        workers.append(worker)
    start.set()
    reports = []
    for _ in workers:
        try:
            reports.append(results.get(timeout=180))
        except queue.Empty:
            break
    for worker in workers:
        worker.join(timeout=30)
    errors = [error for _, _, error in reports if error]
    assert not errors, errors[0]
    assert len(reports) == WORKERS
    return [row for _, seen, _ in reports for row in seen]


def test_four_workers_racing_write_once_per_incident(azurite, tmp_path):
    from simulator import Fleet, SimulatedAzure

    fleet = Fleet.from_any(DEMO_FLEET)
    fleet.add_generated(vms=len(VMS), prefix="vm-race-", subscriptionId=DEMO_SUBSCRIPTION, resourceGroup="rg-race", degraded=len(VMS))
    bodies = [b.body([b.annotated(name, target=b.vm_id(vm, rg="rg-race", sub=DEMO_SUBSCRIPTION), event_id=f"race-{i}-{j}")])
              for i, vm in enumerate(VMS) for j, name in enumerate(ASKING_REDEPLOY)]
    with SimulatedAzure(fleet=fleet, operation_delay=60) as sim:  # operations stay under way
        rows = _run(azurite, sim, policy_file(tmp_path, brakes={"in_flight": {"per_subscription": 2}}), bodies)
        posts = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/redeploy")]
    per_vm = Counter(r.path.split("/")[-2] for r in posts)
    assert all(count == 1 for count in per_vm.values()), per_vm  # never two writes for one incident
    assert len(posts) == 2, f"the in-flight cap of 2 was not kept across workers: {per_vm}"
    started = [row for row in rows if row[2] == "started"]
    assert len(started) == 2
    # A worker that finds a delivery claimed and still being decided answers `deferred` (the
    # sender delivers it again); one that finds it decided answers `duplicate`.
    claimed = Counter(row[1] for row in rows if row[2] != "deferred" and (row[2] != "duplicate" or "already received" not in row[5]))
    assert set(claimed) == {row[1] for row in rows}, "every delivery decided by some worker"
    assert all(count == 1 for count in claimed.values()), claimed  # every delivery claimed by one worker
    refused = [row for row in rows if row[2] == "skipped"]
    assert refused and all(row[5].startswith(("in-flight cap", "verified against")) for row in refused)
