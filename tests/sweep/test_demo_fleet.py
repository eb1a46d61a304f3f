"""The sweep of the demo fleet finds every condition no event announced, and nothing else."""

from __future__ import annotations

import pytest

from .conftest import OTHER_SUB, found, make_sweeper

EXPECTED = {
    ("vm-maint-1", "SelfServiceWindowOpen"),
    ("vm-maint-2", "SelfServiceWindowOpen"),
    ("vm-maint-3", "SelfServiceWindowOpen"),
    ("vm-maint-avset", "SelfServiceWindowOpen"),  # found; the verify step refuses it (availability set)
    ("vm-degraded-hw", "Degraded"),
    ("vm-accelnet", "Degraded"),
    ("vm-host-crash", "Unavailable"),
    ("vmss-web", "RepairsSuspended"),
    ("vmss-api", "InstanceProvisioningFailed"),
    ("vmss-batch", "RepairsNotEnabled"),
    ("vmss-probe", "AllInstancesUnhealthy"),
}


@pytest.fixture(scope="module")
def swept_demo():
    """One sweep of the demo fleet, read by every test here: (signals, stats, reads the sim counted)."""
    from simulator import SimulatedAzure

    from .conftest import DEMO_FLEET

    with SimulatedAzure(fleet=DEMO_FLEET) as sim:
        sweeper = make_sweeper(sim)
        signals = list(sweeper.signals())
        return signals, sweeper.stats, sim.counters["reads"]


@pytest.fixture
def demo_signals(swept_demo):
    return swept_demo[:2]


def test_finds_every_condition_and_nothing_else(demo_signals):
    signals, _ = demo_signals
    assert found(signals) == EXPECTED
    assert len(signals) == len(EXPECTED)  # one finding per condition, no repeats


@pytest.mark.parametrize(
    "resource",
    ["vm-healthy-again", "vm-user-restart", "vm-deallocated", "vm-out-of-scope", "vmss-web/7", "vmss-api/2"],
)
def test_nothing_for_healthy_owner_stopped_or_out_of_scope_resources(demo_signals, resource):
    signals, _ = demo_signals
    assert resource not in {name for name, _ in found(signals)}


def test_all_instances_unhealthy_wins_over_repairs_suspended(demo_signals):
    signals, _ = demo_signals
    probe = [s for s in signals if s.resource_id.endswith("/vmss-probe")]
    assert [s.name for s in probe] == ["AllInstancesUnhealthy"]
    assert probe[0].details["repairs_state"] == "Suspended"  # the suspension is there, and deliberately not acted on
    assert probe[0].details["unhealthy"] == probe[0].details["instances"] == 5


def test_every_signal_is_a_sweep_signal_with_a_kind_the_catalog_knows(demo_signals):
    from rules import load_catalog

    catalog = load_catalog()
    signals, _ = demo_signals
    for signal in signals:
        assert signal.source == "sweep" and signal.delivery_key.startswith("sweep:")
        assert signal.occurred.tzinfo is not None
        assert catalog.classify(signal).known, signal.name


def test_maintenance_details_carry_domains_and_windows(demo_signals):
    signals, _ = demo_signals
    by_vm = {s.resource_id.rsplit("/", 1)[-1]: s for s in signals if s.kind == "maintenance-status"}
    assert {vm: (s.details["update_domain"], s.details["fault_domain"]) for vm, s in by_vm.items()} == {
        "vm-maint-1": (0, 0), "vm-maint-2": (0, 1), "vm-maint-3": (1, 0), "vm-maint-avset": (0, 0),
    }  # fmt: skip
    one = by_vm["vm-maint-1"]
    assert one.details["window_start"] < one.details["window_end"] <= one.details["azure_window_start"]
    assert one.details["maintenance_allowed"] is True
    assert one.occurred.isoformat() == one.details["window_start"]  # the window's start is when it happened


def test_failed_provisioning_names_the_instances(demo_signals):
    signals, _ = demo_signals
    (failed,) = [s for s in signals if s.name == "InstanceProvisioningFailed"]
    assert failed.resource_id.endswith("/virtualMachineScaleSets/vmss-api")
    assert failed.resource_type == "Microsoft.Compute/virtualMachineScaleSets"
    assert failed.details["instance_ids"] == ["2"]
    assert failed.delivery_key.endswith(":2")


def test_stats_count_reads_resources_and_findings(swept_demo):
    _, stats, sim_reads = swept_demo
    assert stats.resources == {"vm": 11, "scale-set": 4, "scale-set-vm": 22}
    # one page per list (VMs, statuses, scale sets), then an instance view and an instance list per scale set
    assert dict(stats.reads) == {"vm-list": 1, "availability-list": 1, "scale-set-list": 1,
                                 "scale-set-instance-view": 4, "instance-list": 4}  # fmt: skip
    assert stats.arm_reads == sim_reads == stats.budget == 11
    assert stats.findings["SelfServiceWindowOpen"] == 4 and sum(stats.findings.values()) == len(EXPECTED)
    assert stats.skipped["unavailable by its owner's request"] == 1  # vm-deallocated
    assert stats.problems == []


def test_the_other_subscription_is_swept_only_when_in_scope(demo_sim):
    sweeper = make_sweeper(demo_sim, subscriptions=(OTHER_SUB,))
    assert found(sweeper.signals()) == {("vm-out-of-scope", "Degraded")}


def test_the_sweep_is_lazy_one_page_at_a_time(demo_sim):
    sweeper = make_sweeper(demo_sim)
    signals = sweeper.signals()
    assert demo_sim.counters["reads"] == 0  # nothing read before the first signal is asked for
    first = next(signals)
    assert first.name == "SelfServiceWindowOpen"
    assert demo_sim.counters["reads"] == 1  # the first page of VMs, nothing more
