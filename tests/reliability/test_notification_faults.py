"""The storm with people told: ARM failing on every route, a remediation that fails, and the Teams
webhook and the Graph mailbox failing too (429 with Retry-After, 5xx, a 200 whose body is an
error, a 503 after Graph accepted the mail). Every failure reaches a person: the failed
remediation as a Teams card and an email naming its incident, every message sent in the end,
none twice, and every channel failure recorded on its message in the outbox."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.conftest import accepted_writes

from .storm import KINDS, RETRY_AFTER, ROUTES, settle_and_account, storm_through

TEAMS_FAULTS = ("429", "500", "502", "503", "200-error")
GRAPH_FAULTS = ("429", "500", "503", "504", "503-after-accepting")
FAILING_VM = "vm-accelnet"  # its redeploy is accepted, then the operation fails


def send_everything(notifier, hours: int = 24) -> None:
    """What the timer's flushes do over a day, without waiting for it: each flush at the moment
    the next message is due (the backoff between attempts is tens of seconds to an hour)."""
    now = datetime.now(UTC)
    until = now + timedelta(hours=hours)
    while now < until:
        summary = notifier.flush(now)
        assert not summary.errors, summary.errors
        if summary.next_due is None:
            return
        now = max(summary.next_due, now + timedelta(seconds=1))


def test_a_storm_under_arm_teams_and_graph_faults_tells_a_person_of_every_failure(told, sim, ledger):
    pipeline, session, notifications = told
    notifier = notifications.notifier
    for index, (method, path) in enumerate(ROUTES.values()):
        sim.faults.add(method=method, path=path, kind=KINDS[index % len(KINDS)], times=1, retry_after=RETRY_AFTER, delay=0.2)
    sim.faults.add(method="POST", path=rf"/{FAILING_VM}/redeploy$", kind="fail-operation", times=None, message="Allocation failed")
    for kind in TEAMS_FAULTS:
        session.teams.fail(kind, retry_after=RETRY_AFTER if kind == "429" else None)
    for kind in GRAPH_FAULTS:
        session.mailbox.fail(kind, retry_after=1 if kind == "429" else None)

    storm_through(pipeline)
    report = settle_and_account(pipeline, sim, ledger)  # nothing lost, no ARM write twice
    assert not report["open"], report["open"]
    send_everything(notifier)

    # The failed remediation is in the ledger, and told to a person on both channels.
    (failed,) = [o for o in ledger.operations() if o["state"] == "failed"]
    assert failed["resource_id"].endswith(f"/{FAILING_VM}") and "Allocation failed" in failed["message"]
    incident = failed["incident_id"]
    cards = [json.dumps(card) for card in session.teams.received("ops")]
    mails = [m["message"] for m in session.mailbox.sent]
    assert any(incident in card and "Allocation failed" in card for card in cards), "no Teams card tells of the failure"
    told_by_mail = [m for m in mails if incident in m["subject"]]
    assert any("Allocation failed" in json.dumps(m) for m in told_by_mail), "no email tells of the failure"

    # Every fault was met: the ARM ones, and each Teams and Graph failure answered one attempt.
    assert all(f.hits for f in sim.faults), [(f.path, f.kind) for f in sim.faults if not f.hits]
    posts = [r.status for r in sim.requests if "/workflows/" in r.path]
    assert len([s for s in posts if not 200 <= s < 300]) == len(TEAMS_FAULTS) - 1, posts  # the 200-error is a 200
    assert session.mailbox.attempts == len(mails) + len(GRAPH_FAULTS) - 1  # the 503 after accepting is a sent mail

    # Every message went out in the end, once each; every channel failure is on its message.
    messages = notifier.store.messages()
    assert messages and Counter(m.state for m in messages) == {"sent": len(messages)}, Counter(m.state for m in messages)
    by_channel = Counter(m.channel for m in messages)
    assert len(cards) == by_channel["teams"], "a card posted twice, or one never posted"
    ids = [m["internetMessageId"] for m in mails]
    assert len(ids) == len(set(ids)) == by_channel["email"], "an email sent twice, or one never sent"
    retried = [m for m in messages if m.attempts > 1]
    assert len(retried) >= len(TEAMS_FAULTS) - 1, [(m.channel, m.attempts) for m in messages]
    assert all(m.last_error for m in retried), "a retried message does not say what failed"
    assert session.mailbox.lookups >= 1, "the email Graph accepted before its 503 was looked up, not sent again"
    assert len(accepted_writes(sim)) == 3, "the two remediations that succeeded and the one that failed, one write each"
