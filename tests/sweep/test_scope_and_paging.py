"""Scope filters (subscriptions, resource groups) and the cost of a sweep: pages, not machines."""

from __future__ import annotations

import math

import pytest

from sweep import Scope, ScopeError

from .conftest import found, make_sweeper

SUB_A = "00000000-0000-0000-0000-0000000000aa"
SUB_B = "00000000-0000-0000-0000-0000000000bb"
WINDOW = {"isCustomerInitiatedMaintenanceAllowed": True, "preMaintenanceWindowStartTime": "-1h",
          "preMaintenanceWindowEndTime": "+2d", "maintenanceWindowStartTime": "+3d", "maintenanceWindowEndTime": "+4d"}  # fmt: skip

SCOPED_FLEET = {
    "subscriptions": [SUB_A, SUB_B],
    "vms": [
        {"name": "a-web", "subscriptionId": SUB_A, "resourceGroup": "rg-web", "maintenance": WINDOW},
        {"name": "a-data", "subscriptionId": SUB_A, "resourceGroup": "rg-data", "maintenance": WINDOW},
        {"name": "a-sandbox", "subscriptionId": SUB_A, "resourceGroup": "RG-Sandbox", "maintenance": WINDOW},
        {"name": "b-web", "subscriptionId": SUB_B, "resourceGroup": "rg-web", "availabilityState": "Degraded",
         "annotation": "AccelnetUnhealthy"},
    ],
    "scaleSets": [
        {"name": "a-ss-web", "subscriptionId": SUB_A, "resourceGroup": "rg-web", "capacity": 2},
        {"name": "b-ss-data", "subscriptionId": SUB_B, "resourceGroup": "rg-data", "capacity": 2},
    ],
}


@pytest.mark.parametrize(
    ("subscriptions", "include", "exclude", "expected"),
    [
        ((SUB_A,), (), (), {"a-web", "a-data", "a-sandbox", "a-ss-web"}),
        ((SUB_B,), (), (), {"b-web", "b-ss-data"}),
        ((SUB_A, SUB_B), (), (), {"a-web", "a-data", "a-sandbox", "a-ss-web", "b-web", "b-ss-data"}),
        ((SUB_A, SUB_B), ("rg-web",), (), {"a-web", "a-ss-web", "b-web"}),
        ((SUB_A,), (), ("rg-sandbox",), {"a-web", "a-data", "a-ss-web"}),  # names compare case-insensitively
        ((SUB_A, SUB_B), ("rg-web", "rg-data"), ("rg-data",), {"a-web", "a-ss-web", "b-web"}),  # exclude wins
        ((SUB_A.upper(),), ("RG-WEB",), (), {"a-web", "a-ss-web"}),
        ((SUB_B,), ("rg-sandbox",), (), set()),
    ],
)
def test_scope_filters(sim_for, subscriptions, include, exclude, expected):
    sim = sim_for(SCOPED_FLEET)
    sweeper = make_sweeper(sim, subscriptions, include, exclude)
    signals = list(sweeper.signals())
    assert {name for name, _ in found(signals)} == expected
    assert sweeper.stats.resources["vm"] + sweeper.stats.resources["scale-set"] == len(expected)


def test_a_scope_without_subscriptions_is_refused():
    for nothing in ((), ("", "  ")):
        with pytest.raises(ScopeError, match="RESPONDER_SUBSCRIPTIONS"):
            Scope(nothing)
    assert Scope((SUB_A.upper(), SUB_A)).subscriptions == (SUB_A,)


def test_scope_from_settings():
    from pipeline import Settings

    settings = Settings(subscriptions=(SUB_A,), resource_groups_include=("rg-web",), resource_groups_exclude=("rg-x",))
    scope = Scope.from_settings(settings)
    assert (scope.subscriptions, scope.resource_groups_include, scope.resource_groups_exclude) == ((SUB_A,), ("rg-web",), ("rg-x",))
    assert Scope.from_settings(settings, (SUB_B,)).subscriptions == (SUB_B,)


@pytest.mark.parametrize(("vms", "sets", "instances", "page"), [(23, 3, 7, 5), (10, 0, 0, 10), (40, 2, 12, 4)])
def test_reads_follow_pages_not_machines(sim_for, vms, sets, instances, page):
    fleet = {
        "defaults": {"subscriptionId": SUB_A, "resourceGroup": "rg-bulk"},
        "generate": [{"vms": vms, "maintenance": 2}],
        "scaleSets": [{"name": f"ss-{n}", "capacity": instances} for n in range(sets)],
    }
    sim = sim_for(fleet, page_size=page)
    sweeper = make_sweeper(sim, (SUB_A,))
    signals = list(sweeper.signals())
    pages = lambda n: max(1, math.ceil(n / page))  # noqa: E731
    expected = pages(vms) + pages(vms + sets) + pages(sets) + sets * (1 + pages(instances))
    assert sim.counters["reads"] == sweeper.stats.arm_reads == sweeper.stats.budget == expected
    assert sweeper.stats.largest_page == page or vms < page
    assert sweeper.stats.resources["vm"] == vms and sweeper.stats.resources["scale-set-vm"] == sets * instances
    assert sum(1 for s in signals if s.name == "SelfServiceWindowOpen") == 2
    lists = [r for r in sim.requests if r.path.endswith("/virtualMachines") and "virtualMachineScaleSets" not in r.path]
    assert [r.query.get("$skipToken") for r in lists] == [None, *[str(k * page) for k in range(1, pages(vms))]]
    assert all(r.query.get("statusOnly") == "true" for r in lists)
    instance_lists = [r for r in sim.requests if "/virtualMachineScaleSets/" in r.path and r.path.endswith("/virtualMachines")]
    assert all(r.query.get("$expand") == "instanceView" for r in instance_lists)
