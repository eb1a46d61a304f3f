"""Fixtures: the simulated Azure (the demo fleet, or a fleet a test describes), clients for it
through actions.AzureClients, and a sweeper over it. The real SDKs over HTTPS; nothing mocked.

The simulated Azure writes its times relative to when it starts, so the sweep's clock starts at
the real now and tests move it by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Clock

DEMO_FLEET = Path(__file__).resolve().parents[2] / "responder" / "demo" / "fleet.json"
DEMO_SUB = "00000000-0000-0000-0000-00000000d3e0"
OTHER_SUB = "00000000-0000-0000-0000-0000000f0e19"


def connector(sim):
    """subscription id -> AzureClients for this simulated Azure (fast retries, one credential)."""
    from actions import AzureClients
    from pipeline.azure import LocalToken

    credential = LocalToken()

    def connect(subscription_id: str):
        return AzureClients.build(
            subscription_id=subscription_id, base_url=sim.base_url, connection_verify=sim.ca_bundle,
            credential=credential, retry_backoff_factor=0.01, retry_total=2,
        )  # fmt: skip

    return connect


def make_sweeper(sim, subscriptions=(DEMO_SUB,), include=(), exclude=(), clock=None, **kwargs):
    from sweep import Scope, Sweeper

    scope = Scope(tuple(subscriptions), tuple(include), tuple(exclude))
    return Sweeper(connector(sim), scope, clock or Clock(datetime.now(UTC)), page_size=sim.page_size, **kwargs)


def found(signals) -> set[tuple[str, str]]:
    """(resource name, finding name) of each signal; a scale-set VM as set/instance."""
    from arm import short_name

    return {(short_name(s.resource_id), s.name) for s in signals}


@pytest.fixture
def now_clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def demo_sim():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET) as sim:
        yield sim


@pytest.fixture
def sim_for():
    """Start a simulated Azure for a fleet document; stopped at the end of the test."""
    from simulator import SimulatedAzure

    started = []

    def start(fleet, **kwargs):
        sim = SimulatedAzure(fleet=fleet, **kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sweep_pipeline(now_clock, fresh_events):
    """A pipeline on an in-memory ledger; with `sim`, it verifies against that simulated Azure."""
    from ledger import SqliteLedger
    from pipeline import Settings
    from wiring import build_pipeline

    ledgers = []

    def make(sim=None, mode="observe", ledger=None):
        store = ledger or SqliteLedger(":memory:")
        ledgers.append(store)
        # The acting modes act in the subscriptions named: the fleet's own, as `--azure sim` takes them.
        scope = tuple(sorted(sim.fleet.subscriptions)) if sim else (DEMO_SUB, OTHER_SUB)
        return build_pipeline(Settings(mode=mode, subscriptions=scope), ledger=store, clock=now_clock,
                              connect=connector(sim) if sim else None)

    yield make
    for store in ledgers:
        store.close()
