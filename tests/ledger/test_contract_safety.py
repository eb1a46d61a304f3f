"""What the brakes count, on both backends: operations by resource and prefix, the storm
breaker's marks, storms that open and close once, and switches."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import builders as b
from tests.ledger.test_contract import T0, race, when

SUB = f"/subscriptions/{b.SUB}"
SS = b.scale_set_id("ss1")
MADE = ("intent", "running", "succeeded", "failed")
UNDER_WAY = ("verifying", "intent", "running")


def operation(backend, resource, state="intent", at=T0, action="redeploy"):
    return backend.record_intent("INC-1", None, action, resource, "auto", {}, {}, at, state=state)


@pytest.fixture
def fleet(backend):
    """Operations on a VM, two scale-set instances and a VM in another subscription."""
    operation(backend, b.vm_id("vm1"), "succeeded", T0 - timedelta(hours=3))
    operation(backend, b.vm_id("vm1"), "running", T0 - timedelta(minutes=10), action="restart")
    operation(backend, b.vm_id("vm1"), "verifying", T0)
    operation(backend, b.instance_id("ss1", "1"), "running", T0)
    operation(backend, b.instance_id("ss1", "2"), "skipped", T0)
    operation(backend, b.vm_id("vm9", sub="99999999-2222-3333-4444-555555555555"), "intent", T0)
    return backend


@pytest.mark.parametrize(
    "resource,since,states,expected",
    [
        (b.vm_id("vm1"), None, MADE, 2),
        (b.vm_id("vm1").upper(), None, MADE, 2),
        (b.vm_id("vm1"), T0 - timedelta(hours=1), MADE, 1),
        (b.vm_id("vm1"), None, UNDER_WAY, 2),
        (b.vm_id("vm"), None, MADE, 0),  # an id is matched whole
        (SUB + "/", None, MADE, 3),
        (SUB + "/", None, UNDER_WAY, 3),
        (SUB.upper() + "/", T0 - timedelta(minutes=30), MADE, 2),
        (SS + "/virtualMachines/", None, UNDER_WAY, 1),
        (SS + "/virtualMachines/", None, ("skipped",), 1),
        ("/subscriptions/none/", None, MADE, 0),
    ],
)
def test_operations_are_counted_by_resource_or_prefix(fleet, resource, since, states, expected):
    assert fleet.count_operations(resource, since, states=states) == expected


def test_the_last_operation_is_the_latest_made(fleet):
    last = fleet.last_operation(b.vm_id("vm1").lower())
    assert (last["action"], last["state"], when(last["created_at"])) == ("restart", "running", T0 - timedelta(minutes=10))
    assert fleet.last_operation(b.vm_id("vm1").lower(), states=("succeeded",))["action"] == "redeploy"
    assert fleet.last_operation(b.vm_id("vm2").lower()) is None


def test_unhealthy_marks_count_distinct_resources_in_a_window(backend):
    for resource, minutes in (("vm1", 50), ("vm1", 50), ("vm1", 5), ("vm2", 20), ("vm3", 90)):
        backend.mark_unhealthy("sub:1", b.vm_id(resource).lower(), T0 - timedelta(minutes=minutes))
    backend.mark_unhealthy("sub:2", b.vm_id("vm4").lower(), T0)
    assert backend.count_unhealthy("sub:1", T0 - timedelta(hours=1)) == 2
    assert backend.count_unhealthy("sub:1", T0 - timedelta(minutes=20)) == 2  # the boundary counts
    assert backend.count_unhealthy("sub:1", T0 - timedelta(minutes=19)) == 1
    assert backend.count_unhealthy("sub:1", T0 - timedelta(days=1)) == 3
    assert backend.count_unhealthy("sub:2", T0 - timedelta(days=1)) == 1
    assert backend.count_unhealthy("vm:none:", T0 - timedelta(days=1)) == 0


def test_a_storm_opens_once_stays_open_and_closes_once(backend):
    scope = f"scale-set:{SS.lower()}"
    assert backend.storm(scope) is None
    assert backend.open_storm(scope, T0, "6 of 10 instances unhealthy") is True
    assert backend.open_storm(scope, T0 + timedelta(minutes=5), "still over") is False
    storm = backend.storm(scope)
    assert set(storm) == {"scope", "tripped_at", "last_over_at", "reason"}
    assert (storm["scope"], storm["reason"]) == (scope, "6 of 10 instances unhealthy")
    assert when(storm["tripped_at"]) == T0 and when(storm["last_over_at"]) == T0 + timedelta(minutes=5)
    assert backend.close_storm(scope) is True and backend.close_storm(scope) is False
    assert backend.storm(scope) is None
    assert backend.open_storm(scope, T0 + timedelta(hours=1), "again") is True
    assert when(backend.storm(scope)["tripped_at"]) == T0 + timedelta(hours=1)


def test_of_many_workers_one_trips_the_breaker_and_one_ends_the_storm(backend):
    assert sorted(race(backend, lambda ledger: ledger.open_storm("sub:1", T0, "storm"))) == [False] * 7 + [True]
    assert sorted(race(backend, lambda ledger: ledger.close_storm("sub:1"))) == [False] * 7 + [True]


def test_a_switch_keeps_its_last_value_and_who_set_it(backend):
    assert backend.switch("pause") is None
    backend.set_switch("pause", "true", "ops@example.com", T0)
    backend.set_switch("pause", "false", "lead@example.com", T0 + timedelta(minutes=1))
    switch = backend.switch("pause")
    assert (switch["name"], switch["value"], switch["set_by"]) == ("pause", "false", "lead@example.com")
    assert when(switch["set_at"]) == T0 + timedelta(minutes=1)


def test_a_resource_is_marked_in_a_scope_since_a_time(backend):
    vm = b.vm_id("vm1").lower()
    backend.mark_unhealthy("owner:" + vm, vm, T0 - timedelta(minutes=10))
    assert backend.marked("owner:" + vm, vm, T0 - timedelta(minutes=30)) is True
    assert backend.marked("owner:" + vm, vm, T0 - timedelta(minutes=5)) is False, "marked before that time"
    assert backend.marked("owner:" + b.vm_id("vm2").lower(), b.vm_id("vm2").lower(), T0 - timedelta(days=1)) is False
    assert backend.marked("sub:1", vm, T0 - timedelta(days=1)) is False, "another scope"


def test_a_resource_marked_again_counts_once_and_from_its_latest_mark(backend):
    vm = b.vm_id("vm1").lower()
    backend.mark_unhealthy("sub:1", vm, T0 - timedelta(minutes=20))
    backend.mark_unhealthy("sub:1", vm, T0 - timedelta(minutes=5))
    assert backend.count_unhealthy("sub:1", T0 - timedelta(hours=1)) == 1
    assert backend.count_unhealthy("sub:1", T0 - timedelta(minutes=10)) == 1
