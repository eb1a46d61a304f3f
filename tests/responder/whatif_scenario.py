"""A ledger recorded from the demo's deliveries and its storm, through the pipeline acting against
the simulated Azure, and the what-if over it under a policy written for the test."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import yaml

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "policy.yaml"


def record(pipeline) -> None:
    """The demo's deliveries (the first twice, as Event Grid may deliver it), then its storm."""
    from intake.deliveries import parse_delivery
    from responder.demo import scenario, storm
    from responder.demo.timing import as_of
    from responder.replay import read_delivery

    now = datetime.now(UTC)
    for path in scenario():
        read_delivery(str(path), pipeline, input_name=f"demo/{path.name}", shift=as_of(now))
    pipeline.process(parse_delivery(json.dumps(storm.delivery()), "demo/storm"))


def policy(folder: Path, change=None) -> Path:
    """The shipped policy, changed by `change(document)` when given, written to a file."""
    document = yaml.safe_load(SHIPPED.read_text())
    if change is not None:
        change(document)
    text = yaml.safe_dump(document)
    # A name of its own for each policy: a policy is read once per path (rules/policy.py).
    path = folder / f"policy-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    path.write_text(text)
    return path


def rule(document: dict, name: str) -> dict:
    return next(r for r in document["rules"] if r["name"] == name)


def what_if(ledger, policy_path: Path, mode: str | None = None, catalog: Path | None = None):
    from pipeline import Settings
    from responder.whatif import build_engine, what_if

    return what_if(ledger, build_engine(Settings(), policy_path, catalog, mode), mode=mode)


def recorded(ledger, mode: str | None) -> None:
    """The scenario decided on `ledger` by a pipeline acting against a fresh simulated Azure with
    the demo fleet, in `mode` (None: each rule's own), in the demo's and the storm's subscriptions."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from responder.demo import storm
    from simulator import SimulatedAzure
    from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, TEST_APPROVAL_SECRET
    from wiring import build_pipeline

    with SimulatedAzure(fleet=DEMO_FLEET) as sim:
        settings = Settings(mode=mode, azure="sim", approval_secret=TEST_APPROVAL_SECRET,
                            subscriptions=(DEMO_SUBSCRIPTION, storm.SUBSCRIPTION))
        connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
        record(build_pipeline(settings, ledger=ledger, connect=connect, notifier=False))


def changes(report) -> dict[str, tuple]:
    """Each changed decision by its resource's name: (change, action, mode, status, brakes) re-decided."""
    from arm import short_name

    return {short_name(c.resource_id): (c.kind, c.after.action, c.after.mode, c.after.status, c.after.brakes)
            for c in report.changes}
