"""Properties over random enrolment orders, duplicate enrolments, interleaved advance() calls of
two workers, ticks, operations finishing and the clock moving: never two update domains in
progress at once, never a member started twice, no start outside the windows, and the pause
kept between update domains. Each example runs against its own simulated Azure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_SUBSCRIPTION, Clock, accepted_writes
from tests.properties import Branches, examples

from .conftest import _waves_ledger_class, detached, vm, window_from

PAUSE = timedelta(minutes=10)


def fleet(domains: list[int], short_window: int | None) -> dict:
    vms = []
    for i, domain in enumerate(domains):
        end = "+90m" if i == short_window else "+6d"
        vms.append({"name": f"vm-w{i}", "updateDomain": domain, "faultDomain": i % 2,
                    "maintenance": {"isCustomerInitiatedMaintenanceAllowed": True,
                                    "preMaintenanceWindowStartTime": "-1d", "preMaintenanceWindowEndTime": end,
                                    "maintenanceWindowStartTime": "+6d", "maintenanceWindowEndTime": "+8d",
                                    "lastOperationResultCode": "None"}})
    return {"defaults": {"subscriptionId": DEMO_SUBSCRIPTION, "resourceGroup": "rg-demo", "location": "westeurope"},
            "vms": vms}


class Run:
    """One example's world: the simulated Azure, a pipeline that acts on it, two workers."""

    def __init__(self, sim, policy_window: dict, delay: float):
        from pipeline import Settings
        from pipeline.azure import LocalToken, connector
        from waves import Waves, parse_maintenance
        from wiring import build_pipeline

        self.sim = sim
        sim.operation_delay = delay
        self.clock = Clock(datetime.now(UTC))
        self.ledger = _waves_ledger_class()(":memory:")
        settings = Settings(mode="auto", azure="sim", subscriptions=(DEMO_SUBSCRIPTION,))
        connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
        self.pipeline = detached(build_pipeline(settings, ledger=self.ledger, connect=connect, clock=self.clock,
                                                notifier=False))
        self.policy = parse_maintenance({"window": policy_window, "pause_between_update_domains": "PT10M"})
        self.workers = [Waves(self.ledger, self.pipeline.remediator, self.policy, self.clock) for _ in range(2)]
        self.incidents: dict[str, str] = {}
        self.starts: list[tuple[str, datetime]] = []  # (vm, clock time) of each accepted write

    def enroll(self, name: str) -> str:
        from actions import registry
        from actions.resource_info import read_resource

        resource_id = vm(name)
        clients = self.pipeline.remediator.connect(DEMO_SUBSCRIPTION)
        info = read_resource(clients, resource_id)
        verdict = registry.get("perform-maintenance").verify(clients, resource_id, {"now": self.clock()})
        if name not in self.incidents:
            self.incidents[name] = self.ledger.open_incident(f"r:{name}", resource_id, self.clock(), timedelta(days=1)).id
        status, _ = self.workers[0].enroll(incident_id=self.incidents[name], signal_id=None, resource_id=resource_id,
                                           mode="auto", params={}, facts={"tags": info.tags, "location": info.location,
                                                                          **verdict.facts})
        return status

    def members(self) -> list[dict]:
        return [m for wave in self.ledger.waves() for m in self.ledger.wave_members(wave["id"])]


def check(run: Run, domains: list[int], before: int) -> None:
    writes = accepted_writes(run.sim, "performMaintenance")
    names = [r.path.split("/")[-2] for r in writes]
    assert len(names) == len(set(names)), f"a member started twice: {names}"
    now = run.clock()
    for name in names[before:]:
        run.starts.append((name, now))
        member = next(m for m in run.members() if m["resource_id"].endswith("/" + name))
        assert run.policy.window.contains(now), f"{name} started outside the maintenance window at {now}"
        start, end = (datetime.fromisoformat(member[k]) for k in ("window_start", "window_end"))
        assert start <= now <= end, f"{name} started outside its self-service window"
        domain = domains[int(name[4:])]
        for other in run.members():
            other_domain = domains[int(other["resource_id"].rsplit("-w", 1)[1])]
            if other_domain != domain and other["available_at"]:
                done = datetime.fromisoformat(other["available_at"])
                assert done + PAUSE <= now or done > now, f"{name} started within the pause after update domain {other_domain}"
    in_flight = {m["update_group"] for m in run.members() if m["state"] in ("starting", "running", "recovering")}
    in_azure = {str(domains[int(op.resource_id.rsplit("-w", 1)[1])]) for op in run.sim.operations.pending}
    assert len(in_flight | in_azure) <= 1, f"update domains {in_flight | in_azure} in progress at once"


