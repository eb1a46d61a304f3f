"""Every brake at, just under and just over its limit, and scope matching in every letter case.

Each case runs the pipeline against the simulated Azure with settings as an operator writes them:
environment variables read by `Settings.from_env`, brakes changed in a policy file named by
RESPONDER_POLICY_PATH (or the shipped defaults when a case changes none). What a case checks is
what an operator sees: the signal's outcome (started, or skipped naming its brake) and the writes
Azure took. A limit moved by one, a `>` turned into `>=`, a window or cooldown shortened, or a
share rounded the other way fails at least one row here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, TEST_APPROVAL_SECRET, Clock, accepted_writes, deliver, policy_file

OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000f0e19"
# A round hour, so a case knows which clock hour its writes count in.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


# The limits an operator gets without writing any: the shipped policy's brakes (None), and the
# built-in ones a policy without a `brakes` section gets (OMITTED). The rows marked DEFAULTS run
# with both, so neither can drift from the documented limits.
OMITTED = "omitted"
DEFAULTS = (None, OMITTED)


class Only(dict):
    """A policy's whole `brakes` section: every brake not in it takes its built-in limit."""


def policy_without_brakes(tmp_path, section: dict | None = None):
    import yaml

    from tests.conftest import ROOT

    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    del document["brakes"]
    if section is not None:
        document["brakes"] = section
    path = tmp_path / "policy-without-brakes.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def defaults(*rows):
    """Each row (whose first item is None) once with the shipped brakes and once with none written."""
    return [(source, *row[1:]) for row in rows for source in DEFAULTS]


