"""Verification against the live state: when each action's condition holds, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from actions_testbed import judged, ss_id, ssvm_id, vm_id

from actions import registry
from actions.errors import InvalidParameterError, NotApplicableError

HOLDS = [
    ("redeploy", vm_id("vm-degraded"), {}, "shows it Degraded for a platform cause (evidence: platform-unhealthy)"),
    ("redeploy", vm_id("vm-unavailable"), {}, "shows it Unavailable for a platform cause"),
    ("redeploy", vm_id("vm-accelnet"), {"signal_annotation": "AccelnetUnhealthy"},
     "AccelnetUnhealthy is still active on it (evidence: annotation-active)"),
    ("redeploy", vm_id("vm-accelnet"), {"signal_annotation": "accelnetunhealthy"}, "still active on it"),
    ("restart", ssvm_id("ss-web", 1), {}, "Degraded"),
    ("reimage", ssvm_id("ss-web", 1), {"signal_annotation": "AccelnetUnhealthy"}, "AccelnetUnhealthy is still active"),
    ("perform-maintenance", vm_id("vm-maint"), {}, "self-service window open until"),
    ("perform-maintenance", ssvm_id("ss-web", 2), {}, "self-service window open"),
    ("resume-automatic-repairs", ss_id("ss-web"), {}, "1 of 10 instances unhealthy (10%, under 20%)"),
    ("resume-automatic-repairs", ss_id("ss-half"), {"max_unhealthy_share": 0.6}, "2 of 4"),
    ("enable-automatic-repairs", ss_id("ss-off"), {}, "not enabled"),
    ("replace-failed-instance", ss_id("ss-api"), {}, "1 failed instance(s) to replace: 2"),
    ("replace-failed-instance", ss_id("ss-two-failed"), {}, "2 failed instance(s) to replace: 1, 3"),
    ("replace-failed-instance", ssvm_id("ss-api", 2), {}, "to replace: 2"),
]

REFUSALS = [
    ("redeploy", vm_id("vm-healthy"), {}, "already healthy"),
    ("redeploy", vm_id("vm-accelnet"), {}, "already healthy"),
    ("redeploy", vm_id("vm-healthy"), {"signal_annotation": "AccelnetUnhealthy"}, "AccelnetUnhealthy is no longer active on it"),
    ("restart", vm_id("vm-unknown"), {}, "Unknown"),
    ("redeploy", vm_id("vm-deallocated"), {}, "deallocated"),
    ("restart", vm_id("vm-stopped"), {}, "stopped"),
    ("reimage", vm_id("vm-busy"), {}, "already under way"),
    ("redeploy", ssvm_id("ss-web", 3), {}, "already healthy"),
    ("perform-maintenance", vm_id("vm-no-maint"), {}, "no maintenance is planned"),
    ("perform-maintenance", vm_id("vm-maint-done"), {}, "maintenance already done"),
    ("perform-maintenance", vm_id("vm-maint-not-allowed"), {}, "not allowed"),
    ("perform-maintenance", vm_id("vm-maint-future"), {}, "window not open yet"),
    ("perform-maintenance", vm_id("vm-maint-past"), {}, "window closed"),
    ("perform-maintenance", vm_id("vm-maint-avset"), {}, "not for availability sets"),
    ("perform-maintenance", vm_id("vm-maint"), {"now": datetime.now(UTC) + timedelta(days=5)}, "window closed"),
    ("perform-maintenance", vm_id("vm-maint"), {"now": datetime.now(UTC) - timedelta(hours=5)},
     "window not open yet"),
    ("resume-automatic-repairs", ss_id("ss-running"), {}, "serviceState no longer Suspended"),
    ("resume-automatic-repairs", ss_id("ss-off"), {}, "not enabled"),
    ("resume-automatic-repairs", ss_id("ss-probe"), {}, "too many unhealthy instances: 4 of 4"),
    ("resume-automatic-repairs", ss_id("ss-half"), {}, "fix the health probe or the application first"),
    ("resume-automatic-repairs", ss_id("ss-web"), {"max_unhealthy_share": 0.1}, "too many unhealthy instances"),
    ("enable-automatic-repairs", ss_id("ss-running"), {}, "already enabled"),
    ("enable-automatic-repairs", ss_id("ss-off-unhealthy"), {}, "too many unhealthy instances: 2 of 4"),
    ("replace-failed-instance", ss_id("ss-off"), {}, "no failed instances"),
    ("replace-failed-instance", ssvm_id("ss-api", 1), {}, "no failed instances: instance 1 is Succeeded"),
    ("replace-failed-instance", ssvm_id("ss-api", 99), {}, "no longer exists"),
    ("replace-failed-instance", ss_id("ss-all-failed"), {}, "every instance failed provisioning"),
    ("replace-failed-instance", ssvm_id("ss-all-failed", 0), {}, "every instance failed provisioning"),
    ("redeploy", vm_id("vm-deleted-since"), {}, "no longer exists"),
    ("resume-automatic-repairs", ss_id("ss-deleted-since"), {}, "no longer exists"),
    ("perform-maintenance", vm_id("vm-maint"), {"now": "2000-01-01T00:00:00Z"}, "window not open yet"),
]  # fmt: skip


@pytest.mark.parametrize("action, rid, params, reason", HOLDS)
def test_holds(sim, clients, action, rid, params, reason):
    holds, said, _facts = judged(registry.get(action), clients, rid, params)
    assert holds, said
    assert reason in said


@pytest.mark.parametrize("action, rid, params, reason", REFUSALS)
def test_refuses(sim, clients, action, rid, params, reason):
    holds, said, _facts = judged(registry.get(action), clients, rid, params)
    assert not holds
    assert reason in said, said
    assert not any(r.counter == "writes" for r in sim.requests)  # verify only reads (a Resource Graph query is a POST read)


def test_verify_reports_facts_for_the_pipeline(sim, clients):
    verdict = registry.get("perform-maintenance").verify(clients, vm_id("vm-maint"), {})
    assert verdict.facts["update_domain"] == 2
    assert verdict.facts["maintenance_allowed"] is True
    replace = registry.get("replace-failed-instance").verify(clients, ss_id("ss-two-failed"), {})
    assert replace.facts["failed_instance_ids"] == ["1", "3"] and replace.facts["capacity"] == 5


@pytest.mark.parametrize(
    "action, rid",
    [
        ("redeploy", ss_id("ss-web")),
        ("resume-automatic-repairs", vm_id("vm-degraded")),
        ("enable-automatic-repairs", ssvm_id("ss-web", 0)),
        ("replace-failed-instance", vm_id("vm-degraded")),
    ],
)
def test_not_applicable(sim, clients, action, rid):
    with pytest.raises(NotApplicableError):
        registry.get(action).verify(clients, rid, {})
    assert list(sim.requests) == []


@pytest.mark.parametrize(
    "action, params",
    [
        ("enable-automatic-repairs", {"grace_period": "PT5M"}),
        ("enable-automatic-repairs", {"grace_period": "PT2H"}),
        ("enable-automatic-repairs", {"grace_period": "30 minutes"}),
        ("resume-automatic-repairs", {"max_unhealthy_share": 0}),
        ("resume-automatic-repairs", {"max_unhealthy_share": 1.5}),
        ("resume-automatic-repairs", {"max_unhealthy_share": "a fifth"}),
    ],
)
def test_bad_parameters(sim, clients, action, params):
    rid = ss_id("ss-off") if action == "enable-automatic-repairs" else ss_id("ss-web")
    with pytest.raises(InvalidParameterError):
        registry.get(action).verify(clients, rid, params)
