"""The timer's sweep through Resource Graph: batches from a cursor in the ledger, a time budget,
paging, the caller's quota, and ARM instance views only for what the rows flag. Real SDKs over
HTTPS against the simulated Azure; the budget's clock is a test's, ticking per call."""

from __future__ import annotations

from collections import Counter

import pytest

from .conftest import DEMO_FLEET, DEMO_SUB, connector, found, make_sweeper

SUBS = tuple(f"00000000-0000-0000-0000-0000000000{n:02d}" for n in range(1, 8))  # seven subscriptions


def fleet() -> dict:
    """Ten VMs in each subscription, one degraded and one with a self-service window open; a VM
    its owner stopped; a scale set with repairs suspended and one without repairs."""
    return {
        "subscriptions": list(SUBS),
        "generate": [{"vms": 10, "subscriptionId": sub, "resourceGroup": "rg-g", "prefix": f"vm-{n}-",
                      "degraded": 1, "maintenance": 1, "seed": n} for n, sub in enumerate(SUBS)],  # fmt: skip
        "vms": [{"name": "vm-stopped", "subscriptionId": SUBS[1], "resourceGroup": "rg-g", "powerState": "deallocated",
                 "availabilityState": "Unavailable",
                 "annotation": {"name": "VirtualMachineDeallocationInitiated", "context": "User Initiated"}}],
        "scaleSets": [
            {"name": "ss-repairs", "subscriptionId": SUBS[2], "resourceGroup": "rg-g", "capacity": 3,
             "automaticRepairsPolicy": {"enabled": True}, "orchestrationServiceState": "Suspended"},
            {"name": "ss-plain", "subscriptionId": SUBS[4], "resourceGroup": "rg-g", "capacity": 3},
        ],
    }  # fmt: skip


