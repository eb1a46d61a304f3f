"""A deployment without the opt-in scale-set write role: the two actions that PATCH a scale set
are skipped ("needs the scale-set write role") and nothing is written to those scale sets; every
other action still acts."""

from __future__ import annotations

from ledger import SqliteLedger
from pipeline import Settings
from pipeline.azure import LocalToken, connector
from sweep import sweep_into
from tests.conftest import DEMO_SUBSCRIPTION
from tests.sweep.conftest import make_sweeper
from wiring import build_pipeline


def test_without_the_role_the_scale_set_writes_are_skipped(sim):
    settings = Settings(mode="auto", azure="sim", scale_set_write=False, subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    store = SqliteLedger(":memory:")
    try:
        pipeline = build_pipeline(settings, ledger=store, connect=connect, notifier=False)
        report = sweep_into(pipeline, make_sweeper(sim))
    finally:
        store.close()
    by_name = {o.resource_id.rsplit("/", 1)[-1]: o for o in report.outcomes}
    for name, action in (("vmss-batch", "enable-automatic-repairs"), ("vmss-api", "replace-failed-instance")):
        outcome = by_name[name]
        assert (outcome.action, outcome.status) == (action, "skipped")
        assert f"{action} needs the scale-set write role" in outcome.reason
        assert not [r for r in sim.requests if r.counter == "writes" and f"/virtualMachineScaleSets/{name}" in r.path]
    assert by_name["vmss-web"].action == "resume-automatic-repairs"
    assert by_name["vmss-web"].status != "skipped"
