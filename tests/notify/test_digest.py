"""Digests: notices sharing a cause within a window become one message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from notify.digest import DigestPolicy, cause_of, place
from notify.outbox import DIGEST, INCIDENT

from .conftest import T0, notice, vm

POLICY = DigestPolicy(window=timedelta(minutes=5), listed=10, individual=3)


def run(incidents, times):
    window, kinds = None, []
    for incident, at in zip(incidents, times):
        p = place(window, destination="teams:ops", cause="c", incident_id=incident, now=at, policy=POLICY)
        window = p.window
        kinds.append(p.kind)
    return kinds


@pytest.mark.parametrize(
    "incidents,minutes,kinds",
    [
        (["a"], [0], [INCIDENT]),
        (["a", "a", "a", "a"], [0, 1, 2, 3], [INCIDENT] * 4),  # one incident's follow-ups are never digested
        (["a", "b", "c", "d", "e"], [0] * 5, [INCIDENT, INCIDENT, INCIDENT, DIGEST, DIGEST]),
        (["a", "b", "c", "d", "a"], [0] * 5, [INCIDENT, INCIDENT, INCIDENT, DIGEST, INCIDENT]),
        (["a", "b", "c", "d", "e"], [0, 0, 0, 0, 6], [INCIDENT, INCIDENT, INCIDENT, DIGEST, INCIDENT]),  # new window
    ],
)
def test_the_digest_rule(incidents, minutes, kinds):
    assert run(incidents, [T0 + timedelta(minutes=m) for m in minutes]) == kinds


def test_storm_notices_are_never_folded():
    window = None
    for i in range(5):
        window = place(window, destination="d", cause="c", incident_id=f"i{i}", now=T0, policy=POLICY).window
    assert place(window, destination="d", cause="c", incident_id="storm", now=T0, policy=POLICY, force_individual=True).kind == INCIDENT


@pytest.mark.parametrize(
    "a,b,same",
    [
        (dict(), dict(resource_id=vm("other")), True),  # other VM, same cause
        (dict(), dict(location="eastus"), False),
        (dict(), dict(signal_name="VirtualMachineHostCrashed"), False),
        (dict(), dict(resource_id=vm(sub="99999999-0000-0000-0000-000000000000")), False),
    ],
)
def test_a_cause_is_subscription_region_and_signal(a, b, same):
    assert (cause_of(notice(**a)) == cause_of(notice(**b))) == same
