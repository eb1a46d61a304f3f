"""Fixtures for maintenance waves: a ledger that keeps waves, a clock tests move (starting at the
real now: the demo fleet's windows are relative to when the simulated Azure starts), and a
world in which the pipeline's remediation acts on the simulated Azure and a Waves service
enrols VMs with the facts the live state gives, as the wiring does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, Clock

ALL_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ALWAYS = {"days": ALL_DAYS, "start": "00:00", "end": "24:00", "time_zone": "UTC"}


def _waves_ledger_class():
    """SqliteLedger with the waves tables. Once SqliteWaves is among SqliteLedger's bases (the
    lead's wiring) this is SqliteLedger itself; until then, the two mixed here."""
    from ledger import SqliteLedger
    from ledger.sqlite.waves import WAVES_SCHEMA, SqliteWaves

    if issubclass(SqliteLedger, SqliteWaves):
        return SqliteLedger

    class WavesLedger(SqliteWaves, SqliteLedger):
        def __init__(self, path=":memory:"):
            super().__init__(path)
            self._db.executescript(WAVES_SCHEMA)

    return WavesLedger


@pytest.fixture
def ledger():
    store = _waves_ledger_class()(":memory:")
    yield store
    store.close()


@pytest.fixture
def now_clock() -> Clock:
    return Clock(datetime.now(UTC))


def vm(name: str) -> str:
    return b.vm_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def maintenance(window: dict | None = None, **section: Any):
    from waves import parse_maintenance

    return parse_maintenance({"window": window or ALWAYS, **section})


def window_from(now: datetime, start_in: timedelta, length: timedelta) -> dict:
    """A daily policy window starting `start_in` after `now` (it may cross midnight)."""
    start, end = now + start_in, now + start_in + length
    return {"days": ALL_DAYS, "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "time_zone": "UTC"}


@dataclass
class World:
    """The pipeline's remediation on the simulated Azure, a Waves service, the clock."""

    sim: Any
    ledger: Any
    pipeline: Any
    waves: Any
    clock: Clock

    def enroll(self, name: str, mode: str = "auto"):
        """What the wiring does for a perform-maintenance decision: read the resource (tags,
        region) and verify (update domain, windows, availability set), then enrol."""
        from actions import registry
        from actions.resource_info import read_resource

        resource_id = vm(name)
        clients = self.pipeline.remediator.connect(DEMO_SUBSCRIPTION)
        info = read_resource(clients, resource_id)
        verdict = registry.get("perform-maintenance").verify(
            clients, resource_id, {"now": self.clock(), **self.waves.policy.action_params})
        incident = self.ledger.open_incident(f"resource:{resource_id.lower()}", resource_id, self.clock(),
                                             timedelta(days=1))
        facts = {"tags": dict(info.tags), "location": info.location, **verdict.facts}
        return self.waves.enroll(incident_id=incident.id, signal_id=None, resource_id=resource_id, mode=mode,
                                 params={}, facts=facts)

    def tick(self):
        """The lead's tick: operations moved on first, then the waves."""
        self.pipeline.tick()
        return self.waves.advance()

    def worker(self):
        """Another worker's Waves on the same ledger and Azure."""
        from waves import Waves

        return Waves(self.ledger, self.pipeline.remediator, self.waves.policy, self.clock)

    def state(self, name: str) -> str:
        from arm import resource_key

        member = self.ledger.live_membership(resource_key(vm(name)))
        return member["state"] if member else "absent"


def detached(pipeline):
    """The pipeline without the waves its wiring may give it: these tests drive their own."""
    if getattr(pipeline.remediator, "waves", None) is not None:
        pipeline.remediator.waves = None
    return pipeline


@pytest.fixture
def world(sim, ledger, acting, now_clock):
    def make(policy=None) -> World:
        from waves import Waves

        pipeline = detached(acting("auto", clock=now_clock))
        return World(sim, ledger, pipeline, Waves(ledger, pipeline.remediator, policy or maintenance(), now_clock),
                     now_clock)

    return make


def started(ended) -> set[str]:
    return {e.resource_id.rsplit("/", 1)[-1] for e in ended if e.status == "started"}


def maintained(sim) -> list[str]:
    from tests.conftest import accepted_writes

    return [r.path.split("/")[-2] for r in accepted_writes(sim, "performMaintenance")]