@pytest.fixture
def operator(sim, ledger, tmp_path):
    """A pipeline built the way the app builds one: from environment variables, with the policy
    file they name. `brakes` (policy.yaml's section) writes a policy file; None keeps the shipped one."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline

    def make(clock, brakes: dict | str | None = None, **env):
        """`brakes`: None (the shipped policy), OMITTED (no `brakes` section), an `Only` (the whole
        section) or a dict (shipped brakes with these changed)."""
        environment = {"RESPONDER_MODE": "auto", "RESPONDER_AZURE": "sim", "RESPONDER_APPROVAL_SECRET": TEST_APPROVAL_SECRET,
                       "RESPONDER_SUBSCRIPTIONS": DEMO_SUBSCRIPTION, **env}
        if brakes == OMITTED:
            environment["RESPONDER_POLICY_PATH"] = str(policy_without_brakes(tmp_path))
        elif isinstance(brakes, Only):
            environment["RESPONDER_POLICY_PATH"] = str(policy_without_brakes(tmp_path, dict(brakes)))
        elif brakes is not None:
            environment["RESPONDER_POLICY_PATH"] = str(policy_file(tmp_path, brakes=brakes))
        settings = Settings.from_env(environment)
        # Events as fresh as the case's clock, however far it moves it (an event hours old when
        # it arrives is never acted on).
        b.EVENTS_AT = lambda: clock() - timedelta(minutes=15)
        connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
        return build_pipeline(settings, ledger=ledger, connect=connect, clock=clock, notifier=False)

    return make


@pytest.fixture
def clock():
    return Clock(START)


def vm(name: str, rg: str = "rg-demo", sub: str = DEMO_SUBSCRIPTION) -> str:
    return b.vm_id(name, rg=rg, sub=sub)


def broken_vms(sim, count: int, prefix: str = "vm-broken") -> list[str]:
    """`count` degraded VMs added to the demo subscription; their ids."""
    for index in range(count):
        sim.fleet.add_vm_spec({"name": f"{prefix}-{index}", "subscriptionId": DEMO_SUBSCRIPTION, "resourceGroup": "rg-demo",
                               "location": "westeurope", "availabilityState": "Degraded"})
    return [vm(f"{prefix}-{index}") for index in range(count)]


def scale_set_of_capacity(sim, capacity: int, degraded: int) -> list[str]:
    """vmss-web scaled to `capacity`; the ids of its first `degraded` instances, made degraded."""
    from simulator.effects import scale_to

    scale_set = sim.fleet.scale_set("vmss-web")
    scale_to(sim.fleet, scale_set, capacity)
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    chosen = sorted(scale_set.instances, key=int)[:degraded]
    for instance in chosen:
        sim.fleet.instance("vmss-web", instance).availability_state = "Degraded"
        sim.fleet.instance("vmss-web", instance).health_state = "Healthy"
    return [f"{web}/virtualMachines/{instance}" for instance in chosen]


def unwell(target: str):
    """A signal the default policy answers with a remediation (redeploy). Fresh, it is itself a
    storm mark: the breaker counts the resource it decides on with the others."""
    return b.annotated("AccelnetUnhealthy", target=target)


def gone(target: str, clock: Clock):
    """A resource turning unavailable now: a storm mark."""
    return b.availability("Unavailable", target=target, when=clock().isoformat())


def settle(pipeline, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while pipeline.ledger.open_operations() and time.monotonic() < deadline:
        pipeline.tick()
        time.sleep(0.02)
    assert not pipeline.ledger.open_operations(), "the simulated operations did not end"


def remediate_once(pipeline, sim, target: str) -> None:
    """One finished remediation of `target`, the incident over, and the resource broken again."""
    name = target.rsplit("/", 1)[-1]
    sim.fleet.vm(name).availability_state = "Degraded"
    assert deliver(pipeline, unwell(target)).status == "started"
    settle(pipeline)
    deliver(pipeline, b.availability("Available", previous="Degraded", target=target))
    sim.fleet.vm(name).availability_state = "Degraded"


def assert_outcome(outcome, expected: str, brake: str) -> None:
    """`expected` is "started" or "skipped"; a skip must name `brake`, a start must not be braked."""
    assert outcome.status == expected, outcome.reason
    if expected == "skipped":
        assert outcome.reason.startswith(f"{brake}:"), outcome.reason


# -- the storm breaker: VMs of a subscription --------------------------------------------------

@pytest.mark.parametrize(
    "brakes,marks,expected",
    [
        *defaults((None, 9, "started")),  # the shipped limit is 10: more than 10 trips
        *defaults((None, 10, "started")),
        *defaults((None, 11, "skipped")),
        ({"storm": {"vms_per_region": 3}}, 2, "started"),
        ({"storm": {"vms_per_region": 3}}, 3, "started"),
        ({"storm": {"vms_per_region": 3}}, 4, "skipped"),
    ],
)
def test_vm_storm_count(operator, sim, clock, brakes, marks, expected):
    pipeline = operator(clock, brakes)
    for index in range(marks - 1):  # and the VM the signal is about makes `marks`
        deliver(pipeline, gone(vm(f"vm-gone-{index}"), clock))
    outcome = deliver(pipeline, unwell(vm("vm-accelnet")))
    assert_outcome(outcome, expected, "storm breaker")
    if expected == "skipped":
        assert outcome.reason.startswith(f"storm breaker: {marks} VMs of subscription {DEMO_SUBSCRIPTION}")
        assert not accepted_writes(sim)


@pytest.mark.parametrize(
    "brakes,later,expected",
    [
        *defaults((None, timedelta(minutes=15) - timedelta(seconds=1), "skipped")),  # the shipped window: 15 min
        *defaults((None, timedelta(minutes=15) + timedelta(seconds=1), "started")),
        ({"storm": {"vms_per_region": 2, "window": "PT5M"}}, timedelta(minutes=5) - timedelta(seconds=1), "skipped"),
        ({"storm": {"vms_per_region": 2, "window": "PT5M"}}, timedelta(minutes=5) + timedelta(seconds=1), "started"),
    ],
)
def test_vm_storm_window(operator, sim, clock, brakes, later, expected):
    pipeline = operator(clock, brakes)
    limit = (brakes if isinstance(brakes, dict) else {}).get("storm", {}).get("vms_per_region", 10)
    for index in range(limit + 1):
        deliver(pipeline, gone(vm(f"vm-gone-{index}"), clock))
    clock.advance(seconds=later.total_seconds())
    assert_outcome(deliver(pipeline, unwell(vm("vm-accelnet"))), expected, "storm breaker")


@pytest.mark.parametrize(
    "brakes,later,expected",
    [
        # Tripped at START; the marks leave the 15-min window, the breaker holds for 30 min.
        *defaults((None, timedelta(minutes=30) - timedelta(seconds=1), "skipped")),
        *defaults((None, timedelta(minutes=30) + timedelta(seconds=1), "started")),
        ({"storm": {"vms_per_region": 1, "window": "PT1M", "cooldown": "PT10M"}}, timedelta(minutes=10) - timedelta(seconds=1), "skipped"),
        ({"storm": {"vms_per_region": 1, "window": "PT1M", "cooldown": "PT10M"}}, timedelta(minutes=10) + timedelta(seconds=1), "started"),
    ],
)
def test_storm_cooldown(operator, sim, clock, brakes, later, expected):
    pipeline = operator(clock, brakes)
    limit = (brakes if isinstance(brakes, dict) else {}).get("storm", {}).get("vms_per_region", 10)
    for index in range(limit + 1):
        deliver(pipeline, gone(vm(f"vm-gone-{index}"), clock))
    tripped = deliver(pipeline, unwell(vm("vm-degraded-hw")))
    assert tripped.status == "skipped" and tripped.reason.startswith("storm breaker:")
    clock.advance(seconds=later.total_seconds())
    outcome = deliver(pipeline, unwell(vm("vm-accelnet")))
    assert_outcome(outcome, expected, "storm breaker")
    if expected == "skipped":
        assert "holding since" in outcome.reason


# -- the storm breaker: one scale set ----------------------------------------------------------

@pytest.mark.parametrize(
    "brakes,capacity,marks,expected",
    [
        *defaults((None, 10, 2, "started")),  # the shipped share is 30%: more than 3 of 10 trips
        *defaults((None, 10, 3, "started")),
        *defaults((None, 10, 4, "skipped")),
        *defaults((None, 7, 2, "started")),  # 30% of 7 is 2.1
        *defaults((None, 7, 3, "skipped")),
        *defaults((None, 20, 6, "started")),
        *defaults((None, 20, 7, "skipped")),
        ({"storm": {"scale_set_share": 0.5}}, 10, 5, "started"),
        ({"storm": {"scale_set_share": 0.5}}, 10, 6, "skipped"),
    ],
)
def test_scale_set_storm_share(operator, sim, clock, brakes, capacity, marks, expected):
    pipeline = operator(clock, brakes)
    (target, *others) = scale_set_of_capacity(sim, capacity, marks)  # the target makes `marks` with the others
    for instance in others:
        deliver(pipeline, gone(instance, clock))
    outcome = deliver(pipeline, unwell(target))
    assert_outcome(outcome, expected, "storm breaker")
    if expected == "skipped":
        assert outcome.reason.startswith(f"storm breaker: {marks} of {capacity} instances of scale set vmss-web")


# -- per resource: the cooldown ------------------------------------------------------------------

@pytest.mark.parametrize(
    "brakes,later,expected",
    [
        *defaults((None, timedelta(hours=6) - timedelta(seconds=1), "skipped")),  # the shipped cooldown: 6 h
        *defaults((None, timedelta(hours=6), "started")),
        *defaults((None, timedelta(hours=6) + timedelta(seconds=1), "started")),
        ({"cooldown": "PT1H"}, timedelta(hours=1) - timedelta(seconds=1), "skipped"),
        ({"cooldown": "PT1H"}, timedelta(hours=1) + timedelta(seconds=1), "started"),
    ],
)
def test_cooldown(operator, sim, clock, brakes, later, expected):
    pipeline = operator(clock, brakes)
    remediate_once(pipeline, sim, vm("vm-accelnet"))
    clock.advance(seconds=later.total_seconds())
    outcome = deliver(pipeline, unwell(vm("vm-accelnet")))
    assert_outcome(outcome, expected, "cooldown")
    assert len(accepted_writes(sim, "vm-accelnet")) == (2 if expected == "started" else 1)


# -- per resource: the attempt cap and its window -----------------------------------------------

NO_COOLDOWN = {"cooldown": "PT0S"}
ONLY_NO_COOLDOWN = Only(NO_COOLDOWN)  # the built-in attempt cap and window


@pytest.mark.parametrize(
    "brakes,made,expected",
    [
        (NO_COOLDOWN, 1, "started"),  # the shipped cap: 2 remediations within 24 h
        (NO_COOLDOWN, 2, "skipped"),
        (ONLY_NO_COOLDOWN, 1, "started"),
        (ONLY_NO_COOLDOWN, 2, "skipped"),
        ({**NO_COOLDOWN, "attempts": {"count": 3}}, 2, "started"),
        ({**NO_COOLDOWN, "attempts": {"count": 3}}, 3, "skipped"),
        ({**NO_COOLDOWN, "attempts": {"count": 1}}, 1, "skipped"),
    ],
)
def test_attempt_cap(operator, sim, clock, brakes, made, expected):
    pipeline = operator(clock, brakes)
    for _ in range(made):
        remediate_once(pipeline, sim, vm("vm-accelnet"))
        clock.advance(minutes=1)
    outcome = deliver(pipeline, unwell(vm("vm-accelnet")))
    assert_outcome(outcome, expected, "attempt cap")
    if expected == "skipped":
        assert outcome.reason.startswith(f"attempt cap: {made} remediations of this resource in ")


@pytest.mark.parametrize(
    "brakes,later,expected",
    [
        # Two remediations a minute apart; the next signal comes `later` after the first.
        (NO_COOLDOWN, timedelta(hours=24) - timedelta(seconds=1), "skipped"),  # the shipped window: 24 h
        (NO_COOLDOWN, timedelta(hours=24) + timedelta(seconds=1), "started"),
        (ONLY_NO_COOLDOWN, timedelta(hours=24) - timedelta(seconds=1), "skipped"),
        (ONLY_NO_COOLDOWN, timedelta(hours=24) + timedelta(seconds=1), "started"),
        ({**NO_COOLDOWN, "attempts": {"within": "PT2H"}}, timedelta(hours=2) - timedelta(seconds=1), "skipped"),
        ({**NO_COOLDOWN, "attempts": {"within": "PT2H"}}, timedelta(hours=2) + timedelta(seconds=1), "started"),
    ],
)
def test_attempt_window(operator, sim, clock, brakes, later, expected):
    pipeline = operator(clock, brakes)
    remediate_once(pipeline, sim, vm("vm-accelnet"))
    clock.advance(minutes=1)
    remediate_once(pipeline, sim, vm("vm-accelnet"))
    clock.advance(seconds=(later - timedelta(minutes=1)).total_seconds())
    outcome = deliver(pipeline, unwell(vm("vm-accelnet")))
    assert_outcome(outcome, expected, "attempt cap")
    if expected == "skipped":
        hours = int(((brakes.get("attempts") or {}).get("within") == "PT2H" and 2) or 24)
        assert f"2 remediations of this resource in {hours} h" in outcome.reason


# -- the caps: in flight per subscription and per scale set, writes per hour ---------------------

@pytest.mark.parametrize(
    "brakes,under_way,expected",
    [
        *defaults((None, 4, "started")),  # the shipped cap: 5 operations under way in a subscription
        *defaults((None, 5, "skipped")),
        ({"in_flight": {"per_subscription": 2}}, 1, "started"),
        ({"in_flight": {"per_subscription": 2}}, 2, "skipped"),
    ],
)
def test_in_flight_per_subscription(operator, sim, clock, brakes, under_way, expected):
    sim.operation_delay = 60  # operations stay under way
    pipeline = operator(clock, brakes)
    *earlier, last = broken_vms(sim, under_way + 1)
    assert [deliver(pipeline, unwell(target)).status for target in earlier] == ["started"] * under_way
    outcome = deliver(pipeline, unwell(last))
    assert_outcome(outcome, expected, "in-flight cap")
    if expected == "skipped":
        assert outcome.reason.startswith(f"in-flight cap: {under_way} operations already under way")


@pytest.mark.parametrize(
    "brakes,capacity,cap",
    [
        # 5% of capacity, rounded down, at least 1: where rounding up or to nearest would differ.
        *defaults((None, 10, 1)),
        *defaults((None, 19, 1)),
        *defaults((None, 20, 1)),
        *defaults((None, 39, 1)),
        *defaults((None, 40, 2)),
        *defaults((None, 59, 2)),
        *defaults((None, 60, 3)),
        ({"in_flight": {"per_scale_set_share": 0.1}}, 25, 2),
        ({"in_flight": {"per_scale_set_share": 0.1}}, 9, 1),
    ],
)
def test_in_flight_per_scale_set(operator, sim, clock, brakes, capacity, cap):
    sim.operation_delay = 60
    pipeline = operator(clock, brakes)
    instances = scale_set_of_capacity(sim, capacity, cap + 1)
    outcomes = [deliver(pipeline, unwell(instance)) for instance in instances]
    assert [o.status for o in outcomes] == ["started"] * cap + ["skipped"], [o.reason for o in outcomes]
    assert outcomes[-1].reason.startswith(f"in-flight cap: {cap} instances of scale set vmss-web already being remediated (cap {cap}:")


@pytest.mark.parametrize(
    "brakes,writes",
    [
        *defaults((None, 30)),  # the shipped cap: 30 ARM writes in a subscription per clock hour
        ({"hourly_writes_per_subscription": 3}, 3),
    ],
)
def test_hourly_write_cap(operator, sim, clock, brakes, writes):
    # Thirty machines unwell at once would trip the storm breaker first: out of the way here.
    calm = {"storm": {"vms_per_region": 1000}}
    brakes = (calm if brakes is None else Only(calm) if brakes == OMITTED else {**brakes, **calm})
    pipeline = operator(clock, brakes)
    targets = broken_vms(sim, writes + 1)
    for target in targets[:writes]:
        assert deliver(pipeline, unwell(target)).status == "started"
        settle(pipeline)  # ended: only the hourly cap can refuse
    clock.advance(minutes=59, seconds=59)
    over = deliver(pipeline, unwell(targets[writes]))
    assert_outcome(over, "skipped", "hourly write cap")
    assert over.reason.startswith(f"hourly write cap: {writes} ARM writes in subscription {DEMO_SUBSCRIPTION} this hour")
    clock.advance(seconds=1)  # the next clock hour
    assert_outcome(deliver(pipeline, unwell(vm("vm-accelnet"))), "started", "hourly write cap")
    assert len(accepted_writes(sim)) == writes + 1


# -- scope, as an operator types it --------------------------------------------------------------

def cased(text: str, case: str) -> str:
    return {"lower": text.lower(), "upper": text.upper(), "mixed": "".join(
        c.upper() if i % 2 else c.lower() for i, c in enumerate(text))}[case]


CASES = ("lower", "upper", "mixed")


@pytest.mark.parametrize("setting_case", CASES)
@pytest.mark.parametrize("id_case", CASES)
@pytest.mark.parametrize(
    "variable,value,target,in_scope,why",
    [
        ("RESPONDER_SUBSCRIPTIONS", DEMO_SUBSCRIPTION.replace("d3e0", "D3E0"), vm("vm-accelnet"), True, ""),
        ("RESPONDER_SUBSCRIPTIONS", DEMO_SUBSCRIPTION.replace("d3e0", "D3E0"), vm("vm-out-of-scope", "rg-other", OTHER_SUBSCRIPTION),
         False, "is not in RESPONDER_SUBSCRIPTIONS"),
        ("RESPONDER_RESOURCE_GROUPS_INCLUDE", "rg-demo", vm("vm-accelnet"), True, ""),
        ("RESPONDER_RESOURCE_GROUPS_INCLUDE", "rg-app", vm("vm-accelnet"), False, "is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"),
        ("RESPONDER_RESOURCE_GROUPS_EXCLUDE", "rg-demo", vm("vm-accelnet"), False, "is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
        ("RESPONDER_RESOURCE_GROUPS_EXCLUDE", "rg-app", vm("vm-accelnet"), True, ""),
    ],
)
def test_scope_matches_in_every_letter_case(operator, sim, clock, variable, value, target, in_scope, why, setting_case, id_case):
    pipeline = operator(clock, **{variable: f" {cased(value, setting_case)} , other-entry"})
    outcome = deliver(pipeline, unwell(cased(target, id_case)))
    name = target.rsplit("/", 1)[-1]
    if in_scope:
        assert outcome.status == "started", outcome.reason
        assert len(accepted_writes(sim)) == 1
    else:
        assert outcome.status == "skipped" and outcome.reason.startswith("out of scope:") and why in outcome.reason
        assert not [r for r in sim.requests if name in r.path.lower()], "nothing outside the scope is read or written"
