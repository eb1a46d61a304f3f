"""pipeline.safety.Safety case by case: scope, the pause switch, what the storm breaker counts,
the brakes and the caps, each at its edge and in the words a person reads. A real SQLite ledger,
hand-built signals and resource reads, a clock moved by hand; no Azure (the functional brake
tests run the same limits through the pipeline against the simulated Azure).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from actions.resource_info import ResourceInfo
from pipeline.safety import Safety, member_of
from pipeline.settings import Settings
from rules import Classification, Signal
from rules.policy import load_policy
from tests import builders as b
from tests.conftest import Clock

SUB = "00000000-0000-0000-0000-00000000d3e0"
OTHER = "00000000-0000-0000-0000-0000000f0e19"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SCALE_SET = b.scale_set_id("vmss-web", rg="rg-demo", sub=SUB)


def vm(name: str = "vm-a", rg: str = "rg-demo", sub: str = SUB) -> str:
    return b.vm_id(name, rg=rg, sub=sub)


def instance(number: int) -> str:
    return f"{SCALE_SET}/virtualMachines/{number}"


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def make(ledger, clock):
    def build(**settings) -> Safety:
        return Safety(Settings(**settings), load_policy(), ledger, clock)

    return build


@pytest.fixture
def safety(make):
    return make(subscriptions=(SUB,))


def classified(initiator: str = "platform", impact: str = "downtime-reboot", category: str = "unplanned") -> Classification:
    return Classification(known=True, meaning="", initiator=initiator, impact=impact, category=category,
                          temp_disk_loss=False, platform_acting=False, default_action="none", next_step=None,
                          routine=False)


def signal(target: str, kind: str = "availability", name: str = "Unavailable", occurred: datetime = START,
           resolved: bool = False) -> Signal:
    return Signal(source="event-grid", event_id=f"{target}:{name}", kind=kind, name=name, resource_id=target,
                  occurred=occurred, resolved=resolved)


def unhealthy(safety: Safety, targets) -> None:
    for target in targets:
        safety.observe(signal(target), classified())


# -- scope ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "settings, target, reason",
    [
        ({"subscriptions": (f"  {SUB.upper()} ",)}, vm(), None),
        ({"subscriptions": (SUB,)}, vm(sub=OTHER), f"subscription {OTHER} is not in RESPONDER_SUBSCRIPTIONS"),
        ({"subscriptions": (SUB,)}, "not-an-arm-id", "subscription ? is not in RESPONDER_SUBSCRIPTIONS"),
        ({}, vm(sub=OTHER), None),  # no subscriptions named: scope left to the other settings
        ({}, "not-an-arm-id", None),  # nothing named, and no group to compare
        ({"resource_groups_include": (" RG-Demo ",)}, vm(rg="rg-demo"), None),
        ({"resource_groups_include": ("rg-demo",)}, vm(rg="RG-Web"), "resource group rg-web is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"),
        ({"resource_groups_include": ("rg-demo",)}, f"/subscriptions/{SUB}", None),  # no group to compare
        ({"resource_groups_exclude": (" RG-DEMO ",)}, vm(rg="Rg-Demo"), "resource group rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
        ({"resource_groups_exclude": ("rg-demo",)}, vm(rg="rg-web"), None),
        ({"resource_groups_include": ("rg-demo",), "resource_groups_exclude": ("rg-demo",)}, vm(),
         "resource group rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
    ],
)
def test_scope_in_every_letter_case(make, settings, target, reason):
    assert make(**settings).out_of_scope(target) == reason


def test_the_pause_switch_and_setting(make, clock):
    assert make().paused() is None
    assert make(paused=True).paused() == "RESPONDER_PAUSED is true"
    safety = make()
    safety.pause("bob@contoso.example")
    assert safety.paused() == "paused by bob@contoso.example at 2026-11-20T09:00Z"
    clock.advance(minutes=5)
    safety.resume("alice@contoso.example")
    assert safety.paused() is None


# -- the storm breaker: VMs of a subscription ----------------------------------------------------------

VM_STORM = ("VMs of subscription {sub} in {where} turned unhealthy within 15 min (more than 10): a platform incident "
            "is more likely than a broken machine; automation in this scope pauses until it stays under the "
            "threshold for 30 min")


def test_ten_unhealthy_vms_are_no_storm_and_the_eleventh_trips_it(safety):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    assert safety.ledger_brakes(vm("vm-0")) is None
    assert safety.resource_brakes(vm("vm-0"), ResourceInfo(location="westeurope")) is None
    unhealthy(safety, [vm("vm-10")])
    why = "11 " + VM_STORM.format(sub=SUB, where="any of its regions")
    assert safety.ledger_brakes(vm("vm-0")) == ("storm breaker", why, {"storm_tripped": True})
    assert safety.ledger_brakes(vm("vm-0")) == ("storm breaker", why), "tripped once; told once"
    assert safety.resource_brakes(vm("vm-0"), ResourceInfo(location="westeurope"))[0] == "storm breaker"
    assert safety.ledger_brakes(vm(sub=OTHER)) is None, "another subscription's VMs"


def test_a_vm_storm_in_one_region_counts_that_region_s_marks(safety, ledger, clock):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(6)])
    for n in range(5):
        ledger.mark_unhealthy(f"vm:{SUB}:westeurope", vm(f"vm-west-{n}").lower(), clock())
    assert safety.ledger_brakes(vm()) is None, "before the read the region is not known"
    assert safety.resource_brakes(vm(), ResourceInfo(location="northeurope")) is None
    why = "11 " + VM_STORM.format(sub=SUB, where="westeurope")
    assert safety.resource_brakes(vm(), ResourceInfo(location="westeurope")) == ("storm breaker", why, {"storm_tripped": True})
    assert safety.resource_brakes(vm(), ResourceInfo()) is None, "no location read: the region's marks are not counted"


def test_a_storm_holds_until_calm_for_its_cooldown_then_closes(safety, clock):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(11)])
    assert safety.ledger_brakes(vm())[0] == "storm breaker"
    clock.advance(minutes=16)  # the marks left the 15-minute window: under the threshold
    holding = ("storm breaker", "holding since 2026-11-20T09:00Z (11 " + VM_STORM.format(sub=SUB, where="any of its regions")
               .split("; automation")[0] + "); resumes at 2026-11-20T09:30Z if calm")
    assert safety.ledger_brakes(vm()) == holding
    assert safety.ledger.storm(f"vm:{SUB}:")["reason"].startswith("11 VMs"), "recorded for the whole subscription"
    clock.advance(minutes=13, seconds=59)
    assert safety.ledger_brakes(vm()) == holding
    clock.advance(seconds=1)  # 30 min after it was last over the threshold
    assert safety.ledger_brakes(vm()) is None
    assert safety.ledger.storm(f"vm:{SUB}:") is None, "closed"
    unhealthy(safety, [vm(f"vm-{n}") for n in range(11)])
    assert safety.ledger_brakes(vm())[2:] == ({"storm_tripped": True},), "a new storm trips again"


@pytest.mark.parametrize(
    "kind, name, initiator, impact, resolved, counted",
    [
        ("availability", "Unavailable", "platform", "", False, True),
        ("availability", "degraded", "platform", "", False, True),
        ("availability", "Available", "platform", "", False, False),
        ("availability", "Unavailable", "platform", "", True, False),  # the condition is over
        ("resource-health", "Unavailable", "platform", "", False, True),
        ("resource-health", "Unavailable", "customer", "", False, False),  # its owner's doing
        ("annotation", "VirtualMachineHostCrashed", "platform", "downtime-reboot", False, True),
        ("annotation", "VirtualMachineHostCrashed", "platform", "downtime-freeze", False, True),
        ("annotation", "VirtualMachinePossiblyDegradedDueToHardwareFailure", "platform", "degraded", False, True),
        ("annotation", "LiveMigrationSucceeded", "platform", "none", False, False),
        ("annotation", "VirtualMachineRebootInitiatedByControlPlane", "unknown", "downtime-reboot", False, False),
        ("scheduled-event", "Reboot", "platform", "downtime-reboot", False, False),
    ],
)
def test_what_the_storm_breaker_counts(safety, kind, name, initiator, impact, resolved, counted):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    safety.observe(signal(vm("vm-last"), kind=kind, name=name, resolved=resolved), classified(initiator, impact))
    assert (safety.ledger_brakes(vm()) is not None) is counted


@pytest.mark.parametrize(
    "target, counted",
    [
        (vm("vm-last"), True),
        (vm("vm-last").upper(), True),
        (f"/subscriptions/{SUB}", False),  # the subscription itself is no VM
        (f"/subscriptions/{SUB}/resourceGroups/rg-demo", False),
        (SCALE_SET, False),  # a scale set's own state: its instances count, in its set
        (instance(0), False),  # counts in its scale set, not among the subscription's VMs
        (f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.Storage/storageAccounts/st1", False),
        ("not-an-arm-id", False),
    ],
)
def test_only_a_vm_counts_toward_the_subscription_s_vm_storm(safety, target, counted):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    unhealthy(safety, [target])
    assert (safety.ledger_brakes(vm()) is not None) is counted


def test_an_event_a_day_old_says_nothing_of_a_storm_now(safety, clock):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    safety.observe(signal(vm("vm-old"), occurred=START - timedelta(hours=24, seconds=1)), classified())
    assert safety.ledger_brakes(vm()) is None
    safety.observe(signal(vm("vm-day"), occurred=START - timedelta(hours=24)), classified())
    assert safety.ledger_brakes(vm()) is not None


@pytest.mark.parametrize("initiator, category", [("customer", "customer-initiated"), ("vm", "unplanned"),
                                                 ("platform", "spot-eviction"), ("platform", "customer-initiated")])
def test_an_owner_s_own_deallocation_is_not_counted_before_or_after(safety, clock, initiator, category):
    owners = classified(initiator, "downtime-reboot", category)
    safety.observe(signal(vm("vm-owner"), kind="annotation", name="VirtualMachineDeallocationInitiated"), owners)
    clock.advance(minutes=29, seconds=59)
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    unhealthy(safety, [vm("vm-owner")])  # the Unavailable that follows it
    assert safety.ledger_brakes(vm()) is None
    safety.observe(signal(vm("vm-later")), classified())
    assert safety.ledger_brakes(vm()) is not None


def test_an_owner_s_annotation_takes_back_the_unavailable_counted_just_before(safety, clock):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(11)])
    clock.advance(minutes=1)
    safety.observe(signal(vm("vm-10"), kind="annotation", name="VirtualMachineStopInitiated"), classified("customer"))
    assert safety.ledger_brakes(vm()) is None


def test_an_owner_s_annotation_pairs_only_within_half_an_hour(safety, clock):
    safety.observe(signal(vm("vm-owner"), kind="annotation", name="VirtualMachineStopInitiated"), classified("customer"))
    clock.advance(minutes=30, seconds=1)
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    unhealthy(safety, [vm("vm-owner")])
    assert safety.ledger_brakes(vm()) is not None


def test_a_resolved_owner_annotation_pairs_with_nothing(safety):
    unhealthy(safety, [vm(f"vm-{n}") for n in range(10)])
    safety.observe(signal(vm("vm-owner"), kind="annotation", name="VirtualMachineStopInitiated", resolved=True),
                   classified("customer"))
    unhealthy(safety, [vm("vm-owner")])
    assert safety.ledger_brakes(vm()) is not None


# -- the storm breaker: instances of a scale set ---------------------------------------------------------

def test_a_scale_set_storm_is_a_share_of_its_capacity(safety):
    unhealthy(safety, [instance(n) for n in range(3)])
    read = ResourceInfo(location="westeurope", capacity=10, scale_set_id=SCALE_SET)
    assert safety.resource_brakes(instance(0), read) is None, "3 of 10 is not more than 30%"
    unhealthy(safety, [instance(3)])
    assert safety.ledger_brakes(instance(0)) is None, "before the read the capacity is not known"
    why = ("4 of 10 instances of scale set vmss-web turned unhealthy within 15 min (more than 30%): the health probe "
           "or the application is more likely wrong than the machines; automation in this scope pauses until it "
           "stays under the threshold for 30 min")
    assert safety.resource_brakes(instance(0), read) == ("storm breaker", why, {"storm_tripped": True})
    assert safety.ledger_brakes(instance(1))[1].startswith("holding since 2026-11-20T09:00Z (4 of 10 instances")
    assert safety.ledger_brakes(vm()) is None, "a VM outside the set"


def test_a_scale_set_storm_holds_after_the_read_and_only_a_count_closes_it(safety, clock):
    unhealthy(safety, [instance(n) for n in range(4)])
    read = ResourceInfo(capacity=10, scale_set_id=SCALE_SET)
    assert safety.resource_brakes(instance(0), read)[0] == "storm breaker"
    clock.advance(minutes=16)  # the marks left the window: under the threshold
    assert safety.resource_brakes(instance(0), read)[1].startswith("holding since 2026-11-20T09:00Z (4 of 10")
    clock.advance(minutes=30)
    assert safety.ledger_brakes(instance(0)) is None, "calm for the cooldown"
    assert safety.ledger.storm(f"ss:{SCALE_SET.lower()}") is not None, "not closed by a caller that did not count"
    assert safety.resource_brakes(instance(0), read) is None
    assert safety.ledger.storm(f"ss:{SCALE_SET.lower()}") is None, "closed once counted under the threshold"


def test_a_scale_set_with_no_capacity_read_counts_as_one(safety):
    unhealthy(safety, [instance(0)])
    assert safety.resource_brakes(instance(1), ResourceInfo(capacity=None, scale_set_id=SCALE_SET))[1].startswith(
        "1 of 1 instances")
    assert safety.resource_brakes(instance(1), ResourceInfo(capacity=0, scale_set_id=SCALE_SET))[1].startswith(
        "1 of 1 instances")


def test_a_flexible_set_s_vm_counts_in_its_set_once_read(safety, ledger, clock):
    flexible = b.scale_set_id("vmss-flex", rg="rg-demo", sub=SUB)
    for n in range(4):
        ledger.mark_unhealthy(f"ss:{flexible.lower()}", vm(f"flex-{n}").lower(), clock())
    assert safety.ledger_brakes(vm("flex-0")) is None
    refusal = safety.resource_brakes(vm("flex-0"), ResourceInfo(location="westeurope", capacity=10, scale_set_id=flexible))
    assert refusal[1].startswith("4 of 10 instances of scale set vmss-flex")


@pytest.mark.parametrize(
    "resource, scale_set, member",
    [
        (instance(3), None, SCALE_SET),
        (vm("flex-0"), SCALE_SET, SCALE_SET),
        (vm(), None, None),
        (SCALE_SET, SCALE_SET, None),  # a scale set itself counts in its subscription
    ],
)
def test_which_scale_set_a_machine_counts_in(resource, scale_set, member):
    found = member_of(resource, scale_set)
    assert (found.lower() if found else found) == (member.lower() if member else member)


# -- per resource: cooldown and attempt cap ---------------------------------------------------------------

def made(ledger, target: str, at: datetime, incident: str = "INC-1", action: str = "redeploy", state: str = "succeeded"):
    ledger.record_intent(incident, None, action, target, "auto", {}, {}, at, state=state)


@pytest.mark.parametrize(
    "ago, refused",
    [(timedelta(hours=5, minutes=59, seconds=59), True), (timedelta(hours=6), False), (timedelta(minutes=1), True)],
)
def test_the_cooldown_after_a_remediation(safety, ledger, clock, ago, refused):
    made(ledger, vm(), START - ago)
    refusal = safety.ledger_brakes(vm())
    if not refused:
        assert refusal is None
        return
    at = START - ago
    why = (f"redeploy of this resource at {at.isoformat()[:16]}Z; the next remediation may start after "
           f"{(at + timedelta(hours=6)).isoformat()[:16]}Z")
    assert refusal == ("cooldown", why)
    assert safety.resource_brakes(vm().upper() + "/", ResourceInfo()) == refusal


@pytest.mark.parametrize("name", ["vm-BOX", "vm-box"])
def test_the_brakes_find_a_resource_s_operations_however_its_id_is_written(safety, ledger, name):
    made(ledger, vm(name), START - timedelta(hours=7), incident="INC-a")
    assert safety.ledger_brakes(f" {vm(name)}/ ") is None
    made(ledger, vm(name), START - timedelta(hours=1), incident="INC-b")
    assert safety.ledger_brakes(f" {vm(name)}/ ")[0] == "cooldown"
    safety.brakes = replace(safety.brakes, cooldown=timedelta(minutes=1))
    assert safety.ledger_brakes(f"{vm(name)}/")[0] == "attempt cap"


def test_occurrences_are_distinct_events_of_one_name_in_the_window(safety, ledger):
    target = vm("vm-BOX")
    for name, hours, key in [("HostCrashed", 1, "a"), ("HostCrashed", 2, "b"), ("HostCrashed", 2, "c"),
                             ("Degraded", 1, "d"), ("HostCrashed", 30, "e")]:
        ledger.record_signal(Signal(source="event-grid", event_id=key, kind="annotation", name=name, resource_id=target,
                                    occurred=START - timedelta(hours=hours), delivery_key=key), None, START)
    assert safety.occurrences(f" {target.upper()}/", "HostCrashed", START - timedelta(hours=24), START) == 2
    assert safety.occurrences(target, "HostCrashed", START - timedelta(hours=1, minutes=30), START) == 1
    assert safety.occurrences(target, "HostCrashed", START - timedelta(hours=24), START - timedelta(hours=1, minutes=30)) == 1
    assert safety.occurrences(target, "Degraded", START - timedelta(hours=24), START) == 1


def test_the_cooldown_is_the_resource_s_own(safety, ledger):
    made(ledger, vm("vm-b"), START)
    assert safety.ledger_brakes(vm()) is None


@pytest.mark.parametrize(
    "hours_ago, refused",
    [((7, 13), True), ((7,), False), ((7, 23.99), True), ((7, 24.01), False)],
)
def test_the_attempt_cap_in_its_window(safety, ledger, hours_ago, refused):
    for n, hours in enumerate(hours_ago):
        made(ledger, vm(), START - timedelta(hours=hours), incident=f"INC-{n}")
    refusal = safety.ledger_brakes(vm())
    expected = ("attempt cap", "2 remediations of this resource in 24 h already; a person should look at it")
    assert refusal == (expected if refused else None)
    assert safety.resource_brakes(vm(), ResourceInfo()) == (expected if refused else None)


# -- the caps: reserved just before the write ---------------------------------------------------------------

def test_the_in_flight_cap_of_a_subscription(safety):
    for n in range(5):
        assert safety.reserve(vm(f"vm-{n}"), f"INC-{n}:redeploy", None) is None
    assert safety.reserve(vm("vm-0"), "INC-0:redeploy", None) is None, "a retried start takes no second slot"
    refusal = (f"in-flight cap: 5 operations already under way in subscription {SUB} (cap 5); the next signal or sweep "
               "tries again")
    assert safety.reserve(vm("vm-5"), "INC-5:redeploy", None) == refusal
    assert safety.reserve(vm("vm-5", sub=OTHER), "INC-5:redeploy", None) is None, "another subscription's cap"
    safety.release(vm("vm-0"), "INC-0:redeploy")
    assert safety.reserve(vm("vm-5"), "INC-5:redeploy", None) is None


@pytest.mark.parametrize("capacity, cap", [(19, 1), (20, 1), (39, 1), (40, 2), (59, 2), (60, 3)])
def test_the_in_flight_cap_of_a_scale_set(safety, capacity, cap):
    for n in range(cap):
        assert safety.reserve(instance(n), f"INC-{n}:reimage", capacity) is None
    refusal = (f"in-flight cap: {cap} instances of scale set vmss-web already being remediated (cap {cap}: 5% of "
               f"{capacity}, at least 1)")
    assert safety.reserve(instance(cap), f"INC-{cap}:reimage", capacity) == refusal
    # The refused write holds no slot of the subscription's: four more writes fit there.
    for n in range(5 - cap):
        assert safety.reserve(vm(f"vm-{n}"), f"INC-vm-{n}:redeploy", None) is None
    assert safety.reserve(vm("vm-x"), "INC-x:redeploy", None).startswith("in-flight cap: 5 operations")
    safety.release(instance(0), "INC-0:reimage")
    assert safety.reserve(vm("vm-x"), "INC-x:redeploy", None) is None, "both of its slots given back"


def test_the_scale_set_cap_says_the_share_the_policy_sets(safety):
    safety.brakes = replace(safety.brakes, in_flight_scale_set_share=0.1)
    for n in range(2):
        assert safety.reserve(instance(n), f"INC-{n}:reimage", 25) is None
    assert safety.reserve(instance(2), "INC-2:reimage", 25) == (
        "in-flight cap: 2 instances of scale set vmss-web already being remediated (cap 2: 10% of 25, at least 1)")


def test_an_ended_instance_gives_its_scale_set_slot_back(safety):
    assert safety.reserve(instance(0), "INC-0:reimage", 10) is None
    assert safety.reserve(instance(1), "INC-1:reimage", 10).startswith("in-flight cap: 1 instances of scale set vmss-web")
    safety.release(instance(0), "INC-0:reimage")
    assert safety.reserve(instance(1), "INC-1:reimage", 10) is None


def test_a_flexible_set_s_vm_takes_a_slot_of_its_set(safety):
    flexible = b.scale_set_id("vmss-flex", rg="rg-demo", sub=SUB)
    assert safety.reserve(vm("flex-0"), "INC-0:redeploy", 10, flexible) is None
    assert safety.reserve(vm("flex-1"), "INC-1:redeploy", 10, flexible).startswith(
        "in-flight cap: 1 instances of scale set vmss-flex")
    assert safety.reserve(vm("flex-1"), "INC-1:redeploy", None, flexible) is None, "capacity unknown: no set cap"
    safety.release(vm("flex-0"), "INC-0:redeploy", flexible)
    assert safety.reserve(vm("flex-2"), "INC-2:redeploy", 10, flexible) is None


def test_the_hourly_write_cap_stays_full_until_the_hour_turns(make, clock):
    safety = make(subscriptions=(SUB,))
    safety.brakes = replace(safety.brakes, in_flight_per_subscription=100)
    clock.advance(minutes=59)
    for n in range(30):
        assert safety.reserve(vm(f"vm-{n}"), f"INC-{n}:redeploy", None) is None
        safety.release(vm(f"vm-{n}"), f"INC-{n}:redeploy")
    refusal = f"hourly write cap: 30 ARM writes in subscription {SUB} this hour (cap 30)"
    assert safety.ledger_brakes(vm("vm-30")) is None, "not yet seen full"
    assert safety.reserve(vm("vm-30"), "INC-30:redeploy", None) == refusal
    assert safety.ledger_brakes(vm("vm-31")) == ("hourly write cap", refusal.split(": ", 1)[1])
    assert safety.ledger_brakes(vm("vm-x", sub=OTHER)) is None
    assert safety.reserve(vm("vm-31", sub=OTHER), "INC-31:redeploy", None) is None
    # The refused write gave its in-flight slot back.
    assert safety.ledger.claim_slot(f"in-flight:/subscriptions/{SUB}", 1, "INC-probe", clock(), timedelta(hours=1))
    for n in range(29):  # the other subscription fills up too, the same hour: both stay known full
        safety.reserve(vm(f"vm-o{n}", sub=OTHER), f"INC-o{n}:redeploy", None)
        safety.release(vm(f"vm-o{n}", sub=OTHER), f"INC-o{n}:redeploy")
    assert safety.reserve(vm("vm-o", sub=OTHER), "INC-o:redeploy", None).startswith("hourly write cap: 30")
    assert safety.ledger_brakes(vm("vm-x", sub=OTHER))[0] == "hourly write cap"
    assert safety.ledger_brakes(vm("vm-31")) == ("hourly write cap", refusal.split(": ", 1)[1])
    clock.advance(minutes=1)  # the hour turns
    assert safety.ledger_brakes(vm("vm-31")) is None
    assert safety.reserve(vm("vm-31"), "INC-31:redeploy", None) is None
    for n in range(29):
        safety.reserve(vm(f"vm-b{n}"), f"INC-b{n}:redeploy", None)
        safety.release(vm(f"vm-b{n}"), f"INC-b{n}:redeploy")
    assert safety.reserve(vm("vm-32"), "INC-32:redeploy", None).startswith("hourly write cap")
    assert list(safety._full_hours) == [f"writes:/subscriptions/{SUB}:2026-11-20T10"], "past hours forgotten"

