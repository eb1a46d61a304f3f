"""The order of the brakes against the simulated Azure: what the ledger alone can refuse costs no
ARM read; what passes is still verified against the live state right before the write; the
brakes' read of a resource is made once per delivery."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from intake.deliveries import parse_delivery
from pipeline.safety import PAUSE_SWITCH
from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, Clock, accepted_writes, deliver, policy_file


def vm(name: str) -> str:
    return b.vm_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION)


def web_instance(sim, n: int) -> str:
    instance = list(sim.fleet.scale_set("vmss-web").instances)[n]
    return f"{b.scale_set_id('vmss-web', rg='rg-demo', sub=DEMO_SUBSCRIPTION)}/virtualMachines/{instance}"


def recent() -> str:
    return datetime.now(UTC).isoformat()


def settle(pipeline, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while pipeline.ledger.open_operations() and time.monotonic() < deadline:
        pipeline.tick()
        time.sleep(0.05)


def reads(sim) -> list:
    return [r for r in sim.requests if r.counter == "reads"]


def resource_gets(sim, name: str) -> list:
    """GETs of the resource's model (what the brakes read), not of its instance view or health."""
    return [r for r in sim.requests if r.method == "GET" and r.path.rstrip("/").lower().endswith(f"/{name.lower()}")]


@pytest.fixture
def now_clock():
    return Clock(datetime.now(UTC))


# -- ways to bring a scope or a resource to where a brake refuses --------------------------------

def vms_gone(count: int):
    def setup(pipeline, sim, clock):
        for index in range(count):  # VMs of the subscription go unavailable at once
            deliver(pipeline, b.availability("Unavailable", target=vm(f"vm-gone-{index}"), when=recent()))
    return setup


def storm_then_calm_marks(pipeline, sim, clock):
    vms_gone(4)(pipeline, sim, clock)
    deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))  # trips the breaker
    clock.advance(minutes=20)  # the marks left the window; the breaker waits out its cooldown


def scale_set_storm(pipeline, sim, clock):
    for n in range(4):  # 4 of 10 instances > 30%
        deliver(pipeline, b.availability("Unavailable", target=web_instance(sim, n), when=recent()))
    sim.fleet.instance("vmss-web", list(sim.fleet.scale_set("vmss-web").instances)[0]).availability_state = "Degraded"
    deliver(pipeline, b.annotated("AccelnetUnhealthy", target=web_instance(sim, 0)))  # reads the capacity, trips


def remediated(times: int, hours_between: float):
    def setup(pipeline, sim, clock):
        for _ in range(times):
            sim.fleet.vm("vm-accelnet").availability_state = "Degraded"
            assert deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status == "started"
            settle(pipeline)
            deliver(pipeline, b.availability("Available", previous="Degraded", target=vm("vm-accelnet")))  # incident over
            clock.advance(hours=hours_between)
        sim.fleet.vm("vm-accelnet").availability_state = "Degraded"  # and it breaks again
    return setup


def hour_seen_full(pipeline, sim, clock):
    assert deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status == "started"
    refused = deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    assert refused.reason.startswith("hourly write cap"), refused.reason  # refused at the reservation, after reading


@pytest.mark.parametrize(
    "brakes,setup,target,reason",
    [
        ({"storm": {"vms_per_region": 3}}, vms_gone(4), "vm-degraded-hw", "storm breaker: 5 VMs of subscription"),
        ({"storm": {"vms_per_region": 3, "window": "PT15M", "cooldown": "PT30M"}}, storm_then_calm_marks, "vm-degraded-hw",
         "storm breaker: holding since"),
        ({}, scale_set_storm, "instance 1", "storm breaker: holding since"),
        ({}, remediated(1, 2), "vm-accelnet", "cooldown: redeploy of this resource at"),
        ({"cooldown": "PT0S"}, remediated(2, 0.2), "vm-accelnet", "attempt cap: 2 remediations of this resource"),
        ({"hourly_writes_per_subscription": 1}, hour_seen_full, "vm-host-crash", "hourly write cap: 1 ARM writes in subscription"),
    ],
    ids=["storm-tripped", "storm-holding", "scale-set-storm-holding", "cooldown", "attempt-cap", "hourly-cap-seen-full"],
)
def test_a_signal_the_ledger_refuses_makes_no_arm_read(acting, sim, tmp_path, now_clock, brakes, setup, target, reason):
    pipeline = acting("auto", clock=now_clock, policy_path=policy_file(tmp_path, brakes=brakes))
    setup(pipeline, sim, now_clock)
    sim.reset_log()
    resource = web_instance(sim, 1) if target == "instance 1" else vm(target)
    outcome = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=resource))
    assert outcome.status == "skipped" and outcome.reason.startswith(reason), outcome.reason
    assert pipeline.ledger.history()[-1]["brakes"], "the refusal names its brake"
    assert reads(sim) == [], f"no ARM read for a signal the ledger refuses: {[r.path for r in reads(sim)]}"
    assert not accepted_writes(sim) and sim.counters["writes"] == 0


