"""The brakes against the simulated Azure: scope, pause, the mode tag, cooldown, attempt cap,
in-flight and hourly caps, the storm breaker. Every refusal is `skipped` and names its brake."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, ROOT, Clock, accepted_writes, deliver, policy_file

OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000f0e19"


def vm(name: str, rg: str = "rg-demo", sub: str = DEMO_SUBSCRIPTION) -> str:
    return b.vm_id(name, rg=rg, sub=sub)


def degraded(target: str, when: str | None = None):
    return b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=target,
                       **({"when": when} if when else {}))


def recent() -> str:
    return datetime.now(UTC).isoformat()




def settle(pipeline, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while pipeline.ledger.open_operations() and time.monotonic() < deadline:
        pipeline.tick()
        time.sleep(0.05)


def requests_for(sim, name: str) -> list:
    return [r for r in sim.requests if f"/{name}" in r.path.lower()]


@pytest.fixture
def now_clock():
    return Clock(datetime.now(UTC))


# -- scope --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "settings,target,why",
    [
        ({"subscriptions": (DEMO_SUBSCRIPTION,)}, vm("vm-out-of-scope", "rg-other", OTHER_SUBSCRIPTION), "is not in RESPONDER_SUBSCRIPTIONS"),
        ({"resource_groups_include": ("rg-app",)}, vm("vm-accelnet"), "rg-demo is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"),
        ({"resource_groups_exclude": ("rg-demo",)}, vm("vm-accelnet"), "rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
    ],
)
@pytest.mark.parametrize("mode", ["observe", "approve", "auto"])
def test_out_of_scope_is_skipped_and_never_touched(acting, sim, settings, target, why, mode):
    outcome = deliver(acting(mode, **settings), b.annotated("AccelnetUnhealthy", target=target))
    assert outcome.status == "skipped" and outcome.reason.startswith("out of scope:") and why in outcome.reason
    name = target.rsplit("/", 1)[-1]
    assert not requests_for(sim, name), "nothing outside the scope is read or written"


def test_in_scope_still_acts_with_scope_set(acting, sim):
    outcome = deliver(acting("auto", subscriptions=(DEMO_SUBSCRIPTION,), resource_groups_include=("rg-demo",)), b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert outcome.status == "started"


# -- pause --------------------------------------------------------------------------------------

def test_the_app_setting_pauses_everything_that_would_act(acting, sim):
    pipeline = acting("auto", paused=True)
    outcome = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert outcome.status == "skipped" and "RESPONDER_PAUSED is true" in outcome.reason
    assert not accepted_writes(sim)
    assert deliver(acting("observe", paused=True), b.annotated("AccelnetUnhealthy", target=vm("vm-degraded-hw"))).status == "planned"


def test_pause_and_resume_from_the_command_line(acting, sim, tmp_path):
    from ledger import SqliteLedger
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline

    state = tmp_path / "ledger.sqlite"
    def run(*args):
        return subprocess.run([sys.executable, "-m", "responder", *args, "--state", str(state), "--by", "alice"],
                                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run("pause").returncode == 0
    settings = Settings(mode="auto", azure="sim", subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    pipeline = build_pipeline(settings, ledger=SqliteLedger(state), connect=connect, notifier=False)
    paused = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert paused.status == "skipped" and "paused by alice" in paused.reason
    assert run("resume").returncode == 0
    acted = deliver(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing", target=vm("vm-degraded-hw")))
    assert acted.status == "started" and len(accepted_writes(sim)) == 1


# -- the responder-mode tag --------------------------------------------------------------------

@pytest.mark.parametrize(
    "rule_mode,may_raise,tag,status,writes",
    [
        ("auto", None, "off", "skipped", 0),
        ("auto", None, "observe", "planned", 0),
        ("auto", None, "approve", "awaiting-approval", 0),
        ("observe", None, "auto", "planned", 0),
        ("observe", "auto", "auto", "started", 1),
        ("observe", "approve", "auto", "awaiting-approval", 0),
        ("auto", None, "nonsense", "skipped", 0),  # a value the app does not understand fails closed: off
    ],
)
def test_the_mode_tag_lowers_and_raises_only_where_policy_allows(acting, sim, tmp_path, rule_mode, may_raise, tag, status, writes):
    rule = {"mode": rule_mode, **({"tag_may_raise_to": may_raise} if may_raise else {})}
    path = policy_file(tmp_path, rules={"accelerated-networking-unhealthy": rule})
    sim.fleet.vm("vm-accelnet").tags["responder-mode"] = tag
    outcome = deliver(acting(None, policy_path=path), b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert outcome.status == status, outcome.reason
    assert len(accepted_writes(sim)) == writes


# -- per-resource brakes -----------------------------------------------------------------------

def test_cooldown_after_a_remediation(acting, sim, now_clock):
    pipeline = acting("auto", clock=now_clock)
    first = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    settle(pipeline)
    deliver(pipeline, b.availability("Available", previous="Degraded", target=vm("vm-accelnet")))  # incident over
    sim.fleet.vm("vm-accelnet").availability_state = "Degraded"  # and it breaks again
    now_clock.advance(hours=2)
    again = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert first.status == "started" and again.status == "skipped"
    assert again.reason.startswith("cooldown: redeploy of this resource at") and "may start after" in again.reason
    now_clock.advance(hours=5)
    later = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"), when=now_clock.now.isoformat()))
    assert later.status == "started", later.reason


def test_attempt_cap_asks_a_person(acting, sim, tmp_path, now_clock):
    pipeline = acting("auto", clock=now_clock, policy_path=policy_file(tmp_path, brakes={"cooldown": "PT0S"}))
    statuses = []
    for _ in range(3):
        sim.fleet.vm("vm-accelnet").availability_state = "Degraded"
        statuses.append(deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status)
        settle(pipeline)
        deliver(pipeline, b.availability("Available", previous="Degraded", target=vm("vm-accelnet")))
        now_clock.advance(minutes=10)
    last = pipeline.ledger.history()[-2]
    assert statuses == ["started", "started", "skipped"]
    assert last["reason"].startswith("attempt cap: 2 remediations of this resource in 24 h")


# -- caps -----------------------------------------------------------------------------------------

def test_in_flight_cap_per_subscription(acting, sim, tmp_path):
    sim.operation_delay = 30  # operations stay under way
    pipeline = acting("auto", policy_path=policy_file(tmp_path, brakes={"in_flight": {"per_subscription": 2}}))
    outcomes = [deliver(pipeline, b.annotated(name, target=vm(target))) for name, target in
                [("AccelnetUnhealthy", "vm-accelnet"), ("VirtualMachinePossiblyDegradedDueToHardwareFailure", "vm-degraded-hw"),
                 ("VirtualMachineHostCrashed", "vm-host-crash")]]
    # The host's second crash: another occurrence (a second delivery of the first would not repeat).
    outcomes.append(deliver(pipeline, b.annotated("VirtualMachineHostCrashed", target=vm("vm-host-crash"), when=recent())))
    assert [o.status for o in outcomes[:2]] == ["started", "started"]
    assert outcomes[3].status == "skipped" and outcomes[3].reason.startswith("in-flight cap: 2 operations already under way")
    assert len(accepted_writes(sim)) == 2


def test_in_flight_cap_per_scale_set_is_five_percent_of_capacity(acting, sim):
    sim.operation_delay = 30
    pipeline = acting("auto")
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    instances = list(sim.fleet.scale_set("vmss-web").instances)[:2]
    for instance in instances:
        sim.fleet.instance("vmss-web", instance).availability_state = "Degraded"
    outcomes = [deliver(pipeline, b.annotated("AccelnetUnhealthy", target=f"{web}/virtualMachines/{i}")) for i in instances]
    assert outcomes[0].status == "started"
    assert outcomes[1].status == "skipped" and "cap 1: 5% of 10, at least 1" in outcomes[1].reason


def test_hourly_write_cap_per_subscription(acting, sim, tmp_path):
    pipeline = acting("auto", policy_path=policy_file(tmp_path, brakes={"hourly_writes_per_subscription": 2}))
    outcomes = [deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm(name)))
                for name in ("vm-accelnet", "vm-degraded-hw", "vm-host-crash")]
    assert [o.status for o in outcomes] == ["started", "started", "skipped"], [o.reason for o in outcomes]
    assert outcomes[2].reason.startswith("hourly write cap: 2 ARM writes in subscription")


# -- the storm breaker ----------------------------------------------------------------------------

def test_many_vms_unhealthy_in_one_region_trip_the_breaker_and_it_resumes_when_calm(acting, sim, tmp_path, now_clock):
    pipeline = acting("auto", clock=now_clock, policy_path=policy_file(tmp_path, brakes={"storm": {"vms_per_region": 3, "window": "PT15M", "cooldown": "PT30M"}}))
    for index in range(4):  # four VMs of the subscription go unavailable at once
        deliver(pipeline, b.availability("Unavailable", target=vm(f"vm-gone-{index}"), when=recent()))
    tripped = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    # Four went unavailable, and the Accelnet VM itself makes five.
    assert tripped.status == "skipped" and tripped.reason.startswith("storm breaker: 5 VMs of subscription")
    assert "a platform incident is more likely" in tripped.reason
    assert pipeline.ledger.history()[-1]["brakes"]
    now_clock.advance(minutes=20)  # the marks left the window, but the breaker waits out its cooldown
    holding = deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    assert holding.status == "skipped" and "storm breaker: holding since" in holding.reason
    now_clock.advance(minutes=31)
    crashes = [now_clock.now - timedelta(hours=2), now_clock.now - timedelta(minutes=1)]  # two crashes of its host
    for crashed in crashes:
        resumed = deliver(pipeline, b.annotated("VirtualMachineHostCrashed", target=vm("vm-host-crash"),
                                                when=crashed.isoformat()))
    assert resumed.status == "started", resumed.reason
    assert not accepted_writes(sim, "vm-accelnet") and not accepted_writes(sim, "vm-degraded-hw")


def test_a_third_of_a_scale_set_unhealthy_trips_the_breaker_for_that_scale_set(acting, sim):
    pipeline = acting("auto")
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    instances = list(sim.fleet.scale_set("vmss-web").instances)
    for instance in instances[:4]:  # 4 of 10 > 30%
        deliver(pipeline, b.availability("Unavailable", target=f"{web}/virtualMachines/{instance}", when=recent()))
    sim.fleet.instance("vmss-web", instances[0]).availability_state = "Degraded"
    outcome = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=f"{web}/virtualMachines/{instances[0]}"))
    assert outcome.status == "skipped" and outcome.reason.startswith("storm breaker: 4 of 10 instances of scale set vmss-web")
    assert "health probe or the application" in outcome.reason
    other = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert other.status == "started"  # the storm is that scale set's, not the subscription's


def test_the_storm_message_is_sent_once(acting, sim, tmp_path, now_clock):
    from pipeline.core import Step

    pipeline = acting("auto", clock=now_clock, policy_path=policy_file(tmp_path, brakes={"storm": {"vms_per_region": 1}}))
    steps: list[Step] = []
    pipeline.listeners.append(steps.append)
    for index in range(2):
        deliver(pipeline, b.availability("Unavailable", target=vm(f"vm-gone-{index}"), when=recent()))
    deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    tripped = [s for s in steps if s.decision is not None and s.decision.facts.get("storm_tripped")]
    assert len(tripped) == 1
    from pipeline.notifications import Notifications
    from rules import load_catalog

    assert Notifications(None, load_catalog(), now_clock).notice_for(tripped[0]).event == "storm"


def test_stale_events_do_not_count_toward_a_storm(acting, sim, tmp_path):
    pipeline = acting("auto", policy_path=policy_file(tmp_path, brakes={"storm": {"vms_per_region": 1}}))
    for index in range(3):
        deliver(pipeline, b.availability("Unavailable", target=vm(f"vm-gone-{index}"), when="2026-01-01T00:00:00Z"))
    assert deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet"))).status == "started"
