"""A sweep through the pipeline: decisions, duplicates on the next sweep, new decisions on a new
occurrence, findings absorbed by an incident an event opened, and failed reads reported."""

from __future__ import annotations

from collections import Counter

import pytest

from sweep import sweep_into

from .conftest import DEMO_FLEET, make_sweeper

PAYLOADS = DEMO_FLEET.parent / "payloads"

OBSERVE_DECISIONS = {
    ("vm-maint-1", "perform-maintenance", "planned"),
    ("vm-maint-2", "perform-maintenance", "planned"),
    ("vm-maint-3", "perform-maintenance", "planned"),
    ("vm-maint-avset", "perform-maintenance", "skipped"),  # verify: Azure maintains availability sets itself
    ("vmss-web", "resume-automatic-repairs", "planned"),
    ("vmss-api", "replace-failed-instance", "planned"),
    ("vmss-batch", "enable-automatic-repairs", "planned"),
    ("vmss-probe", "none", "noop"),  # every instance unhealthy: tell a person, do not repair
    ("vm-degraded-hw", "none", "noop"),
    ("vm-accelnet", "none", "noop"),
    ("vm-host-crash", "none", "noop"),
}


def decisions(report) -> set[tuple[str, str, str]]:
    return {(o.resource_id.rsplit("/", 1)[-1], o.action, o.status) for o in report.outcomes}


def test_observe_mode_plans_the_remediations(demo_sim, sweep_pipeline):
    report = sweep_into(sweep_pipeline(demo_sim, mode="observe"), make_sweeper(demo_sim))
    assert decisions(report) == OBSERVE_DECISIONS
    assert all(o.mode == "observe" and o.source == "sweep" for o in report.outcomes)
    assert report.complete and report.failures == []
    assert sum(report.decisions.values()) == len(OBSERVE_DECISIONS)
    assert demo_sim.counters["writes"] == 0  # observe never acts


def test_a_second_sweep_of_an_unchanged_fleet_gives_only_duplicates(demo_sim, sweep_pipeline, now_clock):
    pipeline = sweep_pipeline(demo_sim)
    first = sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock))
    now_clock.advance(minutes=15)
    second = sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock))
    assert len(second.outcomes) == len(first.outcomes)
    assert Counter(o.status for o in second.outcomes) == {"duplicate": len(first.outcomes)}
    assert {o.rule for o in second.outcomes} == {"dedupe"}


def _set_window(sim, vm_name, **fields):
    from simulator.fleet import resolve_time

    with sim.fleet.lock:
        vm = sim.fleet.vm(vm_name)
        vm.maintenance = {**vm.maintenance, **{k: resolve_time(v) if k.endswith("Time") else v for k, v in fields.items()}}


def test_completed_maintenance_closes_the_incident_and_a_new_window_is_a_new_decision(demo_sim, sweep_pipeline, now_clock):
    pipeline = sweep_pipeline(demo_sim)
    vm = lambda report: [o for o in report.outcomes if o.resource_id.endswith("/vm-maint-1")]  # noqa: E731

    (planned,) = vm(sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock)))
    assert (planned.name, planned.action, planned.status) == ("SelfServiceWindowOpen", "perform-maintenance", "planned")

    _set_window(demo_sim, "vm-maint-1", lastOperationResultCode="MaintenanceCompleted")
    now_clock.advance(minutes=15)
    (done,) = vm(sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock)))
    assert (done.name, done.status, done.incident_id) == ("MaintenanceCompleted", "noop", planned.incident_id)
    assert pipeline.ledger.incident(planned.incident_id)["closed_at"]

    _set_window(demo_sim, "vm-maint-1", lastOperationResultCode="None", preMaintenanceWindowStartTime="-5m",
                preMaintenanceWindowEndTime="+5d", maintenanceWindowStartTime="+5d", maintenanceWindowEndTime="+6d")  # fmt: skip
    now_clock.advance(minutes=15)
    (again,) = vm(sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock)))
    assert (again.name, again.action, again.status) == ("SelfServiceWindowOpen", "perform-maintenance", "planned")
    assert again.incident_id != planned.incident_id and again.event_id != planned.event_id


