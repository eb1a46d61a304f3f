"""Remediation through the pipeline on each backend, against the simulated Azure: the operation
store and the action hold carry an action from its start to its end, with one ARM write."""

from __future__ import annotations

from datetime import UTC

import pytest

from tests import builders as b
from tests.conftest import accepted_writes
from tests.functional.test_remediation import DEGRADED, deliver, demo_vm, tick_until_done


@pytest.fixture
def ledger(backend):
    """The shared `acting` fixture builds its pipeline on `ledger`: here, each backend in turn."""
    return backend


def test_auto_mode_starts_once_and_follows_to_success(acting, sim, ledger):
    pipeline = acting("auto")
    started = deliver(pipeline, DEGRADED())
    again = deliver(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing", target=demo_vm("vm-degraded-hw")))
    assert (started.action, started.status) == ("redeploy", "started")
    assert (again.status, again.incident_id) == ("duplicate", started.incident_id)
    (ended,) = tick_until_done(pipeline)
    assert (ended.status, ended.incident_id, ended.name) == ("succeeded", started.incident_id, started.name)
    (operation,) = ledger.operations(started.incident_id)
    assert operation["state"] == "succeeded" and operation["token"] and operation["finished_at"]
    assert len(accepted_writes(sim, "/redeploy")) == 1
    assert [row["status"] for row in ledger.history()] == ["started", "duplicate", "succeeded"]


def test_a_refused_action_leaves_the_incident_free_to_act_later(acting, sim, ledger):
    pipeline = acting("auto")
    target = demo_vm("vm-healthy-again")
    refused = deliver(pipeline, b.annotated("VirtualMachineScheduledForServiceHealing", target=target))
    assert refused.status == "skipped" and "already healthy" in refused.reason
    assert ledger.hold_action(refused.incident_id, "redeploy", "probe", refused_at()) is None, "nobody holds it"
    assert not accepted_writes(sim)


def refused_at():
    from datetime import datetime

    return datetime.now(UTC)
