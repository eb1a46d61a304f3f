"""Fixtures every tier shares: the shared Azure examples (read in place), a fixed clock, and a
pipeline on an in-memory ledger installed behind the Functions triggers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import properties  # noqa: F401 - loads the hypothesis profile before any test module makes its settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_EXAMPLES = ROOT.parent / "shared" / "azure-examples"
DEMO_PAYLOADS = ROOT / "responder" / "demo" / "payloads"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def shared_examples() -> Path:
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared/azure-examples is not beside the project")
    return SHARED_EXAMPLES


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def ledger():
    from ledger import SqliteLedger

    store = SqliteLedger(":memory:")
    yield store
    store.close()


@pytest.fixture
def make_pipeline(ledger, clock):
    from pipeline import Settings
    from wiring import build_pipeline

    def make(mode: str | None = None, **settings):
        return build_pipeline(Settings(mode=mode, **{"approval_secret": TEST_APPROVAL_SECRET, **settings}), ledger=ledger, clock=clock)

    return make


@pytest.fixture
def pipeline(make_pipeline):
    return make_pipeline()


@pytest.fixture
def installed(pipeline):
    """The pipeline the Functions triggers use, for the length of one test."""
    from handlers import runtime

    runtime.use(pipeline)
    yield pipeline
    runtime.use(None)


DEMO_FLEET = ROOT / "responder" / "demo" / "fleet.json"
# Approve mode refuses to run without a signing secret; test pipelines get this one.
TEST_APPROVAL_SECRET = "test-approval-secret-0123456789abcdef"
DEMO_SUBSCRIPTION = "00000000-0000-0000-0000-00000000d3e0"


@pytest.fixture
def fresh_events():
    """Events built by tests/builders.py dated a quarter of an hour ago, not on their fixed day: for tests on
    the real clock (an event hours old when it arrives is never acted on)."""
    from datetime import timedelta

    from tests import builders

    builders.EVENTS_AT = datetime.now(UTC) - timedelta(minutes=15)
    try:
        yield builders.EVENTS_AT
    finally:
        builders.EVENTS_AT = None


@pytest.fixture
def sim(fresh_events):
    """The simulated Azure with the demo fleet, fresh for each test (faults and state mutate).
    Its fleet is relative to now, and so are the events a test sends it."""
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET) as azure:
        yield azure


@pytest.fixture
def acting(sim, ledger):
    """A pipeline that verifies and acts against `sim`; the real clock (the fleet's windows are relative to now)."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline

    def make(mode: str | None = "auto", clock=None, **settings_values):
        # The acting modes act only in the subscriptions named: the demo fleet's, unless a test says.
        settings_values.setdefault("subscriptions", (DEMO_SUBSCRIPTION,))
        settings = Settings(mode=mode, azure="sim", **{"approval_secret": TEST_APPROVAL_SECRET, **settings_values})
        connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
        return build_pipeline(settings, ledger=ledger, connect=connect, clock=clock, notifier=False)

    return make


@pytest.fixture
def told(sim, ledger):
    """A pipeline acting against `sim` in auto mode, telling the simulated Teams and mailbox."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from responder.azure_session import AzureSession
    from wiring import build_pipeline, notifications_of, notifier_from_settings

    session = AzureSession("sim", None, sim)
    # Told at once: these tests follow each step to its message; the hold has tests in tests/notify.
    env = {**session.plug_notifications(), "RESPONDER_NOTIFY_HOLD": "0"}
    settings = Settings(mode="auto", azure="sim", subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    bare = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    notifier = notifier_from_settings(settings.with_notify(env), bare.engine.policy, ledger, bare.clock, credential=LocalToken())
    pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=notifier)
    return pipeline, session, notifications_of(pipeline)


def accepted_writes(sim, path_fragment: str = "") -> list:
    """Writes the simulated Azure took (answered 2xx), optionally on one path."""
    return [r for r in sim.requests if r.counter == "writes" and r.status and 200 <= r.status < 300 and path_fragment in r.path]


def policy_file(tmp_path, brakes: dict | None = None, rules: dict | None = None) -> Path:
    """The default policy with some brakes and rule fields changed, written where a test can use it."""
    import yaml

    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    document["brakes"].update(brakes or {})
    for rule in document["rules"]:
        rule.update((rules or {}).get(rule["name"], {}))
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def deliver(pipeline, payload):
    """One delivery of one signal (a payload from tests/builders.py) through the pipeline."""
    import json

    from intake.deliveries import parse_delivery

    (outcome,) = pipeline.process(parse_delivery(json.dumps(payload).encode(), "test"))
    return outcome


def tick_until_done(pipeline, seconds: float = 20.0) -> list:
    """Tick until no operation is open; the outcomes that ended. Fails when they do not end."""
    import time

    ended, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        ended += pipeline.tick()
        if not pipeline.ledger.open_operations():
            return ended
        time.sleep(0.05)
    raise AssertionError(f"operations still open: {pipeline.ledger.open_operations()}")


@pytest.fixture(scope="session")
def azurite_storage():
    """A connection string to Azurite's Blob and Table services, started once for the session
    (tests/azurite.py): the dead-letter container `replay --deadletter` reads, a Table ledger."""
    from tests.azurite import AzuriteError, running_azurite

    try:
        with running_azurite(("blob", "table")) as connection_string:
            yield connection_string
    except AzuriteError as error:
        pytest.fail(str(error), pytrace=False)
