"""The findings as pure functions of the state read: maintenance status, repairs, availability,
and the delivery keys that make a repeat a duplicate and a new occurrence a new decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sweep.availability import AvailabilityStatus, availability_signal
from sweep.maintenance import Maintenance, maintenance_signal
from sweep.repairs import ScaleSetHealth, repair_signals

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
VM_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1"
SS_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss-1"


def window(allowed=True, start=-H, end=48 * H, azure_start=72 * H, azure_end=96 * H, result="None"):
    return Maintenance(allowed, NOW + start, NOW + end, NOW + azure_start, NOW + azure_end, result, None)


@pytest.mark.parametrize(
    ("maintenance", "expected"),
    [
        (window(), "SelfServiceWindowOpen"),
        (window(allowed=False), None),  # not ours to start; Azure's window is still to come
        (window(start=H, end=48 * H), "SelfServiceWindowScheduled"),
        (window(allowed=False, start=H, end=48 * H), None),
        (window(start=-3 * H, end=-2 * H, azure_start=-H, azure_end=H), "PlatformWindowOpen"),
        (window(allowed=False, start=-3 * H, end=-2 * H, azure_start=-H, azure_end=H), "PlatformWindowOpen"),
        (window(start=-9 * H, end=-8 * H, azure_start=-7 * H, azure_end=-6 * H), None),  # all over
        (window(result="MaintenanceCompleted"), "MaintenanceCompleted"),
        (window(result="RetryLater"), "MaintenanceRetryLater"),
        (window(result="MaintenanceAborted"), "MaintenanceAborted"),
        (window(result="maintenanceaborted"), "MaintenanceAborted"),
        (Maintenance(True, None, None, None, None, None, None), None),
    ],
)
def test_maintenance_status(maintenance, expected):
    assert maintenance.status(NOW) == expected
    signal = maintenance_signal(VM_ID, "Microsoft.Compute/virtualMachines", maintenance, NOW, update_domain=3, fault_domain=1)
    assert (signal.name if signal else None) == expected
    if signal:
        assert signal.details["update_domain"] == 3 and signal.details["fault_domain"] == 1
        assert signal.resolved is (expected == "MaintenanceCompleted")


def test_a_window_keeps_its_key_and_a_new_window_gets_a_new_one():
    first = maintenance_signal(VM_ID, "t", window(), NOW)
    later = maintenance_signal(VM_ID, "t", window(), NOW + 15 * timedelta(minutes=1))
    new_window = maintenance_signal(VM_ID, "t", window(start=-H / 2), NOW)
    assert first.delivery_key == later.delivery_key
    assert new_window.delivery_key != first.delivery_key
    assert first.occurred == NOW - H  # the window's start


def test_keys_ignore_resource_id_casing():
    a = maintenance_signal(VM_ID, "t", window(), NOW)
    b = maintenance_signal(VM_ID.upper(), "t", window(), NOW)
    assert a.delivery_key == b.delivery_key and a.incident_key == b.incident_key


def health(**kwargs):
    value = ScaleSetHealth(resource_id=SS_ID, policy_enabled=kwargs.pop("policy", True), service_state=kwargs.pop("state", "Running"),
                           service_changed=NOW - 2 * H)  # fmt: skip
    for index, (health_code, failed) in enumerate(kwargs.pop("instances", [])):
        value.count_instance(str(index), health_code, NOW - H, failed, NOW - 3 * H)
    return value


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (health(instances=[("healthy", False)] * 3), []),
        (health(state="Suspended", instances=[("unhealthy", False), ("healthy", False)]), ["RepairsSuspended"]),
        (health(state="Suspended", instances=[("unhealthy", False)] * 2), ["AllInstancesUnhealthy"]),
        (health(policy=False, state=None, instances=[("unhealthy", False)] * 2), ["AllInstancesUnhealthy"]),
        (health(policy=False, state=None, instances=[("healthy", False)]), ["RepairsNotEnabled"]),
        # Enabled but not running, or not listed: the next step is finding why, not enabling it again
        (health(state="NotRunning", instances=[("healthy", False)]), ["RepairsNotRunning"]),
        (health(state=None, instances=[("healthy", False)]), ["RepairsNotRunning"]),
        (health(policy=False, state=None, instances=[("healthy", False)]), ["RepairsNotEnabled"]),
        # Running, one instance unhealthy for an hour: past the (default 10 minute) grace period
        (health(instances=[("unhealthy", False), ("healthy", False)]), ["RepairsOverdue"]),
        (health(instances=[(None, False)] * 2), []),  # no health reported is not unhealthy
        (health(instances=[("healthy", False), (None, True)]), ["InstanceProvisioningFailed"]),
        (health(state="Suspended", instances=[("unhealthy", True), ("healthy", False)]), ["RepairsSuspended", "InstanceProvisioningFailed"]),
        (health(instances=[]), []),
    ],
)
def test_repair_findings(state, expected):
    assert [s.name for s in repair_signals(state, NOW)] == expected


def test_an_instance_unhealthy_past_the_grace_period_is_reported_with_when_it_was_due():
    state = health(instances=[("healthy", False), ("unhealthy", False), ("unhealthy", False)])
    state.grace_period = "PT30M"
    (overdue,) = repair_signals(state, NOW)
    assert overdue.name == "RepairsOverdue" and overdue.details["instance_ids"] == ["1", "2"]
    due = (NOW - H + timedelta(minutes=30)).isoformat()
    assert overdue.details["repair_due"] == {"1": due, "2": due}
    assert f"should have been repaired at 1: {due}" in overdue.summary
    assert repair_signals(state, NOW - H + timedelta(minutes=29)) == []  # still inside the grace period
    assert repair_signals(state, NOW + H)[0].delivery_key == overdue.delivery_key  # the same instances: one finding


def test_a_held_scale_set_is_reported_held_and_a_running_one_lifts_the_hold():
    from sweep.holds import Hold

    hold = Hold(SS_ID, "alice@contoso.example", "2026-11-20T07:00:00+00:00")
    (held,) = repair_signals(health(state="Suspended", instances=[("unhealthy", False), ("healthy", False)]), NOW, hold)
    assert held.name == "RepairsHeld" and held.details["held_by"] == "alice@contoso.example"
    assert "suspended by alice@contoso.example at 2026-11-20T07:00:00+00:00" in held.summary
    (resumed,) = repair_signals(health(instances=[("healthy", False)]), NOW, hold)
    assert resumed.name == "RepairsResumed" and resumed.resolved


def test_all_unhealthy_is_announced_once_a_day():
    state = health(state="Suspended", instances=[("unhealthy", False)] * 2)
    today, later, tomorrow = (repair_signals(state, at)[0] for at in (NOW, NOW + 6 * H, NOW + 24 * H))
    assert today.delivery_key == later.delivery_key != tomorrow.delivery_key
    assert today.occurred == NOW - H  # when the last instance turned unhealthy


def status(state="Degraded", context="Platform Initiated", resource=VM_ID, occurred=NOW - H):
    return AvailabilityStatus(resource, state, occurred, "summary", "AccelnetUnhealthy", context)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (status(), "Degraded"),
        (status("Unavailable"), "Unavailable"),
        (status("Available"), None),
        (status("Unknown"), None),
        (status("degraded"), "Degraded"),
    ],
)
def test_availability_findings(value, expected):
    signal = availability_signal(value, NOW)
    assert (signal.name if signal else None) == expected
    if signal:
        assert signal.kind == "availability" and signal.occurred == NOW - H


@pytest.mark.parametrize(
    ("value", "is_vm", "owner"),
    [
        (status(), True, False),
        (status(context="Customer Initiated"), True, True),
        (status(context="User-initiated"), True, True),
        (status(resource=SS_ID), False, False),
        (status(resource=SS_ID + "/virtualMachines/3"), False, False),
        (status(resource="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"), False, False),
    ],
)
def test_availability_status_kinds(value, is_vm, owner):
    assert (value.is_vm, value.owner_initiated) == (is_vm, owner)


def test_availability_keys_change_with_a_new_occurrence_and_each_day():
    today = availability_signal(status(), NOW)
    assert availability_signal(status(), NOW + H).delivery_key == today.delivery_key
    assert availability_signal(status(occurred=NOW - H / 2), NOW).delivery_key != today.delivery_key
    assert availability_signal(status(), NOW + 24 * H).delivery_key != today.delivery_key
