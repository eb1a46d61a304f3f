"""Fixtures: the simulated Azure serving the demo fleet, and the real SDK clients pointed at it."""

from __future__ import annotations

from pathlib import Path

import pytest

DEMO_FLEET = Path(__file__).resolve().parents[2] / "responder" / "demo" / "fleet.json"
SUB = "00000000-0000-0000-0000-00000000d3e0"
OTHER_SUB = "00000000-0000-0000-0000-0000000f0e19"
RG = "rg-demo"


@pytest.fixture
def sim():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET) as azure:
        yield azure


def compute_client(sim, subscription: str = SUB, **kwargs):
    from azure.mgmt.compute import ComputeManagementClient

    from pipeline.azure import LocalToken

    kwargs.setdefault("retry_backoff_factor", 0.01)
    return ComputeManagementClient(
        LocalToken(), subscription, base_url=sim.base_url, connection_verify=sim.ca_bundle, **kwargs
    )


def health_client(sim, subscription: str = SUB, **kwargs):
    from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

    from pipeline.azure import LocalToken

    kwargs.setdefault("retry_backoff_factor", 0.01)
    return ResourceHealthMgmtClient(
        LocalToken(), subscription, base_url=sim.base_url, connection_verify=sim.ca_bundle, **kwargs
    )


@pytest.fixture
def compute(sim):
    client = compute_client(sim)
    yield client
    client.close()


@pytest.fixture
def health(sim):
    client = health_client(sim)
    yield client
    client.close()
