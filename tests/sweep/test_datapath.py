"""The datapath issue after a live migration, found by the VM's application health: a
LiveMigrationSucceeded annotation (as Azure sends it), then the Application Health extension
reporting the VM Unhealthy while Resource Health shows it Available. The sweep finds it, the
default policy redeploys, and verification asks the application's health, not Resource Health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake.deliveries import parse_delivery
from sweep import sweep_into
from tests import builders as b

from .conftest import make_sweeper

SUB = "00000000-0000-0000-0000-0000000000d7"
RG = "rg-datapath"


def vm_id(name):
    return b.vm_id(name, rg=RG, sub=SUB)


FLEET = {
    "defaults": {"subscriptionId": SUB, "resourceGroup": RG},
    "vms": [
        # live-migrated 30 minutes ago, unhealthy for 10 minutes, Available to Resource Health
        {"name": "vm-lost", "healthState": "Unhealthy", "stateChanged": "-10m"},
        {"name": "vm-fine", "healthState": "Healthy"},  # live-migrated, still healthy
        {"name": "vm-sick", "healthState": "Unhealthy"},  # unhealthy, but no live migration
        {"name": "vm-old", "healthState": "Unhealthy"},  # live-migrated long before it turned unhealthy
        {"name": "vm-blind"},  # live-migrated, no Application Health extension: nothing to see
    ],
}


def migrated(pipeline, name, ago):
    when = (datetime.now(UTC) - ago).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    payload = b.annotated("LiveMigrationSucceeded", target=vm_id(name), when=when)
    (outcome,) = pipeline.process(parse_delivery(b.body(payload), "annotation.json"))
    assert (outcome.name, outcome.action) == ("LiveMigrationSucceeded", "none")


@pytest.fixture
def swept(sim_for, sweep_pipeline, now_clock):
    sim = sim_for(FLEET)
    pipeline = sweep_pipeline(sim, mode="auto")
    for name in ("vm-lost", "vm-fine", "vm-blind"):
        migrated(pipeline, name, timedelta(minutes=30))
    migrated(pipeline, "vm-old", timedelta(hours=3))
    report = sweep_into(pipeline, make_sweeper(sim, (SUB,), clock=now_clock))
    return sim, pipeline, report


def test_unhealthy_soon_after_a_live_migration_is_the_datapath_issue(swept):
    sim, pipeline, report = swept
    found = {o.resource_id.rsplit("/", 1)[-1]: o for o in report.outcomes if o.name == "UnhealthyAfterLiveMigration"}
    assert set(found) == {"vm-lost"}
    lost = found["vm-lost"]
    assert (lost.kind, lost.action, lost.rule, lost.category) == ("availability", "redeploy", "unhealthy-after-live-migration", "network")
    # Resource Health shows it Available; its application health is what verified the redeploy
    assert lost.status == "started" and "the Application Health extension still reports it Unhealthy" in lost.reason
    assert [r.path for r in sim.requests if r.method == "POST"] == [f"{vm_id('vm-lost')}/redeploy"]


def test_the_redeploy_is_verified_by_application_health_not_resource_health(swept):
    from actions import registry

    sim, pipeline, _ = swept
    clients = pipeline.remediator.connect(SUB)
    params = {"verify_by": "application-health"}
    redeploy = registry.get("redeploy")
    assert not redeploy.verify(clients, vm_id("vm-fine"), params).holds
    blind = redeploy.verify(clients, vm_id("vm-blind"), params)
    assert not blind.holds and "reports no application health" in blind.reason
    # by Resource Health (the default), the same unhealthy VM would be "already healthy"
    from tests.actions.actions_testbed import judged

    assert "already healthy: " in judged(redeploy, clients, vm_id("vm-sick"), {})[1]
    assert redeploy.verify(clients, vm_id("vm-sick"), params).holds
    sim.finish_operations()
    pipeline.tick()
    after = redeploy.verify(clients, vm_id("vm-lost"), params)
    assert not after.holds and "reports it healthy" in after.reason, "healthy again on its new host"
