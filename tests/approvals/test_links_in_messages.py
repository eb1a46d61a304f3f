"""After the wiring: the first message of an incident waiting for a person carries both links."""

from __future__ import annotations

import json

from tests.approvals.conftest import SECRET
from tests.approvals.test_end_to_end import told, waiting_for_a_person  # noqa: F401 - the fixture


def test_the_card_and_the_email_carry_approve_and_reject(told, sim):
    pipeline, session, notifications = told
    waiting_for_a_person(pipeline)
    notifications.drain(1.0)
    from approvals import approvals_of

    (record,) = approvals_of(pipeline).pending()
    pending = approvals_of(pipeline).pending_of(record)
    cards = json.dumps(session.teams.received("ops"))
    mails = json.dumps(session.mailbox.sent)
    assert pending.approve_url in cards and pending.reject_url in cards
    assert pending.approve_url in mails and SECRET not in cards + mails
