"""Approve mode end to end against the simulated Azure, with the real SDKs over HTTPS: an
awaiting-approval decision, an approval requested, a person's decision, one write or none,
the operation followed by the tick; and no token or secret in logs or ledger rows."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest

from approvals import LINK, Approver, TokenRefusedError, settle, settle_due
from intake.deliveries import parse_delivery
from tests import builders as b
from tests.approvals.conftest import SECRET, token_of, with_approvals
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes, tick_until_done

DEGRADED_VM = b.vm_id("vm-degraded-hw", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
ANA = Approver("ana@contoso.com", "0f1e2d3c-4b5a-4697-8899-aabbccddeeff", LINK)


def waiting_for_a_person(pipeline):
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))
    assert (outcome.action, outcome.status) == ("redeploy", "awaiting-approval")
    return outcome




def test_approved_it_is_verified_again_started_once_and_followed_to_success(acting, sim, ledger):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting = waiting_for_a_person(pipeline)
    (record,) = service.pending()
    assert (record.incident_id, record.action, record.resource_id) == (waiting.incident_id, "redeploy", DEGRADED_VM)
    assert record.signal_id is not None and "verified:" in record.reason
    assert not accepted_writes(sim)

    outcome = settle(pipeline, service.decide(token_of(service.pending_of(record).approve_url), by=ANA))
    assert (outcome.status, outcome.rule, outcome.incident_id) == ("started", "approval", waiting.incident_id)
    said = r"approved by ana@contoso\.com \(object id 0f1e2d3c-4b5a-4697-8899-aabbccddeeff\) at \d\d:\d\d UTC from the approval link; verified: "
    assert re.match(said, outcome.reason) and "(evidence: " in outcome.reason
    assert len(accepted_writes(sim)) == 1 == len(accepted_writes(sim, "/virtualMachines/vm-degraded-hw/redeploy"))

    (ended,) = tick_until_done(pipeline)
    assert (ended.status, ended.incident_id) == ("succeeded", waiting.incident_id)
    assert len(accepted_writes(sim)) == 1
    assert [(r["rule"], r["status"]) for r in ledger.history()] == [
        ("degraded-hardware", "awaiting-approval"), ("approval", "started"), ("tick", "succeeded"),
    ]
    assert {r["kind"] for r in ledger.history()} == {"annotation"}  # every row joined to its signal
    row = ledger.approval(record.id)
    assert (row["state"], row["outcome_status"]) == ("consumed", "started")
    assert (row["decided_by"], row["decided_by_id"], row["decided_via"]) == ("ana@contoso.com", ANA.object_id, "link")


def test_approved_after_the_vm_healed_nothing_is_written(acting, sim, ledger):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting_for_a_person(pipeline)
    vm = sim.fleet.vm("vm-degraded-hw")
    vm.availability_state, vm.annotation = "Available", None  # the platform healed it meanwhile
    (record,) = service.pending()
    outcome = settle(pipeline, service.decide_by_id(record.id, "approve", by="ana"))
    assert outcome.status == "skipped" and "already healthy" in outcome.reason
    assert not accepted_writes(sim) and not ledger.operations()
    assert ledger.history()[-1]["status"] == "skipped"


def test_rejected_nothing_is_written_and_the_audit_trail_says_who(acting, sim, ledger):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting_for_a_person(pipeline)
    (record,) = service.pending()
    outcome = settle(pipeline, service.decide(token_of(service.pending_of(record).reject_url), by="ben@contoso.com"))
    said = r"rejected by ben@contoso\.com at \d\d:\d\d UTC from the approval link$"
    assert outcome.status == "skipped" and re.match(said, outcome.reason)
    assert not accepted_writes(sim) and not ledger.operations()
    assert ledger.history()[-1]["reason"] == outcome.reason


def test_a_second_settle_of_one_approval_does_not_act_again(acting, sim):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting_for_a_person(pipeline)
    (record,) = service.pending()
    decided = service.decide_by_id(record.id, "approve", by="ana")
    assert settle(pipeline, decided).status == "started"
    assert settle(pipeline, decided).status == "duplicate"  # a second worker, a retried request
    assert settle_due(pipeline, service) == []
    assert len(accepted_writes(sim)) == 1


def test_an_approval_a_stopped_worker_left_is_carried_out_by_the_tick(acting, sim):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting_for_a_person(pipeline)
    (record,) = service.pending()
    decided = service.decide_by_id(record.id, "approve", by="ana")  # ... and the worker stopped here
    assert settle_due(pipeline, service) == [], "a worker still finishing its own request is left alone"
    (outcome,) = settle_due(pipeline, service, now=decided.record.decided_at + timedelta(minutes=1))
    assert outcome.status == "started" and len(accepted_writes(sim)) == 1


@pytest.fixture
def told(sim, ledger):
    """Approve mode telling the simulated Teams webhook (the real channel over HTTPS)."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from responder.azure_session import AzureSession
    from wiring import build_pipeline, notifications_of, notifier_from_settings

    session = AzureSession("sim", None, sim)
    # Told at once: these tests follow each step to its message; the hold has tests in tests/notify.
    env = {**session.plug_notifications(), "RESPONDER_NOTIFY_HOLD": "0"}
    settings = Settings(mode="approve", azure="sim", approval_secret=SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    bare = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    notifier = notifier_from_settings(settings.with_notify(env), bare.engine.policy, ledger, bare.clock, credential=LocalToken())
    pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=notifier)
    return pipeline, session, notifications_of(pipeline)


