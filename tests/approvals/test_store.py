"""Pending approvals in the ledger: one per incident and action, decided once, expired by time,
and the time a person has (policy ttl, a signal's deadline)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest

from approvals import (
    AlreadyDecidedError,
    ApprovalConfigError,
    ApprovalNotFoundError,
    ExpiredTokenError,
    deadline_of,
)
from approvals.config import approval_needed, times_from_policy
from tests.approvals.conftest import SECRET, request, token_of


def test_a_request_is_recorded_pending_with_what_will_be_done(service, ledger, clock):
    pending = request(service)
    row = ledger.approval(pending.id)
    assert row["state"] == "pending" and row["action"] == "redeploy" and row["mode"] == "approve"
    assert row["params"] == {"signal_annotation": "AccelnetUnhealthy"} and row["facts"] == {"power_state": "running"}
    assert pending.expires_at == clock.now + timedelta(hours=4)


def test_asking_twice_for_one_incident_gives_the_same_approval(service, ledger):
    first, second = request(service), request(service)
    assert first == second and len(ledger.approvals()) == 1
    other = request(service, incident_id="INC-0000000002")
    assert other.id != first.id


def test_a_decided_approval_makes_room_for_a_new_one(service, ledger):
    first = request(service)
    service.decide(token_of(first.reject_url), by="ana")
    assert request(service).id != first.id


def test_many_workers_deciding_at_once_decide_once(service, ledger):
    pending = request(service)
    tokens = [token_of(pending.approve_url), token_of(pending.reject_url)] * 4
    won, lost, start = [], [], threading.Barrier(len(tokens))

    def click(i, token):
        start.wait()
        try:
            won.append(service.decide(token, by=f"worker-{i}"))
        except AlreadyDecidedError:
            lost.append(i)

    threads = [threading.Thread(target=click, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == len(tokens) - 1
    assert ledger.approval(pending.id)["decided_by"] == won[0].record.decided_by


def test_expire_moves_each_overdue_approval_once(service, ledger, clock):
    soon = request(service, deadline=clock.now + timedelta(hours=1))
    later = request(service, incident_id="INC-0000000002")
    clock.advance(hours=1)
    assert [r.id for r in service.expire()] == [soon.id]
    assert service.expire() == []
    clock.advance(hours=3)
    assert [r.id for r in service.expire()] == [later.id]
    assert {r["state"] for r in ledger.approvals()} == {"expired"}


@pytest.mark.parametrize(
    "deadline_in,expires_in",
    [
        (None, timedelta(hours=4)),  # no deadline: the ttl
        (timedelta(hours=10), timedelta(hours=4)),  # a deadline after the ttl changes nothing
        (timedelta(hours=1), timedelta(minutes=55)),  # the margin before the deadline
        (timedelta(minutes=3), timedelta(minutes=-2)),  # no time left: expired at once, the tick tells a person
    ],
)
def test_a_deadline_shortens_the_expiry(service, clock, deadline_in, expires_in):
    pending = request(service, deadline=clock.now + deadline_in if deadline_in else None)
    assert pending.expires_at == clock.now + expires_in


def test_a_link_past_a_deadline_cannot_approve(service, clock):
    pending = request(service, deadline=clock.now + timedelta(minutes=3))
    with pytest.raises(ExpiredTokenError) as caught:
        service.decide(token_of(pending.approve_url), by="ana")
    assert caught.value.status == 410


@pytest.mark.parametrize(
    "details,found",
    [
        ({}, None),
        ({"deadline": "2026-11-21T08:00:00Z"}, "2026-11-21T08:00:00+00:00"),
        ({"not_before": "2026-11-20T08:20:00+00:00"}, "2026-11-20T08:20:00+00:00"),  # a scheduled event
        ({"window_end": "2026-11-25T00:00:00"}, "2026-11-25T00:00:00+00:00"),  # a self-service window
        ({"not_before": ""}, None),
        ({"deadline": "soon"}, None),
    ],
)
def test_deadline_of_a_signal(details, found):
    from types import SimpleNamespace

    deadline = deadline_of(SimpleNamespace(details=details))
    assert (deadline.isoformat() if deadline else None) == found


@pytest.mark.parametrize(
    "section,ttl,margin,error",
    [
        (None, timedelta(hours=4), timedelta(minutes=5), None),
        ({"ttl": "PT30M"}, timedelta(minutes=30), timedelta(minutes=5), None),
        ({"ttl": "P1D", "deadline_margin": "PT15M"}, timedelta(days=1), timedelta(minutes=15), None),
        ({"ttl": "four hours"}, None, None, "ISO 8601"),
        ({"ttl": "P30D"}, None, None, "between one minute and seven days"),
        ({"tll": "PT4H"}, None, None, "unknown key"),
    ],
)
def test_times_from_the_policy(section, ttl, margin, error):
    if error:
        with pytest.raises(ApprovalConfigError, match=error):
            times_from_policy(section)
    else:
        assert times_from_policy(section) == (ttl, margin)


@pytest.mark.parametrize(
    "override,default,rule_modes,needed",
    [
        ("approve", "observe", (), True),
        ("auto", "approve", ("approve",), False),
        (None, "observe", ("observe", "auto"), False),
        (None, "observe", ("observe", "approve"), True),
        (None, "approve", (), True),
    ],
)
def test_when_approvals_are_needed(override, default, rule_modes, needed):
    from rules import Policy, Rule

    rules = tuple(Rule(name=f"rule-{i}", when={"kind": "annotation"}, action="redeploy", mode=m) for i, m in enumerate(rule_modes))
    policy = Policy(rules=rules, default_mode=default)
    assert approval_needed(override, policy) is needed
    assert policy.waits_for_a_person(override) is needed  # what the wiring asks before importing approvals


def test_approve_mode_refuses_to_build_without_a_secret(ledger, clock):
    from approvals import approvals_for
    from pipeline import Settings
    from rules import load_catalog, load_policy

    policy = load_policy(Settings().policy_path, load_catalog(Settings().catalog_path))
    with pytest.raises(ApprovalConfigError, match="RESPONDER_APPROVAL_SECRET"):
        approvals_for(Settings(mode="approve"), policy, ledger, clock)
    assert approvals_for(Settings(mode="observe"), policy, ledger, clock) is None
    built = approvals_for(Settings.from_env({"RESPONDER_MODE": "approve", "RESPONDER_APPROVAL_SECRET": SECRET,
                                             "RESPONDER_APPROVERS": f"group:{GROUP}", "RESPONDER_APPROVER_SIGN_IN": "true",
                                             "WEBSITE_HOSTNAME": "func-responder.azurewebsites.net"}), policy, ledger, clock)
    assert built.public_url == "https://func-responder.azurewebsites.net"
    assert built.gate.sign_in and built.gate.approvers.groups == {GROUP}


GROUP = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
IN_AZURE = {"website_hostname": "func-responder.azurewebsites.net"}


@pytest.mark.parametrize("changes,words", [
    (IN_AZURE, "needs RESPONDER_APPROVERS and RESPONDER_APPROVER_SIGN_IN"),
    ({**IN_AZURE, "approvers": (f"group:{GROUP}",)}, "needs RESPONDER_APPROVER_SIGN_IN"),
    ({**IN_AZURE, "approver_sign_in": True}, "RESPONDER_APPROVERS names nobody"),
    ({"approver_sign_in": True}, "RESPONDER_APPROVERS names nobody"),
], ids=["azure-without-either", "azure-without-sign-in", "azure-without-approvers", "sign-in-without-approvers"])
def test_approve_mode_refuses_to_start_without_approvers_where_it_must(ledger, clock, changes, words):
    from approvals import approvals_for
    from pipeline import Settings
    from rules import load_catalog, load_policy

    policy = load_policy(Settings().policy_path, load_catalog(Settings().catalog_path))
    with pytest.raises(ApprovalConfigError, match=re.escape(words)):
        approvals_for(Settings(mode="approve", approval_secret=SECRET, **changes), policy, ledger, clock)


def test_locally_approve_mode_runs_without_approvers_as_before(ledger, clock):
    from approvals import approvals_for
    from pipeline import Settings
    from rules import load_catalog, load_policy

    policy = load_policy(Settings().policy_path, load_catalog(Settings().catalog_path))
    built = approvals_for(Settings(mode="approve", approval_secret=SECRET), policy, ledger, clock)
    assert not built.gate.sign_in and not built.gate.approvers


def test_the_command_line_decides_by_id(service, ledger):
    pending = request(service)
    decided = service.decide_by_id(pending.id, "reject", by="ben@command-line")
    assert decided.record.state == "rejected" and decided.record.decided_by == "ben@command-line"
    with pytest.raises(AlreadyDecidedError):
        service.decide_by_id(pending.id, "approve", by="ana")
    with pytest.raises(ApprovalNotFoundError):
        service.decide_by_id("APR-0000000000000000", "approve", by="ana")
