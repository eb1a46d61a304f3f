"""After the wiring: the first message of an incident waiting for a person carries both links,
signed as it is sent; the outbox keeps only the approval's id, so a notifier started after a
restart signs the same working links from the ledger."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from approvals import approvals_of, settle
from tests.approvals.conftest import SECRET, token_of
from tests.approvals.test_end_to_end import told, waiting_for_a_person  # noqa: F401 - the fixture
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes


def test_the_card_and_the_email_carry_approve_and_reject(told, sim):
    pipeline, session, notifications = told
    waiting_for_a_person(pipeline)
    notifications.drain(1.0)

    (record,) = approvals_of(pipeline).pending()
    pending = approvals_of(pipeline).pending_of(record)
    cards = json.dumps(session.teams.received("ops"))
    mails = json.dumps(session.mailbox.sent)
    assert pending.approve_url in cards and pending.reject_url in cards
    assert pending.approve_url in mails and SECRET not in cards + mails


def worker(sim, ledger, env):
    """One worker as the wiring builds it: a pipeline and its notifier over the shared ledger."""
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline, notifier_from_settings

    settings = Settings(mode="approve", azure="sim", approval_secret=SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    bare = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    notifier = notifier_from_settings(settings.with_notify(env), bare.engine.policy, ledger, bare.clock, credential=LocalToken())
    return build_pipeline(settings, ledger=ledger, connect=connect, notifier=notifier), notifier


def outbox_text(path) -> str:
    db = sqlite3.connect(path)
    rows = [*db.execute("SELECT payload FROM outbox_messages"), *db.execute("SELECT body FROM outbox_notices")]
    db.close()
    return " ".join(str(value) for (value,) in rows)


def test_a_message_sent_after_a_restart_carries_links_that_approve(sim, approvals_ledger, tmp_path):
    from responder.azure_session import AzureSession

    path = str(tmp_path / "ledger.sqlite")
    session = AzureSession("sim", None, sim)
    # Told at once: these tests follow each step to its message; the hold has tests in tests/notify.
    env = {**session.plug_notifications(), "RESPONDER_NOTIFY_HOLD": "0"}
    # The first worker records and renders the message, but Teams throttles it: it stays in the outbox.
    session.teams.fail("429", times=1, retry_after=30)
    first_ledger = approvals_ledger(path)
    first, first_notifier = worker(sim, first_ledger, env)
    waiting = waiting_for_a_person(first)
    first_notifier.flush()  # the timer's turn: a delivery only records its messages
    assert session.teams.received("ops") == []
    (stored,) = [m for m in first_notifier.store.messages("pending") if m.channel == "teams"]
    assert stored.payload is not None  # rendered at its first attempt, and kept for the retry
    (record,) = approvals_of(first).pending()
    pending = approvals_of(first).pending_of(record)
    kept = outbox_text(path)
    assert record.id in kept and token_of(pending.approve_url) not in kept and token_of(pending.reject_url) not in kept
    first_notifier.close()
    first_ledger.close()

    # A new worker, a new notifier, the same ledger: it sends the stored rendering, signed now.
    ledger = approvals_ledger(path)
    second, notifier = worker(sim, ledger, env)
    summary = notifier.flush(second.clock() + timedelta(seconds=31))
    assert summary.sent == 1 and not summary.failed, summary.lines
    (card,) = session.teams.received("ops")
    links = [a["url"] for a in card["attachments"][0]["content"]["actions"] if a["title"] in ("Approve", "Reject")]
    assert links == [pending.approve_url, pending.reject_url]
    assert token_of(pending.approve_url) not in outbox_text(path)

    service = approvals_of(second)
    outcome = settle(second, service.decide(token_of(links[0]), by="ana@contoso.com"))
    assert (outcome.status, outcome.incident_id) == ("started", waiting.incident_id)
    assert len(accepted_writes(sim, "/virtualMachines/vm-degraded-hw/redeploy")) == 1
    notifier.close()
    ledger.close()
