"""Fixtures: a simulated Azure with the test bed's fleet, and clients for it.

The tests use the real SDKs over HTTPS against the simulated Azure; nothing is mocked.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from actions_testbed import FLEET, SUB


@pytest.fixture
def fleet_doc() -> dict[str, Any]:
    return copy.deepcopy(FLEET)


@pytest.fixture
def sim(fleet_doc):
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=fleet_doc, operation_delay=0.0) as azure:
        yield azure


@pytest.fixture
def clients(sim):
    from actions import AzureClients
    from pipeline.azure import LocalToken

    built = AzureClients(
        subscription_id=SUB,
        base_url=sim.base_url,
        connection_verify=sim.ca_bundle,
        credential=LocalToken(),
        polling_interval=0,
        retry_backoff_factor=0.01,
    )
    yield built
    built.close()


@pytest.fixture
def slow_sim(fleet_doc):
    """Operations take 30 s unless finished by hand, so a first poll sees them InProgress."""
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=fleet_doc, operation_delay=30.0) as azure:
        yield azure


@pytest.fixture
def slow_clients(slow_sim):
    from actions import AzureClients
    from pipeline.azure import LocalToken

    built = AzureClients(subscription_id=SUB, base_url=slow_sim.base_url, connection_verify=slow_sim.ca_bundle,
                         credential=LocalToken(), polling_interval=0)  # fmt: skip
    yield built
    built.close()
