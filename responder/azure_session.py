"""Which Azure a command-line run talks to: none, the simulated Azure started in-process for the
run (with a fleet file), or the live one (DefaultAzureCredential)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import Outcome, Pipeline, Settings
from pipeline.azure import Connect, connector

DEMO_FLEET = Path(__file__).resolve().parent / "demo" / "fleet.json"


@dataclass
class AzureSession:
    kind: str  # none | sim | live
    connect: Connect | None
    sim: Any = None  # the SimulatedAzure, for its counters and outbox endpoints
    teams: Any = None  # the simulated Teams webhooks, when plugged in
    mailbox: Any = None  # the simulated Graph mailbox, when plugged in

    def scoped(self, settings: Settings) -> Settings:
        """The settings a run acts under. The simulated Azure is a tenant of its own: with no
        RESPONDER_SUBSCRIPTIONS, its fleet's subscriptions are the scope (the acting modes need
        one). Against live Azure, the scope is only ever what the operator set."""
        if self.kind != "sim" or settings.subscriptions or self.sim is None:
            return settings
        from dataclasses import replace

        return replace(settings, subscriptions=tuple(sorted(self.sim.fleet.subscriptions)))

    def plug_notifications(self) -> dict[str, str]:
        """Plug a Teams webhook and Graph sendMail into the simulated Azure; the settings that reach them."""
        from simulator import graph, teams

        self.teams, self.mailbox = teams.install(self.sim), graph.install(self.sim)
        return {
            "RESPONDER_TEAMS_WEBHOOKS": json.dumps({"ops": self.teams.url("ops")}),
            "RESPONDER_MAIL_SENDER": "responder@contoso.example",
            "RESPONDER_MAIL_TO": "ops@contoso.example",
            "RESPONDER_GRAPH_URL": f"{self.sim.base_url}/v1.0",
            "RESPONDER_CA_BUNDLE": self.sim.ca_bundle,
        }

    def notifications_received(self) -> dict[str, int]:
        return {
            "teams": len(self.teams.received("ops")) if self.teams else 0,
            "email": len(self.mailbox.sent) if self.mailbox else 0,
        }

    def arm_counts(self) -> dict[str, int]:
        if self.sim is None:
            return {"arm_reads": 0, "arm_writes": 0}
        counters = self.sim.counters
        return {"arm_reads": counters.get("reads", 0) + counters.get("polls", 0), "arm_writes": counters.get("writes", 0)}


@contextmanager
def azure_session(kind: str, settings: Settings, fleet: str | None = None, operation_delay: float = 0.0) -> Iterator[AzureSession]:
    if kind == "sim":
        from pipeline.azure import LocalToken
        from simulator import SimulatedAzure

        with SimulatedAzure(fleet=fleet or DEMO_FLEET, operation_delay=operation_delay) as sim:
            yield AzureSession("sim", connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken()), sim)
        return
    if kind == "live":
        from dataclasses import replace

        yield AzureSession("live", connector(replace(settings, azure="live")))
        return
    yield AzureSession("none", None)


def closing_tick(pipeline: Pipeline, timeout: float = 60.0, pause: float = 0.2) -> list[Outcome]:
    """Tick until every started operation has ended (or the time is up)."""
    from wiring import store_of

    ended: list[Outcome] = []
    deadline = time.monotonic() + timeout
    while True:
        ended += pipeline.tick()
        if pipeline.remediator is None or not store_of(pipeline).open_operations() or time.monotonic() > deadline:
            return ended
        time.sleep(pause)
