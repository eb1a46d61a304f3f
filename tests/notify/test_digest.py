"""Digests: the notices of one scope within a window become one message; a storm folds them all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notify.digest import DigestPolicy, place, scope_of
from notify.outbox import DIGEST, INCIDENT

from .conftest import T0, notice, vm

POLICY = DigestPolicy(window=timedelta(minutes=5), listed=10, individual=3, hold=timedelta(seconds=60))
STORM = "STORM"  # in a case's incidents: the storm notice


def run(incidents, times):
    window, placed = None, []
    for incident, at in zip(incidents, times, strict=False):
        p = place(window, destination="teams:ops", cause="c", incident_id=incident, now=at, policy=POLICY,
                  trips_storm=incident == STORM)
        window = p.window
        placed.append(p.kind if not p.fold else "fold")
    return placed


@pytest.mark.parametrize(
    "incidents,minutes,kinds",
    [
        (["a"], [0], [INCIDENT]),
        (["a", "a", "a", "a"], [0, 1, 2, 3], [INCIDENT] * 4),  # one incident's follow-ups are never digested
        (["a", "b", "c", "d", "e"], [0] * 5, [INCIDENT, INCIDENT, INCIDENT, DIGEST, DIGEST]),
        (["a", "b", "c", "d", "a"], [0] * 5, [INCIDENT, INCIDENT, INCIDENT, DIGEST, INCIDENT]),
        (["a", "b", "c", "d", "e"], [0, 0, 0, 0, 6], [INCIDENT, INCIDENT, INCIDENT, DIGEST, INCIDENT]),  # new window
        # The storm notice goes alone and folds what is held; then everything is digested, follow-ups too.
        (["a", STORM, "a", "b"], [0, 0, 1, 1], [INCIDENT, "fold", DIGEST, DIGEST]),
        (["a", "b", "c", "d", STORM, STORM], [0] * 6, [INCIDENT, INCIDENT, INCIDENT, DIGEST, "fold", "fold"]),
        # A storm goes on into the next window while notices keep coming, and ends when they stop.
        ([STORM, "a", "b"], [0, 6, 7], ["fold", DIGEST, DIGEST]),
        ([STORM, "a"], [0, 11], ["fold", INCIDENT]),
    ],
)
def test_the_digest_rule(incidents, minutes, kinds):
    assert run(incidents, [T0 + timedelta(minutes=m) for m in minutes]) == kinds


@pytest.mark.parametrize("trips_storm,due", [(False, T0 + timedelta(seconds=60)), (True, T0)])
def test_an_incident_message_is_held_but_the_storm_notice_goes_at_once(trips_storm, due):
    placed = place(None, destination="d", cause="c", incident_id="a", now=T0, policy=POLICY, trips_storm=trips_storm)
    assert (placed.kind, placed.due_at, placed.alone) == (INCIDENT, due, trips_storm)


@pytest.mark.parametrize(
    "a,b,same",
    [
        (dict(), dict(resource_id=vm("other")), True),  # other VM, same scope
        (dict(), dict(signal_name="VirtualMachineHostCrashed"), True),  # any signal: a storm is many names at once
        (dict(), dict(location="eastus"), False),
        (dict(), dict(resource_id=vm(sub="99999999-0000-0000-0000-000000000000")), False),
        (dict(resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/1"),
         dict(resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/2"),
         True),  # one scale set
        (dict(resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/1"),
         dict(resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/other/virtualMachines/1"),
         False),
    ],
)
def test_a_scope_is_the_storm_breakers(a, b, same):
    assert (scope_of(notice(**a)) == scope_of(notice(**b))) == same