# -- what passes the brakes is verified against the live state, right before the write -------------

@pytest.mark.parametrize(
    "healthy_again,status,writes",
    [
        (False, "started", 1),
        (True, "skipped", 0),  # healthy again between the event and the action
    ],
)
def test_a_signal_that_passes_the_brakes_is_verified_before_the_write(acting, sim, healthy_again, status, writes):
    pipeline = acting("auto")
    if healthy_again:
        machine = sim.fleet.vm("vm-degraded-hw")
        machine.availability_state, machine.annotation = "Available", None
    outcome = deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    assert outcome.status == status, outcome.reason
    if status == "skipped":
        assert outcome.reason.startswith("verified against the live state")
    assert len(accepted_writes(sim)) == writes
    health = [r for r in sim.requests if "availabilityStatuses/current" in r.path and "vm-degraded-hw" in r.path]
    assert len(resource_gets(sim, "vm-degraded-hw")) == 1 and len(health) == 1
    for write in accepted_writes(sim):  # the live state read before the write, not from a kept answer
        assert health[0].time <= write.time


# -- the brakes' read of a resource, once per delivery ---------------------------------------------

@pytest.mark.parametrize("deliveries,gets", [(1, 1), (2, 2)], ids=["one-delivery", "two-deliveries"])
def test_the_brakes_read_a_resource_once_per_delivery(acting, sim, deliveries, gets):
    sim.fleet.vm("vm-accelnet").tags["responder-mode"] = "off"  # each signal is refused once the tags are read
    pipeline = acting("auto")
    events = [b.annotated(name, target=vm("vm-accelnet"))
              for name in ("AccelnetUnhealthy", "VirtualMachinePossiblyDegradedDueToHardwareFailure")]
    batches = [events] if deliveries == 1 else [[event] for event in events]
    outcomes = [o for batch in batches for o in pipeline.process(parse_delivery(json.dumps(batch).encode(), "test"))]
    assert [o.status for o in outcomes] == ["skipped", "skipped"]
    assert all(o.reason.startswith("mode tag") for o in outcomes)
    assert len(resource_gets(sim, "vm-accelnet")) == gets


def test_tags_changed_between_deliveries_are_read_again(acting, sim):
    pipeline = acting("auto")
    sim.fleet.vm("vm-accelnet").tags["responder-mode"] = "off"
    assert deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status == "skipped"
    sim.fleet.vm("vm-accelnet").tags["responder-mode"] = "auto"
    assert deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status == "started"


# -- the ledger's brake rows: read once per decision, however often the gate asks -----------------

BRAKE_READS = ("switch", "count_unhealthy", "storm", "last_operation", "count_operations")


def spy_on_brake_reads(ledger, monkeypatch) -> list[tuple[str, str]]:
    """Each read of a brake's row the ledger answers, as (method, scope or resource)."""
    asked: list[tuple[str, str]] = []
    for name in BRAKE_READS:
        real = getattr(ledger, name)

        def spy(key, *args, _real=real, _name=name, **kwargs):
            asked.append((_name, key))
            return _real(key, *args, **kwargs)

        monkeypatch.setattr(ledger, name, spy)
    return asked


@pytest.mark.parametrize("target", ["vm-degraded-hw", "instance 0"])
def test_an_auto_remediation_reads_each_brake_row_once(acting, sim, ledger, monkeypatch, target):
    """The gate asks the brakes before the ARM read and again with the resource read; the second
    pass reads only what the read brings in (the region's marks and breaker, the scale set's
    share), never a row the first pass read; only the pause switch is read again, by `clear`. Table Storage bills each of these reads
    (tests/ledger/test_table_requests.py counts them on the wire)."""
    pipeline = acting("auto")
    if target == "instance 0":
        resource, annotation = web_instance(sim, 0), "AccelnetUnhealthy"
        sim.fleet.instance("vmss-web", list(sim.fleet.scale_set("vmss-web").instances)[0]).availability_state = "Degraded"
    else:
        resource, annotation = vm(target), "VirtualMachinePossiblyDegradedDueToHardwareFailure"
    asked = spy_on_brake_reads(ledger, monkeypatch)
    outcome = deliver(pipeline, b.annotated(annotation, target=resource))
    assert outcome.status == "started", outcome.reason
    # The pause switch twice: `admit` before the incident's action is held, `clear` before the write.
    assert asked.count(("switch", PAUSE_SWITCH)) == 2, asked
    twice = sorted({read for read in asked if asked.count(read) > 1} - {("switch", PAUSE_SWITCH)})
    assert twice == [], f"read more than once in one decision: {twice}"
    assert sorted({name for name, _ in asked}) == sorted(BRAKE_READS), "every brake was asked"