def test_expired_it_is_skipped_and_a_person_is_told(told, sim, ledger):
    pipeline, session, notifications = told
    service = with_approvals(pipeline)
    waiting = waiting_for_a_person(pipeline)
    (record,) = service.pending()
    assert settle_due(pipeline, service) == []  # not yet
    (outcome,) = settle_due(pipeline, service, now=record.expires_at)
    assert (outcome.status, outcome.incident_id) == ("skipped", waiting.incident_id)
    assert outcome.reason == f"approval expired at {record.expires_at.isoformat()}; a person is told"
    assert settle_due(pipeline, service, now=record.expires_at) == []  # once
    notifications.drain(1.0)
    assert any("Approval expired: nothing was done" in json.dumps(card) for card in session.teams.received("ops"))
    assert not accepted_writes(sim) and ledger.approval(record.id)["state"] == "expired"


def test_no_token_or_secret_in_logs_or_ledger_rows(acting, sim, ledger, caplog):
    pipeline = acting("approve", approval_secret=SECRET)
    with caplog.at_level(logging.DEBUG):
        service = with_approvals(pipeline)
        waiting_for_a_person(pipeline)
        (record,) = service.pending()
        pending = service.pending_of(record)
        service.view(token_of(pending.approve_url))
        for bad in (token_of(pending.approve_url)[:-4] + "AAAA", "garbage"):
            with pytest.raises(TokenRefusedError):
                service.decide(bad, by="mallory")
        settle(pipeline, service.decide(token_of(pending.approve_url), by="ana"))
        tick_until_done(pipeline)
    tokens = {token_of(pending.approve_url), token_of(pending.reject_url)}
    secrets = tokens | {SECRET}
    logged = [r.getMessage() + json.dumps(getattr(r, "responder", {}), default=str) for r in caplog.records]
    assert logged and not [line for line in logged for s in secrets if s in line]
    assert any(record.id in line for line in logged)  # the approval is named by its id
    tables = [r[0] for r in ledger._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    stored = [json.dumps([list(row) for row in ledger._db.execute(f"SELECT * FROM {t}")], default=str) for t in tables]
    assert "approvals" in tables and not [t for t, text in zip(tables, stored, strict=False) for s in secrets if s in text]
    for signature in {t.split(".")[1] for t in tokens}:  # nor a token's signature alone
        assert not [t for t, text in zip(tables, stored, strict=False) if signature in text]


def again(pipeline):
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))  # a new event id
    return outcome


def test_after_a_rejection_the_incident_does_not_ask_again(acting, sim, ledger):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    waiting_for_a_person(pipeline)
    (record,) = service.pending()
    settle(pipeline, service.decide_by_id(record.id, "reject", by="ben"))
    outcome = again(pipeline)
    assert outcome.status == "duplicate"
    assert re.fullmatch(r"incident INC-\w+ already has redeploy rejected; one action per incident", outcome.reason), outcome.reason
    assert service.pending() == [] and not accepted_writes(sim)


@pytest.mark.parametrize("how", ["healed", "expired"])
def test_when_nothing_was_done_a_later_signal_may_ask_again(acting, sim, ledger, how):
    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    first = waiting_for_a_person(pipeline)
    (record,) = service.pending()
    vm = sim.fleet.vm("vm-degraded-hw")
    if how == "healed":
        state = (vm.availability_state, vm.annotation)
        vm.availability_state, vm.annotation = "Available", None
        assert settle(pipeline, service.decide_by_id(record.id, "approve", by="ana")).status == "skipped"
        vm.availability_state, vm.annotation = state  # ... and the host degrades again
    else:
        (expired,) = settle_due(pipeline, service, now=record.expires_at)
        assert expired.status == "skipped"
    outcome = again(pipeline)
    assert (outcome.status, outcome.incident_id) == ("awaiting-approval", first.incident_id)
    (second,) = service.pending()
    assert second.id != record.id and not accepted_writes(sim)
