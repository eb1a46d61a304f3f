"""doctor against the simulated Azure: a healthy deployment served in-process (responder/sim/deployment.py)."""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .checks import Context
from .reads import Reader
from .target import Target


def context_for(sim: Any, deployment: Any) -> Context:
    """A Context that reads `deployment` (a SimDeployment) through `sim`'s HTTPS endpoint."""
    from responder.sim.credential import SimCredential

    reader = Reader(SimCredential(), arm=sim.base_url, graph=f"{sim.base_url}/v1.0", verify=sim.ca_bundle)
    return Context(Target.from_env(deployment.env()), reader, credential=SimCredential(), table_verify=sim.ca_bundle)


def sqlite_ledger(folder: Path) -> str:
    """A ledger file the simulated app's RESPONDER_LEDGER can name (doctor opens it read-only)."""
    path = folder / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE IF NOT EXISTS doctor_probe (id INTEGER)")
    return f"sqlite:{path}"


@contextmanager
def simulated_context() -> Iterator[Context]:
    from responder.sim import SimulatedAzure
    from responder.sim import deployment as sim_deployment

    with tempfile.TemporaryDirectory(prefix="responder-doctor-") as folder, SimulatedAzure() as sim:
        deployment = sim_deployment.install(sim)
        deployment.app_settings["RESPONDER_LEDGER"] = sqlite_ledger(Path(folder))
        ctx = context_for(sim, deployment)
        try:
            yield ctx
        finally:
            ctx.reader.close()
