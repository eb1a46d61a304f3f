"""Pure planning: scopes, update-domain groups, the order of groups, what a queued VM waits for,
and which refusals keep a member queued."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waves.planning import (
    SelfServiceWindow,
    group_of,
    next_group,
    plan_reason,
    refusal_passes,
    scope_of,
    span,
)

SUB = "00000000-0000-0000-0000-00000000d3e0"
VM = f"/subscriptions/{SUB}/resourceGroups/rg-Demo/providers/Microsoft.Compute/virtualMachines/vm1"
SSVM = f"/subscriptions/{SUB}/resourceGroups/rg-Demo/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/3"


@pytest.mark.parametrize("resource_id,facts,scope", [
    (VM, {"location": "westeurope"}, f"{SUB}:westeurope"),
    (VM, {"location": "West Europe"}, f"{SUB}:westeurope"),
    (VM, {}, SUB),  # region unknown: the subscription
    (SSVM, {"location": "westeurope"}, f"{SUB}:westeurope:rg-demo/ss1"),  # a scale set's own update domains
])
def test_scope(resource_id, facts, scope):
    assert scope_of(resource_id, facts) == scope


@pytest.mark.parametrize("value,group", [(0, "0"), (3, "3"), ("2", "2"), (None, "unknown"), ("", "unknown"), ("x", "unknown")])
def test_group(value, group):
    assert group_of(value) == group


@pytest.mark.parametrize("candidates,first", [
    ([], None), (["1", "0"], "0"), (["10", "2"], "2"), (["unknown", "4"], "4"), (["unknown"], "unknown"),
])
def test_lowest_update_domain_goes_first_and_unknown_last(candidates, first):
    assert next_group(candidates) == first


@pytest.mark.parametrize("groups,text", [(["0"], "0"), (["1", "0", "2"], "0..2"), (["0", "unknown"], "0 and unknown"),
                                         (["unknown"], "unknown")])
def test_span(groups, text):
    assert span(groups) == text


def test_plan_reasons():
    window = SelfServiceWindow(None, datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    later = plan_reason("WAVE-1", "1", {"0", "1"}, "Sat, Sun 01:00–05:00 UTC", "30 min", window)
    assert later == ("queued in wave WAVE-1, update domain 1 of 0..1; starts when update domain 0 has finished and "
                     "30 min have passed, inside the self-service window (until 2026-11-28 03:00Z) and the maintenance "
                     "window (Sat, Sun 01:00–05:00 UTC)")
    first = plan_reason("WAVE-1", "0", {"0", "1"}, "Sat, Sun 01:00–05:00 UTC", "30 min", window)
    assert first.startswith("queued in wave WAVE-1, update domain 0 of 0..1; starts inside the self-service window")


@pytest.mark.parametrize("reason,passes", [
    ("storm breaker: 12 VMs of subscription ... turned unhealthy", True),
    ("cooldown: redeploy of this resource at ...", True),
    ("in-flight cap: 5 operations already under way", True),
    ("hourly write cap: 30 ARM writes", True),
    ("not acting: the live state could not be verified (timeout)", True),
    ("verified against the live state: an operation is already under way on it (updating)", True),
    ("verified against the live state: maintenance already done (MaintenanceCompleted)", False),
    ("verified against the live state: self-service window closed at ...", False),
    ("verified against the live state: not for availability sets: ...", False),
    ("attempt cap: 2 remediations of this resource in 24 h already", False),
    ("mode tag: the tag says off", False),
    ("not acting: the mode is observe", False),
])
def test_which_refusals_keep_a_member_queued(reason, passes):
    assert refusal_passes(reason) is passes


def test_self_service_window():
    start, end = datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
    window = SelfServiceWindow(start, end)
    assert window.open(start) and window.open(end) and not window.closed(end)
    assert not window.open(datetime(2026, 11, 29, tzinfo=UTC)) and window.closed(datetime(2026, 11, 29, tzinfo=UTC))
    assert SelfServiceWindow.of({"window_start": "2026-11-21T00:00:00Z", "window_end": "2026-11-28T00:00:00+00:00"}) == window
    assert SelfServiceWindow(None, None).closed(start)
