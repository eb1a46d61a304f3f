"""Without the opt-in scale-set write role, the two actions that PATCH a scale set are refused
before any ARM call (a `skipped` "needs the scale-set write role"), and it is logged once."""

from __future__ import annotations

import logging

import pytest
from actions_testbed import permit, ss_id, ssvm_id

from actions import registry, scale_set_write
from actions.errors import NotApplicableError

NEEDS_WRITE = [
    ("enable-automatic-repairs", ss_id("ss-off")),
    ("replace-failed-instance", ss_id("ss-api")),
    ("replace-failed-instance", ssvm_id("ss-api", 2)),
]


@pytest.fixture
def without_role(clients):
    clients.scale_set_write = False
    scale_set_write._told.clear()
    yield clients
    scale_set_write._told.clear()


@pytest.mark.parametrize(("action", "resource_id"), NEEDS_WRITE)
@pytest.mark.parametrize("step", ["verify", "start"])
def test_refused_before_any_call(sim, without_role, action, resource_id, step):
    before = len(sim.requests)
    executor = registry.get(action)
    with pytest.raises(scale_set_write.MissingRoleError) as refused:
        if step == "start":  # even with the gate's permit in hand
            executor.start(without_role, resource_id, {}, permit=permit(executor, resource_id))
        else:
            executor.verify(without_role, resource_id, {})
    assert str(refused.value).startswith(f"{action} needs the scale-set write role")
    assert "RESPONDER_SCALE_SET_WRITE_ROLE" in str(refused.value)
    # A NotApplicableError: the pipeline records the decision as skipped, "not acting: ...".
    assert isinstance(refused.value, NotApplicableError)
    assert len(sim.requests) == before


def test_told_once_per_action_in_the_log(without_role, caplog):
    caplog.set_level(logging.WARNING, logger="actions.scale_set_write")
    for _ in range(3):
        for action, resource_id in NEEDS_WRITE:
            with pytest.raises(scale_set_write.MissingRoleError):
                registry.get(action).verify(without_role, resource_id, {})
    warnings = [r.getMessage() for r in caplog.records if r.name == "actions.scale_set_write"]
    assert len(warnings) == 2, warnings
    assert {w.split()[0] for w in warnings} == {"enable-automatic-repairs", "replace-failed-instance"}


@pytest.mark.parametrize("action", sorted(set(registry.names()) - {a for a, _ in NEEDS_WRITE}))
def test_other_actions_do_not_need_it(without_role, action):
    assert scale_set_write.missing_role(action, registry.get(action).permissions, without_role) is None


def test_with_the_role_the_action_proceeds(clients):
    assert clients.scale_set_write is True
    assert registry.get("enable-automatic-repairs").verify(clients, ss_id("ss-off"), {}).holds


def test_a_caller_can_ask_before_the_brakes(without_role):
    executor = registry.get("enable-automatic-repairs")
    assert scale_set_write.missing_role(executor.name, executor.permissions, without_role) == (
        "enable-automatic-repairs needs the scale-set write role")
