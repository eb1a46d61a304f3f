"""A simulated Azure with a healthy deployment of the app, and doctor's context for it."""

from __future__ import annotations

import pytest


@pytest.fixture
def deployed():
    """(sim, deployment): break the deployment's state to make a check fail."""
    from simulator import SimulatedAzure
    from simulator import deployment as sim_deployment

    with SimulatedAzure() as sim:
        deployment = sim_deployment.install(sim, ["00000000-0000-0000-0000-0000000000d1", "00000000-0000-0000-0000-0000000000d2"])
        yield sim, deployment


def doctor(sim, deployment, env_changes=None, references_only=False, wait=0.0):
    """Run every check (or the references check) against the deployment; [(status, name, detail, fix)]."""
    import dataclasses

    from responder.doctor import check
    from responder.doctor.simulated import context_for

    ctx = context_for(sim, deployment)
    if env_changes:
        ctx.target = dataclasses.replace(ctx.target, **env_changes)
    try:
        return check(ctx, references_only, wait)
    finally:
        ctx.reader.close()

