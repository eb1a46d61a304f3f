"""Workers recording notices into one Table Storage outbox at once, on one subscription.

    .venv/bin/python -m bench.outbox_contention [--workers 16] [--deliveries 25] [--json]

Each worker is a process (spawned, as the Functions host starts them) with its own SDK client on
Azurite. A delivery is one new incident of a VM in the same subscription and region (one storm
scope, so every worker writes the same destination's partitions), told to a Teams webhook and a
mailbox: `Notifier.record_many`, as a delivery's end does. A delivery whose notices could not be
recorded (NoticesNotRecordedError: the outbox lost its conditional writes 25 times in a row, or
failed) is delivered again, as Event Grid does, up to REDELIVERIES times.

Figures: notices lost (recorded nowhere after every redelivery; must be 0), notices recorded twice
(must be 0: a notice carries its delivery's key, and a redelivery's second recording adds nothing),
conflicts per delivery (conditional writes of the outbox that lost to another worker and were
redone), redeliveries, and deliveries recorded per second.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from .report import Figure, table

SUBSCRIPTION = "00000000-0000-0000-0000-0000000c0de0"
REDELIVERIES = 30


def _notice(worker: int, number: int) -> Any:
    from notify import Notice

    name = f"vm-{worker:02d}-{number:04d}"
    return Notice(
        incident_id=f"INC-{worker:02d}{number:04d}", event="opened",
        resource_id=f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{name}",
        signal_kind="annotation", signal_name="VirtualMachinePossiblyDegradedDueToHardwareFailure",
        meaning="The host of this VM may be failing; Azure plans to move it.", occurred=datetime.now(UTC),
        category="degraded-hardware", initiator="platform", impact="degraded", action="redeploy", mode="observe",
        status="planned", reason="Observe mode: the redeploy the policy names is not done.", location="westeurope",
        routes=("ops-teams", "ops-email"),
        key=f"bench-event-{worker:02d}-{number:04d}\n\nopened",  # the delivery and its step, as the pipeline keys them
    )


def record_worker(connection: str, prefix: str, worker: int, deliveries: int, start: Any, results: Any) -> None:
    """Record `deliveries` deliveries; report (worker, {conflicts, redeliveries, lost, seconds}, error)."""
    try:
        from ledger.table.outbox import TableOutbox
        from notify import NoticesNotRecordedError
        from notify.notifier import Notifier, SystemClock
        from notify.routes import Router, parse_routes

        class Counted(TableOutbox):
            conflicts = 0

            def _transact(self, operations: list, table: Any = None) -> list | None:
                done = super()._transact(operations, table)
                if done is None:
                    Counted.conflicts += 1
                return done

        outbox = Counted.from_settings({"table_connection_string": connection, "table_prefix": prefix})
        router = Router(parse_routes({}), webhooks={"ops": "https://teams.example/ops"}, mail_sender="responder@contoso.example",
                        mail_to=("ops@contoso.example",))
        notifier = Notifier(router=router, store=outbox, clock=SystemClock(), channels={})
        redelivered = lost = 0
        start.wait(timeout=120)
        began = time.perf_counter()
        for number in range(deliveries):
            for _attempt in range(REDELIVERIES):
                try:
                    notifier.record_many([_notice(worker, number)])
                    break
                except NoticesNotRecordedError:
                    redelivered += 1
            else:
                lost += 1
        seconds = time.perf_counter() - began
        outbox.close()
        results.put((worker, {"conflicts": Counted.conflicts, "redeliveries": redelivered, "lost": lost, "seconds": seconds}, ""))
    except BaseException:  # noqa: BLE001 - the parent reports whatever went wrong in the child
        results.put((worker, {}, traceback.format_exc()))


def run(connection: str, prefix: str, workers: int, deliveries: int) -> dict[str, Any]:
    """Run the workers and count what the outbox holds: every notice of every delivery, once per destination."""
    from ledger.table.outbox import TableOutbox
    from tests.ledger.spawned import run_spawned

    reports = run_spawned(record_worker, [(connection, prefix, w, deliveries) for w in range(workers)], timeout=600)
    outbox = TableOutbox.from_settings({"table_connection_string": connection, "table_prefix": prefix})
    try:
        held: Counter[tuple[str, str]] = Counter()
        for message in outbox.messages(limit=10**9):
            for text in outbox.notices(message.id):
                held[(json.loads(text)["incident_id"], message.channel)] += 1
        expected = {(f"INC-{w:02d}{n:04d}", channel) for w in range(workers) for n in range(deliveries) for channel in ("teams", "email")}
    finally:
        for name in outbox.tables.values():
            outbox.service.delete_table(name)
        outbox.close()
    seen = [r for _, r, _ in reports]
    total = workers * deliveries
    return {
        "workers": workers, "deliveries": total,
        "notices_lost": len(expected - set(held)), "notices_twice": sum(1 for k, n in held.items() if n > 1),
        "conflicts_per_delivery": sum(r["conflicts"] for r in seen) / total,
        "redeliveries": sum(r["redeliveries"] for r in seen),
        "deliveries_per_second": total / max(r["seconds"] for r in seen),
    }


def figures(found: dict[str, Any]) -> list[Figure]:
    where = f"{found['workers']} workers, {found['deliveries']} deliveries, one subscription"
    return [
        Figure("outbox: notices lost under contention", str(found["notices_lost"]), "-", "-", "0",
               found["notices_lost"] == 0, notes=[f"{where}; redeliveries: {found['redeliveries']}"]),
        Figure("outbox: notices recorded twice under contention", str(found["notices_twice"]), "-", "-", "0",
               found["notices_twice"] == 0, notes=[f"{where}; a redelivery's second recording of a notice adds nothing"]),
        Figure("outbox: conflicts per delivery", f"{found['conflicts_per_delivery']:.2f}", "-", "-", "reported", None,
               notes=[f"{where}; {found['deliveries_per_second']:.0f} deliveries/s recorded"]),
    ]


def measure(workers: int = 16, deliveries: int = 25) -> list[Figure]:
    from tests.azurite import running_azurite

    with running_azurite() as connection:
        return figures(run(connection, f"bench{int(time.time())}", workers, deliveries))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_contention", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--deliveries", type=int, default=25, help="per worker")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from tests.azurite import running_azurite

    with running_azurite() as connection:
        found = run(connection, f"bench{int(time.time())}", args.workers, args.deliveries)
    print(json.dumps(found, indent=2) if args.json else table(figures(found)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