class Ticking:
    """A monotonic clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float):
        self.step, self.now = step, 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def graph_sweeper(sim, ledger, clock, *, subscriptions=SUBS, budget=None, batch_size=2, **kwargs):
    from sweep import GraphSweeper, Scope

    return GraphSweeper(connector(sim), Scope(tuple(subscriptions)), clock, ledger=ledger, budget=budget,
                        batch_size=batch_size, **kwargs)  # fmt: skip


def batches_asked(sim) -> list[tuple[str, ...]]:
    """The subscriptions of each availability query (the first query of each batch), in order."""
    return [tuple(q["subscriptions"]) for q in sim.resource_graph.queries
            if q["query"].startswith("HealthResources") and "availabilitystatuses" in q["query"] and not q["skip_token"]]  # fmt: skip


@pytest.fixture
def graph_sim(sim_for):
    return sim_for(fleet())


@pytest.fixture
def ledger():
    from ledger import SqliteLedger

    store = SqliteLedger(":memory:")
    yield store
    store.close()


def test_runs_stop_at_the_budget_and_continue_from_the_cursor(graph_sim, ledger, now_clock):
    from sweep import Budget

    runs = []
    while not (runs and runs[-1].cycle_complete):
        # Every read of this clock moves it 100 s, so a batch takes 100 s and, checked after the
        # second one at 600 s, a third would end at 700 s: past a 450 s budget.
        sweeper = graph_sweeper(graph_sim, ledger, now_clock, budget=Budget(450, Ticking(100)))
        list(sweeper.signals())
        runs.append(sweeper.run)
        assert len(runs) <= 4, "the cycle never ended"
    assert [r.batches for r in runs] == [2, 2]
    assert [r.stopped_by_budget for r in runs] == [True, False] and runs[-1].cycle_complete
    assert [r.remaining for r in runs] == [3, 0] and {r.cycle for r in runs} == {1}
    swept = [s for r in runs for s in r.swept]
    assert sorted(swept) == list(SUBS) and len(set(swept)) == len(swept)  # every one, none twice
    assert batches_asked(graph_sim) == [SUBS[0:2], SUBS[2:4], SUBS[4:6], SUBS[6:7]]
    assert ledger.sweep_cursor("graph")["cycle"] == 2 and ledger.sweep_cursor("graph")["after"] == ""


def test_the_next_cycle_starts_again_from_the_first_subscription(graph_sim, ledger, now_clock):
    from sweep import Budget

    def run():  # a budget that holds one batch a run
        sweeper = graph_sweeper(graph_sim, ledger, now_clock, batch_size=4, budget=Budget(150, Ticking(100)))
        list(sweeper.signals())
        return sweeper

    first, second = run(), run()
    assert (first.run.cycle, first.run.swept, first.run.cycle_complete) == (1, list(SUBS[:4]), False)
    assert (second.run.cycle, second.run.swept, second.run.cycle_complete) == (1, list(SUBS[4:]), True)
    third = run()
    assert (third.run.cycle, third.run.swept) == (2, list(SUBS[:4]))


def test_a_small_scope_is_swept_whole_in_one_run_and_once(graph_sim, ledger, now_clock):
    sweeper = graph_sweeper(graph_sim, ledger, now_clock, batch_size=100)
    list(sweeper.signals())
    assert sweeper.run.batches == 1 and sweeper.run.cycle_complete and sweeper.stats.subscriptions == len(SUBS)
    assert batches_asked(graph_sim) == [SUBS]


def test_it_finds_what_the_arm_sweep_finds(sim_for, now_clock, ledger):
    sim = sim_for(DEMO_FLEET)
    by_arm = found(make_sweeper(sim, clock=now_clock).signals())
    by_graph = found(graph_sweeper(sim, ledger, now_clock, subscriptions=(DEMO_SUB,)).signals())
    assert by_graph == by_arm and len(by_graph) == 11


def test_findings_of_the_batches(graph_sim, ledger, now_clock):
    sweeper = graph_sweeper(graph_sim, ledger, now_clock, batch_size=100)
    signals = list(sweeper.signals())
    names = Counter(s.name for s in signals)
    assert names == Counter({"Degraded": 7, "SelfServiceWindowOpen": 7, "RepairsSuspended": 1, "RepairsNotEnabled": 1})
    assert sweeper.stats.skipped["unavailable by its owner's request"] == 1  # vm-stopped, by its annotation's context
    degraded = next(s for s in signals if s.name == "Degraded")
    assert degraded.details["annotation"] == "VirtualMachinePossiblyDegradedDueToHardwareFailure"
    assert sweeper.stats.resources["vm"] == 71 and sweeper.stats.resources["scale-set"] == 2


def test_instance_views_are_read_only_for_what_the_rows_flag(graph_sim, ledger, now_clock):
    graph_sim.server.reset_log()
    sweeper = graph_sweeper(graph_sim, ledger, now_clock, batch_size=100)
    signals = list(sweeper.signals())
    views = sorted(r.path.split("/")[8] for r in graph_sim.requests if r.path.endswith("/instanceView") and "/virtualMachines/" in r.path
                   and "/virtualMachineScaleSets/" not in r.path)  # fmt: skip
    in_maintenance = sorted(vm.name for vm in graph_sim.fleet.vms if vm.maintenance)
    assert views == in_maintenance and len(views) == 7
    assert sorted(s.resource_id.split("/")[-1] for s in signals if s.name == "SelfServiceWindowOpen") == in_maintenance
    # The scale set with repairs is read (its instance view and instances); the one without is not.
    set_reads = [r.path for r in graph_sim.requests if "/virtualMachineScaleSets/" in r.path]
    assert set_reads and all("/ss-repairs" in p for p in set_reads)
    assert sweeper.stats.reads["vm-instance-view"] == 7 and sweeper.stats.reads["scale-set-instance-view"] == 1
    assert not any(r.path.endswith("/Microsoft.Compute/virtualMachines") for r in graph_sim.requests)  # no VM list at all


def test_queries_follow_the_skip_token_through_every_page(sim_for, ledger, now_clock):
    sim = sim_for(fleet(), page_size=3)  # 7 degraded VMs: three pages of availability
    sweeper = graph_sweeper(sim, ledger, now_clock, batch_size=100)
    signals = list(sweeper.signals())
    assert sweeper.stats.reads["graph-availability"] == 3 and sweeper.stats.reads["graph-maintenance"] == 3
    assert sum(1 for s in signals if s.name == "Degraded") == 7
    assert sum(1 for q in sim.resource_graph.queries if q["skip_token"]) >= 4


def test_a_spent_quota_is_waited_out_before_the_next_query(sim_for, ledger, now_clock):
    from simulator.resource_graph import Quota

    sim = sim_for(fleet())
    sim.resource_graph.quota = Quota(limit=3, window=1.0)
    waits = []
    sweeper = graph_sweeper(sim, ledger, now_clock, batch_size=100, sleep=lambda s: (waits.append(s), __import__("time").sleep(s)))
    signals = list(sweeper.signals())
    assert sweeper.stats.problem_count == 0 and sweeper.stats.throttled == 0  # paced, never refused
    assert sweeper.stats.throttle_waits >= 1 and all(0 < w <= 1 for w in waits)
    assert sum(1 for s in signals if s.name == "Degraded") == 7


def test_a_refused_query_waits_the_reset_it_names_and_is_asked_again(sim_for, ledger, now_clock):
    import requests

    from simulator.resource_graph import Quota

    sim = sim_for(fleet())
    sim.resource_graph.quota = Quota(limit=2, window=1.0)
    for _ in range(2):  # another process of the same identity spends the quota
        requests.post(f"{sim.base_url}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01",
                      json={"query": "Resources | where type =~ 'microsoft.compute/virtualmachines'"},
                      headers={"Authorization": "Bearer local-azure-token"}, verify=sim.ca_bundle, timeout=10)  # fmt: skip
    waits = []
    sweeper = graph_sweeper(sim, ledger, now_clock, batch_size=100, sleep=lambda s: (waits.append(s), __import__("time").sleep(s)))
    signals = list(sweeper.signals())
    assert sweeper.stats.throttled >= 1 and waits[0] == 1.0  # the x-ms-user-quota-resets-after of the refusal
    assert sweeper.stats.problem_count == 0 and sum(1 for s in signals if s.name == "Degraded") == 7


def test_resource_group_filters_go_into_the_queries(graph_sim, ledger, now_clock):
    from sweep import GraphSweeper, Scope

    sweeper = GraphSweeper(connector(graph_sim), Scope(SUBS, resource_groups_exclude=("rg-g",)), now_clock, ledger=ledger)
    assert list(sweeper.signals()) == []
    assert all("resourceGroup !in~ ('rg-g')" in q["query"] for q in graph_sim.resource_graph.queries)
    assert sweeper.stats.resources["vm"] == 0


def test_the_timer_run_uses_the_graph_and_logs_where_the_cycle_stands(graph_sim, sweep_pipeline, caplog):
    import logging

    from pipeline import Settings
    from pipeline.settings import SweepSettings
    from sweep import sweep_run

    settings = Settings(subscriptions=SUBS)
    pipeline = sweep_pipeline()
    with caplog.at_level(logging.INFO, logger="responder"):
        report = sweep_run(pipeline, settings, connector(graph_sim), sweep=SweepSettings(batch_size=3))
    assert report.complete and report.run.cycle == 1 and report.run.cycle_complete and report.run.batches == 3
    assert pipeline.ledger.sweep_cursor("graph")["cycle"] == 2
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sweep ")]
    assert "source=graph" in line and "batches=3" in line and "cycle_complete=True" in line and "findings=16" in line


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, ("graph", 420.0, 100, None)),
        ({"RESPONDER_SWEEP_BUDGET": "PT5M", "RESPONDER_SWEEP_BATCH": "250"}, ("graph", 300.0, 250, None)),
        ({"RESPONDER_SWEEP_BUDGET": "90", "RESPONDER_SWEEP_MANAGEMENT_GROUP": "mg-prod"}, ("graph", 90.0, 100, "mg-prod")),
        ({"RESPONDER_SWEEP_SOURCE": "ARM"}, ("arm", 420.0, 100, None)),
    ],
)
def test_sweep_settings(env, expected):
    from pipeline import Settings

    got = Settings.from_env(env).sweep
    assert (got.source, got.budget_seconds, got.batch_size, got.management_group) == expected


@pytest.mark.parametrize(
    "env,named",
    [
        ({"RESPONDER_SWEEP_SOURCE": "list"}, "RESPONDER_SWEEP_SOURCE"),
        ({"RESPONDER_SWEEP_BUDGET": "soon"}, "RESPONDER_SWEEP_BUDGET"),
        ({"RESPONDER_SWEEP_BUDGET": "0"}, "RESPONDER_SWEEP_BUDGET"),
        ({"RESPONDER_SWEEP_BATCH": "1001"}, "RESPONDER_SWEEP_BATCH"),
    ],
)
def test_bad_sweep_settings_name_the_setting(env, named):
    from pipeline import Settings
    from pipeline.errors import SettingsError

    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_a_management_group_is_one_batch_a_cycle(graph_sim, ledger, now_clock):
    sweeper = graph_sweeper(graph_sim, ledger, now_clock, management_group="mg-prod")
    signals = list(sweeper.signals())
    assert sweeper.run.batches == 1 and sweeper.run.cycle_complete and sweeper.stats.subscriptions == len(SUBS)
    assert sum(1 for s in signals if s.name == "Degraded") == 7
    assert ledger.sweep_cursor("graph:mg-prod")["cycle"] == 2


def test_the_cursor_follows_a_scope_that_changes_between_runs(ledger, now_clock):
    from sweep.cursor import SweepCursor

    cursor = SweepCursor(ledger, "graph", now_clock)
    position = cursor.load()
    scope = ("sub-b", "sub-c", "sub-d")
    assert cursor.batch(position, scope, 2) == ("sub-b", "sub-c")
    assert cursor.advance(position, ("sub-b", "sub-c"), scope) is False
    # Between runs sub-a (before the cursor) and sub-e (after it) join, sub-d leaves.
    scope = ("sub-a", "sub-b", "sub-c", "sub-e")
    position = SweepCursor(ledger, "graph", now_clock).load()
    assert cursor.batch(position, scope, 2) == ("sub-e",)  # the cycle goes on; sub-a waits for the next one
    assert cursor.advance(position, ("sub-e",), scope) is True
    position = SweepCursor(ledger, "graph", now_clock).load()
    assert position.cycle == 2 and cursor.batch(position, scope, 2) == ("sub-a", "sub-b")


def test_a_sweep_without_a_ledger_makes_every_run_a_fresh_cycle(now_clock):
    from sweep.cursor import SweepCursor

    cursor = SweepCursor(None, "graph", now_clock)
    position = cursor.load()
    cursor.advance(position, ("sub-a",), ("sub-a", "sub-b"))
    assert cursor.load().after == "" and cursor.load().cycle == 1
