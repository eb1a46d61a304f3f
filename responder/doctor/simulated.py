"""doctor against the simulated Azure: a healthy deployment served in-process (simulator/deployment.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .checks import Context
from .reads import Reader
from .target import Target


def context_for(sim: Any, deployment: Any) -> Context:
    """A Context that reads `deployment` (a SimDeployment) through `sim`'s HTTPS endpoint."""
    from pipeline.azure import LocalToken

    reader = Reader(LocalToken(), arm=sim.base_url, graph=f"{sim.base_url}/v1.0", verify=sim.ca_bundle)
    return Context(Target.from_env(deployment.env()), reader, credential=LocalToken(), table_verify=sim.ca_bundle)


def sqlite_ledger(folder: Path) -> str:
    """A SQLite ledger file for the simulated app's RESPONDER_LEDGER (doctor opens it read-only);
    the simulated deployment itself uses Table Storage, as the template does."""
    path = folder / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS doctor_probe (id INTEGER)")
    return f"sqlite:{path}"


@contextmanager
def simulated_context() -> Iterator[Context]:
    from simulator import SimulatedAzure
    from simulator import deployment as sim_deployment

    with SimulatedAzure() as sim:
        deployment = sim_deployment.install(sim)
        ctx = context_for(sim, deployment)
        try:
            yield ctx
        finally:
            ctx.reader.close()