def test_a_new_window_on_a_vm_without_one_is_a_new_decision(demo_sim, sweep_pipeline, now_clock):
    pipeline = sweep_pipeline(demo_sim)
    sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock))
    with demo_sim.fleet.lock:
        demo_sim.fleet.vm("vm-healthy-again").maintenance = dict(demo_sim.fleet.vm("vm-maint-1").maintenance)
    now_clock.advance(minutes=15)
    report = sweep_into(pipeline, make_sweeper(demo_sim, clock=now_clock))
    fresh = [o for o in report.outcomes if o.status != "duplicate"]
    assert [(o.resource_id.rsplit("/", 1)[-1], o.action, o.status) for o in fresh] == [
        ("vm-healthy-again", "perform-maintenance", "planned")
    ]


def test_an_incident_an_event_opened_absorbs_the_sweep_finding(demo_sim, sweep_pipeline):
    from intake.deliveries import parse_delivery

    pipeline = sweep_pipeline(demo_sim)
    from responder.demo.timing import as_of

    body = as_of(pipeline.clock())((PAYLOADS / "07-repairs-suspended.common-alert.json").read_bytes())  # sent now
    (from_alert,) = pipeline.process(parse_delivery(body, "07-repairs-suspended"))
    assert (from_alert.action, from_alert.status) == ("resume-automatic-repairs", "planned")

    report = sweep_into(pipeline, make_sweeper(demo_sim))
    (swept,) = [o for o in report.outcomes if o.resource_id.endswith("/vmss-web")]
    assert swept.name == "RepairsSuspended" and swept.incident_id == from_alert.incident_id
    assert (swept.action, swept.status) == ("resume-automatic-repairs", "duplicate")  # one action per incident
    assert "one action per incident" in swept.reason


def test_a_failed_read_is_reported_and_the_rest_is_swept(demo_sim, sweep_pipeline):
    demo_sim.faults.add(method="GET", path=r"/virtualMachineScaleSets/vmss-web/instanceView$", kind="500", times=None)
    report = sweep_into(sweep_pipeline(demo_sim), make_sweeper(demo_sim))
    assert not report.complete
    assert report.stats.problem_count == 1 and "vmss-web" in report.stats.problems[0] and "500" in report.stats.problems[0]
    assert decisions(report) == {d for d in OBSERVE_DECISIONS if d[0] != "vmss-web"}


def test_a_failed_list_page_keeps_what_was_found_before_it(sim_for):
    sub = "00000000-0000-0000-0000-0000000000d1"
    sim = sim_for({"defaults": {"subscriptionId": sub, "resourceGroup": "rg"}, "generate": [{"vms": 9, "maintenance": 9}]},
                  page_size=3)  # fmt: skip
    sweeper = make_sweeper(sim, (sub,))
    signals = sweeper.signals()
    first_page = [next(signals) for _ in range(3)]
    sim.faults.add(method="GET", path=r"/providers/Microsoft\.Compute/virtualMachines$", kind="500", times=None)
    rest = list(signals)
    assert [s.name for s in first_page] == ["SelfServiceWindowOpen"] * 3
    assert rest == []  # the other pages of VMs could not be read; the other lists had nothing to find
    assert sweeper.stats.problem_count == 1 and "listing the VMs" in sweeper.stats.problems[0]
    assert sweeper.stats.reads["availability-list"] == 3 and sweeper.stats.reads["scale-set-list"] == 1  # the sweep went on


def test_progress_is_told_after_every_read(demo_sim, sweep_pipeline):
    seen = []
    report = sweep_into(sweep_pipeline(), make_sweeper(demo_sim), progress=lambda stats: seen.append(stats.arm_reads))
    assert seen == list(range(1, report.stats.arm_reads + 1))


def test_the_timer_sweep_uses_the_settings_scope_and_logs_a_summary(demo_sim, sweep_pipeline, caplog):
    import logging

    from pipeline import Settings
    from sweep import ScopeError, sweep_scope

    from .conftest import DEMO_SUB, connector

    settings = Settings(subscriptions=(DEMO_SUB,), resource_groups_include=("rg-demo",))
    with caplog.at_level(logging.INFO, logger="responder"):
        report = sweep_scope(sweep_pipeline(), settings, connector(demo_sim))
    assert report.complete and sum(report.decisions.values()) == len(OBSERVE_DECISIONS)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep ")]
    assert "arm_reads=11" in line and "findings=11" in line and "problems=0" in line
    with pytest.raises(ScopeError, match="no Azure"):
        sweep_scope(sweep_pipeline(), settings)  # RESPONDER_AZURE=none