STEP = st.one_of(
    st.tuples(st.just("enroll"), st.integers(0, 5)),
    st.tuples(st.just("advance"), st.integers(0, 1)),
    st.tuples(st.just("advance"), st.integers(0, 1)),
    st.tuples(st.just("tick"), st.just(0)),
    st.tuples(st.just("tick"), st.just(0)),
    st.tuples(st.just("finish"), st.just(0)),
    st.tuples(st.just("clock"), st.integers(1, 90)),
    st.tuples(st.just("round"), st.integers(0, 60)),  # the timer: operations, one worker's waves, time passing
    st.tuples(st.just("round"), st.integers(0, 60)),
    st.tuples(st.just("round"), st.integers(0, 60)),
)


SEEN = Branches()


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    domains=st.lists(st.integers(0, 2), min_size=2, max_size=6),
    short=st.one_of(st.none(), st.integers(0, 5)),
    window_in=st.sampled_from([0, 0, 0, 1, 3]),
    window_hours=st.integers(2, 8),
    delay=st.sampled_from([0.0, 0.0, 3600.0]),
    steps=st.lists(STEP, min_size=10, max_size=60),
    data=st.data(),
)
def waves_stay_safe_whatever_the_order(domains, short, window_in, window_hours, delay, steps, data):
    from simulator import SimulatedAzure

    # Every VM is enrolled once somewhere in the run (in a random order), besides any random repeats.
    for i in data.draw(st.permutations(range(len(domains))), label="enrolment order"):
        steps.insert(data.draw(st.integers(0, len(steps)), label="at"), ("enroll", i))
    with SimulatedAzure(fleet=fleet(domains, short)) as sim:
        now = datetime.now(UTC)
        run = Run(sim, window_from(now, timedelta(hours=window_in), timedelta(hours=window_hours)), delay)
        for kind, value in steps:
            before = len(accepted_writes(sim, "performMaintenance"))
            if kind == "enroll" and value < len(domains):
                status = run.enroll(f"vm-w{value}")
                assert status in ("planned", "duplicate", "skipped")
                SEEN.reached(f"enrolment {status}")
            elif kind == "advance":
                run.workers[value].advance()
            elif kind == "tick":
                run.pipeline.tick()
            elif kind == "finish":
                sim.finish_operations()
            elif kind == "clock":
                run.clock.advance(minutes=value)
            elif kind == "round":
                run.pipeline.tick()
                run.workers[value % 2].advance()
                check(run, domains, before)
                before = len(accepted_writes(sim, "performMaintenance"))
                run.clock.advance(minutes=value)
            check(run, domains, before)
        event(f"VMs started: {len(run.starts)}")
        started_domains = len({domains[int(name[4:])] for name, _ in run.starts})
        event(f"update domains started: {started_domains}")
        SEEN.reached("no VM started" if not run.starts else "a VM started")
        if started_domains > 1:
            SEEN.reached("a second update domain started after the first")
        run.ledger.close()


def test_waves_stay_safe_whatever_the_order():
    """The property (collected here, once), then an assertion that its interesting branches came up: VMs left out (a skip
    tag), repeated enrolments, runs that started nothing, and runs that went on to a second
    update domain (the pause between domains was waited out)."""
    SEEN.clear()
    waves_stay_safe_whatever_the_order()
    SEEN.assert_reached("enrolment planned", "enrolment duplicate", "enrolment skipped", "no VM started", "a VM started",
                        "a second update domain started after the first")


def test_many_workers_at_once_start_each_member_once(sim, ledger, acting, now_clock):
    """Eight workers advance the same waves concurrently: one performMaintenance per VM."""
    from waves import Waves, parse_maintenance

    from .conftest import ALWAYS, World

    pipeline = detached(acting("auto", clock=now_clock))
    policy = parse_maintenance({"window": ALWAYS})
    world = World(sim, ledger, pipeline, Waves(ledger, pipeline.remediator, policy, now_clock), now_clock)
    sim.operation_delay = 3600
    for name in ("vm-maint-1", "vm-maint-2", "vm-maint-3"):
        world.enroll(name)
    workers = [world.worker() for _ in range(8)]
    barrier = threading.Barrier(len(workers))
    results: list = []

    def run(worker):
        barrier.wait()
        results.extend(worker.advance())

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    names = sorted(r.path.split("/")[-2] for r in accepted_writes(sim, "performMaintenance"))
    assert names == ["vm-maint-1", "vm-maint-2"], "update domain 0 only, each VM once"
    assert sorted(e.resource_id.rsplit("/", 1)[-1] for e in results if e.status == "started") == names
