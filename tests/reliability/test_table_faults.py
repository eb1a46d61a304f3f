"""Table Storage failing under the storm: a fault-injecting proxy in front of Azurite (a local
server standing in for the table service, no wrapper around the client). 503s and writes whose
answer is lost, on every table the storm writes, each of them hit; a delivery whose invocation
failed because the ledger said "try again later" is delivered again (Event Grid and action groups
retry a 5xx), any other exception fails the test. Nothing lost, nothing written twice."""

from __future__ import annotations

import re

import pytest

from intake.deliveries import parse_delivery
from tests.azurite import connection_string
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes
from tests.ledger.conftest import azurite, fresh_prefix  # noqa: F401 - the session's Azurite

from .storm import bodies, tick_until_settled
from .table_proxy import TableProxy

ACTED = {"vm-degraded-hw", "vm-accelnet", "vmss-web"}


@pytest.fixture
def table_ledger(azurite):  # noqa: F811
    from ledger.table import TableLedger
    from ledger.table.service import service_client

    port = int(re.search(r":(\d+)/devstoreaccount1", azurite).group(1))
    with TableProxy(port) as proxy:
        ledger = TableLedger(service_client(connection_string=connection_string(proxy.port)), fresh_prefix())
        yield ledger, proxy


def deliver_until_acknowledged(pipeline, body: bytes, attempts: int = 12) -> None:
    """What the trigger's caller does: a failed invocation (a 5xx, or events deferred because
    another attempt holds their claim) is delivered again."""
    from ledger.errors import LedgerContentionError, LedgerUnavailableError
    from pipeline import DEFERRED

    errors = []
    for _ in range(attempts):
        try:
            outcomes = pipeline.process(parse_delivery(body, "storm"))
        except (LedgerUnavailableError, LedgerContentionError) as exc:
            # The ledger says "try again later": the host answers 500 and the sender retries.
            # Any other exception is a bug, not a fault of the store: it fails the test here.
            errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            continue
        if not any(o.status == DEFERRED for o in outcomes):
            return
        errors.append("deferred: " + "; ".join(o.reason for o in outcomes if o.status == DEFERRED))
    raise AssertionError(f"a delivery was never acknowledged: {errors}")


def record_hits(kind: str, faults) -> None:
    import json
    import os

    path = os.environ.get("RESPONDER_RELIABILITY_COUNTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": f"table-{kind}", "faults": sum(f.hits for f in faults), "by_kind": {f"table {kind}": sum(f.hits for f in faults)}}) + "\n")


def remediated(ledger) -> set[str]:
    return {o["resource_id"].rsplit("/", 1)[-1] for o in ledger.operations() if o["state"] == "succeeded"}


# The tables this storm writes (auto mode, no notifier: no approvals, waves or outbox; every event
# well formed and no storm tripped: no rejections, storms or switches), and those of them it
# writes conditionally (with an ETag: incident pointers, claims taken over, operations, slots).
# The hot path writes claims, incidents, signals and decisions to the IncidentLog, mostly in transactions.
WRITTEN = ("log", "operations", "unhealthy", "slots")
CONDITIONAL = ("log", "operations", "slots")
# (fault, the tables it is armed on): 503s and lost answers on every write method of every table
# written, 412s on the conditional writes, each table's first few. Every one must be hit.
KINDS = [("503", WRITTEN), ("drop-after", WRITTEN), ("412", CONDITIONAL)]


@pytest.mark.parametrize("kind, tables", KINDS, ids=[k for k, _ in KINDS])
def test_a_storm_survives_table_storage_faults(acting, sim, table_ledger, kind, tables):
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from tests.conftest import TEST_APPROVAL_SECRET
    from wiring import build_pipeline

    ledger, proxy = table_ledger
    settings = Settings(mode="auto", azure="sim", approval_secret=TEST_APPROVAL_SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    ledger.history()  # the tables exist before the faults start
    methods, times = (("PUT", "PATCH", "MERGE", "DELETE"), 3) if kind == "412" else (("POST", "PUT", "PATCH", "MERGE"), 1)
    armed = [(name, proxy.add(method, r"/" + re.escape(ledger.tables[name]), kind, times=times))
             for method in methods for name in tables]
    faults = [fault for _, fault in armed]
    try:
        for body in bodies():
            deliver_until_acknowledged(pipeline, body)
    finally:
        record_hits(kind, faults)
    tick_until_settled(pipeline)
    missed = [name for name in tables if not any(f.hits for n, f in armed if n == name)]
    assert not missed, f"{kind} faults armed on these tables never hit: {missed}"
    assert remediated(ledger) == ACTED, [(o["resource_id"].rsplit("/", 1)[-1], o["state"], o["message"][:80]) for o in ledger.operations()]
    per_resource = {}
    for write in accepted_writes(sim):
        name = write.path.split("/")[8]
        per_resource[name] = per_resource.get(name, 0) + 1
    assert per_resource and all(n == 1 for n in per_resource.values()), per_resource
    assert not ledger.open_operations()
