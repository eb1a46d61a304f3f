"""Table Storage requests per signal, counted on the wire between the app and Azurite.

    .venv/bin/python -m bench.table_requests [--json]

Each path runs through the real pipeline on the Table Storage ledger against the simulated
Azure, after one warm-up signal of the same kind (so a worker's one-off table creation is not
counted). A proxy in front of Azurite (tests/ledger/counting_proxy.py) counts every request the
server receives: a transaction is one request, a retry another. The figures are the hot path's
cost per signal that a tenant pays in requests and in the partition's throughput
(docs/performance.md has the targets and a recorded run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .report import Figure, table

# path -> (mode, annotation, VM of the demo fleet, delivered twice, told: notifications on)
PATHS: dict[str, tuple[str, str, str, bool, bool]] = {
    "new incident, observe": ("observe", "VirtualMachineHostCrashed", "vm-degraded-hw", False, False),
    "duplicate delivery": ("observe", "VirtualMachineHostCrashed", "vm-approve", True, False),
    "auto remediation with its brakes": ("auto", "VirtualMachinePossiblyDegradedDueToHardwareFailure", "vm-degraded-hw", False, False),
    # Teams and email told: the ledger's requests, and apart from them the outbox's (its own proxy).
    "new incident, observe, notified": ("observe", "VirtualMachineHostCrashed", "vm-degraded-hw", False, True),
}
WARM_UP_VM = "vm-host-crash"


def measure_paths() -> list[tuple[str, int, dict[str, int]]]:
    """(path, requests, requests by kind) for each path, on a fresh Azurite and simulated Azure."""
    from simulator import SimulatedAzure
    from tests import builders as b
    from tests.azurite import running_azurite
    from tests.conftest import DEMO_FLEET

    with running_azurite() as connection, SimulatedAzure(fleet=DEMO_FLEET) as sim:
        b.EVENTS_AT = datetime.now(UTC) - timedelta(minutes=15)  # fresh events, as Azure sends them
        return count_paths(connection, sim, "bench")


def count_paths(connection: str, sim: Any, prefix: str, paths: dict[str, tuple[str, str, str, bool, bool]] = PATHS) -> list[tuple[str, int, dict[str, int]]]:
    """Each path through the real pipeline on a Table ledger at `connection` (tables named
    `prefix` and the path's number), its requests counted by a proxy in front of the server; with
    notifications, the outbox's requests through a second proxy, counted apart ("outbox ..." kinds)."""
    from ledger import open_ledger
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from tests import builders as b
    from tests.azurite import ACCOUNT_KEY
    from tests.conftest import DEMO_SUBSCRIPTION
    from tests.ledger.counting_proxy import CountingProxy
    from wiring import build_pipeline

    found = []
    port = int(connection.split("127.0.0.1:")[1].split("/")[0])
    proxy, outbox_proxy = CountingProxy(port), CountingProxy(port)
    try:
        for index, (path, (mode, annotation, vm, twice, told)) in enumerate(paths.items()):
            ledger = open_ledger("table", {"table_connection_string": proxy.connection_string(ACCOUNT_KEY),
                                           "table_prefix": f"{prefix}{index}"})
            settings = Settings(mode=mode, azure="sim", subscriptions=(DEMO_SUBSCRIPTION,))
            connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
            notifier = _notifier(settings, ledger, sim, outbox_proxy.connection_string(ACCOUNT_KEY), f"{prefix}{index}") if told else False
            pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=notifier)
            deliver = _deliverer(pipeline, b)
            deliver(b.annotated(annotation, target=_vm(WARM_UP_VM)))  # creates the tables
            signal = b.annotated(annotation, target=_vm(vm))
            if twice:
                deliver(signal)
            proxy.reset()
            outbox_proxy.reset()
            outcome = deliver(signal)
            kinds = {**proxy.by_kind(), "bytes read": proxy.bytes_answered}
            if told:
                kinds.update({f"outbox {kind}": n for kind, n in outbox_proxy.by_kind().items()})
                kinds["outbox requests"] = outbox_proxy.count()
            found.append((f"{path} ({outcome.status})", proxy.count(), kinds))
            if told:
                notifier.store.close()
            ledger.close()
    finally:
        proxy.close()
        outbox_proxy.close()
    return found


def _notifier(settings: Any, ledger: Any, sim: Any, outbox_connection: str, prefix: str) -> Any:
    """A notifier telling the simulated Teams and mailbox, its outbox beside the ledger (the same
    tables) but reached through a proxy of its own, so its requests are counted apart."""
    from ledger.table.outbox import TableOutbox
    from pipeline.azure import LocalToken
    from responder.azure_session import AzureSession
    from rules import load_policy
    from wiring import notifier_from_settings

    env = AzureSession("sim", None, sim).plug_notifications()
    notifier = notifier_from_settings(settings.with_notify(env), load_policy(settings.policy_path), ledger, lambda: datetime.now(UTC),
                                      credential=LocalToken())
    notifier.store = TableOutbox.from_settings({"table_connection_string": outbox_connection, "table_prefix": prefix})
    return notifier


def _vm(name: str) -> str:
    from tests.conftest import DEMO_SUBSCRIPTION

    return f"/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/{name}"


def _deliverer(pipeline: Any, b: Any) -> Callable[[dict], Any]:
    from intake.deliveries import parse_delivery

    def deliver(payload: dict) -> Any:
        (outcome,) = pipeline.process(parse_delivery(b.body(payload), "bench"))
        return outcome

    return deliver


def figures(found: list[tuple[str, int, dict[str, int]]]) -> list[Figure]:
    targets = {"new incident, observe": 3, "duplicate delivery": 1}  # issue 19's, notifications off
    rows = []
    for path, count, kinds in found:
        target = targets.get(path.split(" (")[0])
        outbox = kinds.get("outbox requests")
        measured = str(count) if outbox is None else f"{count} + outbox {outbox}"
        rows.append(Figure(f"6 table requests: {path}", measured, "-", "-", f"<= {target}" if target else "-",
                           None if target is None else count <= target,
                           [", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.table_requests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per path")
    args = parser.parse_args(argv)
    found = measure_paths()
    if args.json:
        for path, count, kinds in found:
            print(json.dumps({"path": path, "requests": count, "by_kind": kinds}))
    else:
        print(table(figures(found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
