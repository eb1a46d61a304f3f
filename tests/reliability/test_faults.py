"""Azure failing under a storm: 429 with Retry-After, 500, 503, dropped connections, slow answers
and failed operations on every route the app uses. Tick until done: every signal has a decision,
every decision its outcome, no write made twice, every failure in the ledger."""

from __future__ import annotations

import pytest

from intake.deliveries import parse_delivery
from tests.conftest import accepted_writes

from .storm import KINDS, RETRY_AFTER, ROUTES, WRITES, settle_and_account, storm_through, tick_until_settled

# What the storm must end in: one successful remediation each (the host crash is a first one: noop).
ACTED = {"vm-degraded-hw", "vm-accelnet", "vmss-web"}


def remediated(ledger) -> set[str]:
    return {o["resource_id"].rsplit("/", 1)[-1] for o in ledger.operations() if o["state"] == "succeeded"}


def injected(sim) -> int:
    return sum(f.hits for f in sim.faults)


@pytest.mark.parametrize("kind", KINDS)
def test_a_storm_survives_one_kind_of_fault_on_every_route(acting, sim, ledger, kind):
    faults = [sim.faults.add(method=m, path=p, kind=kind, times=1, retry_after=RETRY_AFTER, delay=0.3) for m, p in ROUTES.values()]
    pipeline = acting("auto")
    storm_through(pipeline)
    report = settle_and_account(pipeline, sim, ledger)
    assert not report["open"], report["open"]
    assert all(f.hits for f in faults), [(f.path, f.hits) for f in faults if not f.hits]
    # The two degraded VMs and the suspended scale set were remediated once each, however Azure behaved.
    assert remediated(ledger) == ACTED, remediated(ledger)
    assert len(accepted_writes(sim)) == len(ACTED)


def test_a_storm_survives_every_fault_at_once(acting, sim, ledger):
    # Each route its own kind, the kinds turning round the routes: every route and every kind at once
    # (several on one request would only measure the SDK's exponential back-off).
    for index, (method, path) in enumerate(ROUTES.values()):
        sim.faults.add(method=method, path=path, kind=KINDS[index % len(KINDS)], times=1, retry_after=RETRY_AFTER, delay=0.2)
    pipeline = acting("auto")
    storm_through(pipeline)
    report = settle_and_account(pipeline, sim, ledger)
    assert not report["open"]
    assert injected(sim) == len(ROUTES)
    assert remediated(ledger) == ACTED and len(accepted_writes(sim)) == len(ACTED)


@pytest.mark.parametrize("route", WRITES)
def test_failed_operations_are_recorded_failed_and_never_retried_blindly(acting, sim, ledger, route):
    method, path = ROUTES[route]
    sim.faults.add(method=method, path=path, kind="fail-operation", times=None, message="Allocation failed")
    pipeline = acting("auto")
    storm_through(pipeline)
    settle_and_account(pipeline, sim, ledger)
    failed = [o for o in ledger.operations() if o["state"] == "failed" and "/vm-forged-" not in o["resource_id"]]
    assert failed and all("Allocation failed" in o["message"] for o in failed), [o["message"] for o in failed]
    assert len(accepted_writes(sim)) <= len(ACTED)


def test_azure_down_for_the_whole_storm_loses_nothing_and_acts_once_it_is_back(acting, sim, ledger):
    down = sim.faults.add(method="*", path=r"/subscriptions/", kind="503", times=None, retry_after=RETRY_AFTER)
    pipeline = acting("auto")
    storm_through(pipeline)
    assert not accepted_writes(sim)
    pending = ledger.open_operations()
    assert pending and all(o["state"] == "verifying" for o in pending)
    assert all("could not be read" in d["reason"] for d in ledger.history() if d["status"] == "planned")
    sim.faults.remove(down)
    settle_and_account(pipeline, sim, ledger)
    assert remediated(ledger) == ACTED and len(accepted_writes(sim)) == len(ACTED)


def test_retry_after_is_honoured(acting, sim, ledger):
    import time

    from tests import builders as b

    from .storm import vm

    sim.faults.add(method="POST", path=ROUTES["redeploy"][1], kind="429", times=1, retry_after=1)
    pipeline = acting("auto")
    started = time.monotonic()
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=vm("vm-degraded-hw"))), "t"))
    assert outcome.status == "started" and time.monotonic() - started >= 1.0
    tick_until_settled(pipeline)
    assert len(accepted_writes(sim)) == 1
