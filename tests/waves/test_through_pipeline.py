"""Waves inside the pipeline, as the wiring puts them: the sweep finds the demo fleet's open
self-service windows, auto mode enrols each VM in its scope's wave (`planned`), and the tick
starts update domain 0, then update domain 1 after the pause, reporting each start as an
outcome (see docs/waves.md, In code). A pipeline whose remediation runs no waves fails here."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import DEMO_SUBSCRIPTION, ROOT

from .conftest import ALWAYS, maintained


@pytest.fixture
def wired(acting, now_clock, tmp_path):
    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    document["maintenance"] = {**(document.get("maintenance") or {}), "window": ALWAYS}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    pipeline = acting("auto", clock=now_clock, policy_path=path)
    assert getattr(pipeline.remediator, "waves", None) is not None, "the pipeline's remediation runs no waves"
    return pipeline


def test_the_sweep_enrols_and_the_tick_runs_the_wave(wired, sim, now_clock):
    from sweep import Scope, Sweeper, sweep_into

    sim.operation_delay = 3600
    sweeper = Sweeper(wired.remediator.connect, Scope((DEMO_SUBSCRIPTION,), (), ()), now_clock, page_size=sim.page_size)
    report = sweep_into(wired, sweeper)
    by_vm = {o.resource_id.rsplit("/", 1)[-1]: o for o in report.outcomes if o.action == "perform-maintenance"}
    assert {n: o.status for n, o in by_vm.items()} == {
        "vm-maint-1": "planned", "vm-maint-2": "planned", "vm-maint-3": "planned", "vm-maint-avset": "skipped"}
    assert "update domain 1 of 0..1; starts when update domain 0 has finished" in by_vm["vm-maint-3"].reason
    assert not maintained(sim), "enrolling starts nothing"

    started = {o.resource_id.rsplit("/", 1)[-1] for o in wired.tick() if o.status == "started"}
    assert started == {"vm-maint-1", "vm-maint-2"}
    sim.finish_operations()
    ends = {o.resource_id.rsplit("/", 1)[-1]: o.status for o in wired.tick() if o.action == "perform-maintenance"}
    assert ends == {"vm-maint-1": "succeeded", "vm-maint-2": "succeeded"}
    now_clock.advance(minutes=31)
    assert {o.resource_id.rsplit("/", 1)[-1] for o in wired.tick() if o.status == "started"} == {"vm-maint-3"}
    assert sorted(maintained(sim)) == ["vm-maint-1", "vm-maint-2", "vm-maint-3"]
