"""Fixtures for the notification tests: notices built from a few fields, an outbox on SQLite,
a clock moved by hand, and the simulated Azure with the Teams webhook and Graph mailbox."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from notify import Notice, Notifier

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
# The policy's keys of the same meaning as some app settings (the wiring passes both).
POLICY_KEYS = {"notify_routes": "policy_routes", "notify_default_routes": "policy_default_routes"}
SUB = "11111111-2222-3333-4444-555555555555"


def vm(name: str = "vm-web-01", rg: str = "rg-web", sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def notice(**fields) -> Notice:
    base = dict(
        incident_id="INC-3f2a9c1b",
        event="opened",
        resource_id=vm(),
        signal_kind="annotation",
        signal_name="VirtualMachinePossiblyDegradedDueToHardwareFailure",
        meaning="The host of this VM may be failing; Azure plans to move it.",
        occurred=T0,
        category="degraded-hardware",
        initiator="platform",
        impact="degraded",
        action="redeploy",
        mode="approve",
        status="planned",
        reason="Policy rule degraded-hardware redeploys VMs on a degraded host before Azure's deadline.",
        location="westeurope",
    )
    base.update(fields)
    return Notice(**base)


def follow_up(first: Notice, event: str, status: str, **fields) -> Notice:
    return replace(first, event=event, status=status, **fields)


class Ticker:
    """A clock tests move by hand (callable, like the pipeline's)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def store(tmp_path):
    from ledger.sqlite.outbox import SqliteOutbox

    outbox = SqliteOutbox(str(tmp_path / "ledger.sqlite"))
    yield outbox
    outbox.close()


@pytest.fixture(scope="module")
def sim():
    from simulator import SimulatedAzure, graph, teams

    with SimulatedAzure() as azure:
        azure.hooks = teams.install(azure)
        azure.mail = graph.install(azure)
        yield azure


@pytest.fixture
def azure(sim):
    """The module's simulated Azure with clean webhook and mailbox records for this test."""
    from simulator import graph, teams

    sim.hooks = teams.install(sim)  # later routes win: fresh records each test
    sim.mail = graph.install(sim)
    sim.faults.clear()
    return sim


def notifier_from(values, store, clock, **kwargs) -> Notifier:
    """A Notifier as the wiring builds one: the app settings in `values` through the app's one
    settings reader, the policy's keys in it beside them."""
    from pipeline.settings import notify_settings

    app = {name: value for name, value in values.items() if name not in POLICY_KEYS}
    policy = {POLICY_KEYS[name]: value for name, value in values.items() if name in POLICY_KEYS}
    return Notifier.from_settings(notify_settings(app), store, clock, **policy, **kwargs)


def sim_settings(azure, **extra) -> dict:
    settings = {
        "RESPONDER_TEAMS_WEBHOOKS": json.dumps({"ops": azure.hooks.url("ops"), "dev": azure.hooks.url("dev")}),
        "RESPONDER_MAIL_SENDER": "responder@contoso.com",
        "RESPONDER_MAIL_TO": "ops@contoso.com",
        "RESPONDER_CA_BUNDLE": azure.ca_bundle,
        "RESPONDER_GRAPH_URL": f"{azure.base_url}/v1.0",
        # These tests are about delivery (retries, limits, confirmations), told at once; the hold
        # that lets a storm fold what came before it has tests of its own (test_delivery.py).
        "RESPONDER_NOTIFY_HOLD": "0",
    }
    settings.update(extra)
    return settings


@pytest.fixture
def make_notifier(azure, store, ticker):
    from pipeline.azure import LocalToken

    made: list[Notifier] = []

    def make(store_=None, **extra) -> Notifier:
        n = notifier_from(sim_settings(azure, **extra), store_ or store, ticker, credential=LocalToken())
        made.append(n)
        return n

    yield make
    for n in made:
        n.close()


APPROVAL = "APR-00000000000000a1"  # a pending approval's id, as notices carry it


def signed_link(approval_id: str, choice: str) -> str:
    """The link a notifier signs at send time, signed as approvals/ signs it (a fixed expiry)."""
    from approvals.tokens import Signer

    token = Signer("notify-tests-secret-0123456789abcdef").sign(approval_id, choice, T0 + timedelta(hours=4))
    return f"https://responder.example/api/approvals/{token}"
