"""Sending through the simulated Teams webhook and Graph mailbox, over real HTTPS."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from ledger.sqlite.outbox import SqliteOutbox
from notify.card_schema import card_problems
from notify.links import sign, stand_ins

from .conftest import APPROVAL, T0, follow_up, notice, notifier_from, signed_link, vm

# msgraph's generated request builders warn about their own deprecated classes on import.
pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]

TEAMS = ("ops-teams",)
EMAIL = ("ops-email",)


def test_a_card_reaches_teams_as_recorded(make_notifier, azure, store):
    n = make_notifier()
    n.sign_links_with(signed_link)
    first = notice(routes=TEAMS)
    n.submit(first)
    n.submit(follow_up(first, "awaiting-approval", "awaiting-approval", approval_id=APPROVAL))
    summary = n.flush(T0)
    assert summary.sent == 1 and summary.errors == []
    (posted,) = azure.hooks.received("ops")
    (message,) = store.messages()
    # What was recorded is what was posted, but for the approval links, signed only as it went out.
    assert posted == sign(message.payload["body"], signed_link) != message.payload["body"]
    assert card_problems(posted) == []
    actions = posted["attachments"][0]["content"]["actions"]
    assert [a["title"] for a in actions] == ["Approve", "Reject", "Open in Azure portal"]
    assert [a["url"] for a in actions[:2]] == [signed_link(APPROVAL, "approve"), signed_link(APPROVAL, "reject")]
    recorded = json.dumps(message.payload) + " ".join(store.notices(message.id))
    assert all(stand_in in recorded for stand_in in stand_ins(APPROVAL))
    assert signed_link(APPROVAL, "approve").rsplit("/", 1)[1] not in recorded


@pytest.mark.parametrize("signer,why", [
    (None, "cannot sign them"),
    (lambda approval_id, choice: (_ for _ in ()).throw(LookupError(f"no approval {approval_id}")), "no approval APR-"),
])
def test_approval_links_that_cannot_be_signed_fail_the_message_visibly(make_notifier, azure, store, signer, why):
    n = make_notifier()
    if signer is not None:
        n.sign_links_with(signer)
    n.submit(notice(routes=TEAMS, event="awaiting-approval", status="awaiting-approval", approval_id=APPROVAL))
    summary = n.flush(T0)
    assert (summary.sent, summary.failed) == (0, 1) and azure.hooks.received("ops") == []
    (failed,) = store.messages("failed")
    assert "ApprovalLinkError" in failed.last_error and why in failed.last_error


@pytest.mark.parametrize(
    "kind,retry_after,wait,state",
    [
        ("429", 7, 7, "sent"),  # honours Retry-After
        ("200-error", None, 5, "sent"),  # a 200 that says "HTTP error 429"
        ("503", None, 36, "sent"),  # backoff: 30 s, spread by up to 20%
        ("502", 2, 2, "sent"),
        ("400", None, 0, "failed"),  # refused for good: not retried, kept visible
        ("404", None, 0, "failed"),
        ("302", None, 0, "failed"),  # a moved URL: not posted, not "accepted"
    ],
)
def test_teams_failures_are_retried_or_kept(make_notifier, azure, store, kind, retry_after, wait, state):
    n = make_notifier()
    azure.hooks.fail(kind, retry_after=retry_after)
    n.submit(notice(routes=TEAMS))
    first = n.flush(T0)
    assert first.sent == 0 and first.errors == []
    if state == "sent":
        assert first.retrying == 1
        if wait > 1:
            assert n.flush(T0 + timedelta(seconds=wait * 0.7)).sent == 0  # not before its time
        assert n.flush(T0 + timedelta(seconds=wait)).sent == 1
        assert len(azure.hooks.received("ops")) == 1
    else:
        assert first.failed == 1 and azure.hooks.received("ops") == []
    (message,) = store.messages()
    assert message.state == state and message.last_error


def test_after_the_last_attempt_a_message_stays_failed_and_visible(make_notifier, azure, store):
    n = make_notifier(RESPONDER_NOTIFY_MAX_ATTEMPTS="3")
    azure.hooks.fail("503", times=100)
    n.submit(notice(routes=TEAMS))
    now = T0
    for _ in range(5):
        n.flush(now)
        now += timedelta(hours=2)
    (message,) = store.messages()
    assert (message.state, message.attempts) == ("failed", 3)
    assert "503" in message.last_error
    assert store.notices(message.id)  # the notice itself is kept
    assert store.counts()["failed"] == 1


def test_email_reaches_the_mailbox_through_graph(make_notifier, azure, store):
    n = make_notifier()
    first = notice(routes=("owner-email",), owner_emails=("owner@contoso.com",))
    n.submit(first)
    assert n.flush(T0).sent == 1
    n.submit(follow_up(first, "succeeded", "succeeded"))
    assert n.flush(T0 + timedelta(minutes=1)).sent == 1
    got = azure.mail.received("owner@contoso.com")
    assert [m["subject"] for m in got] == ["[INC-3f2a9c1b] vm-web-01 (rg-web)"] * 2
    assert got[0]["body"]["contentType"] == "html" and "vm-web-01" in got[0]["body"]["content"]
    assert got[0]["attachments"][0]["name"] == "INC-3f2a9c1b.txt"
    assert got[0]["internetMessageId"] != got[1]["internetMessageId"]
    assert {"name": "X-Responder-Incident", "value": "INC-3f2a9c1b"} in got[0]["internetMessageHeaders"]
    assert azure.mail.sent[0]["authorization"].startswith("Bearer ")


@pytest.mark.parametrize(
    "faults,deny_lookup,received,state,lookups",
    [
        ([("429", 3)], False, 1, "sent", 0),  # refused: sent again after Retry-After
        ([("503-after-accepting", 1)], False, 1, "sent", 1),  # accepted then 503: found in Sent Items, not resent
        ([("503", 1)], False, 1, "sent", 1),  # refused with 503: not in Sent Items, so sent again
        ([("504", 1), ("503-after-accepting", 1)], False, 1, "sent", 2),
        ([("503-after-accepting", 1)], True, 1, "failed", 1),  # cannot ask: not resent, kept as unconfirmed
        ([("403", 1)], False, 0, "failed", 0),
    ],
)
def test_no_duplicate_email_after_an_answer_that_hides_an_accept(make_notifier, azure, store, faults, deny_lookup, received, state, lookups):
    n = make_notifier()
    azure.mail.deny_lookup = deny_lookup
    for kind, retry_after in faults:
        azure.mail.fail(kind, retry_after=retry_after)
    n.submit(notice(routes=EMAIL))
    n.flush(T0)
    assert azure.mail.attempts == 1  # the SDK's own retry is off for sendMail
    now = T0
    for _ in range(4):
        now += timedelta(minutes=2)
        n.flush(now)
    assert len(azure.mail.received("ops@contoso.com")) == received
    (message,) = store.messages()
    assert message.state == state
    assert azure.mail.lookups == lookups
    if state == "failed" and deny_lookup:
        assert "unconfirmed" in message.last_error


def test_rate_limits_per_webhook_and_per_mailbox(make_notifier, azure, store):
    n = make_notifier(RESPONDER_NOTIFY_DIGEST_AFTER="1000")  # no digests: 40 separate incidents
    n.submit_many([notice(incident_id=f"INC-{i:04d}", resource_id=vm(f"vm-{i}"), routes=("ops-teams", "ops-email")) for i in range(40)])
    first = n.flush(T0)
    assert (len(azure.hooks.received("ops")), len(azure.mail.sent)) == (4, 30)
    assert first.deferred > 0 and first.next_due is not None
    for second in range(1, 10):
        n.flush(T0 + timedelta(seconds=second))
    assert (len(azure.hooks.received("ops")), len(azure.mail.sent)) == (40, 30)  # 4 a second; mailbox still full
    n.flush(T0 + timedelta(seconds=61))
    assert len(azure.mail.sent) == 40


@pytest.mark.parametrize("tripped,after,most", [
    (False, "3", 30),  # a flood the breaker never called a storm: 3 told one by one + 1 digest per window
    (True, "10", 8),  # the breaker tripped first: one storm message, then one digest per window
])
def test_ten_thousand_notices_send_a_few_messages(make_notifier, azure, store, ticker, tripped, after, most):
    n = make_notifier(RESPONDER_NOTIFY_DIGEST_AFTER=after)
    braked = ("storm breaker: holding since 03:00Z (12 VMs turned unhealthy within 15 min)",) if tripped else ()
    notices = [  # once the breaker has tripped, the pipeline's notices of the scope say it held them
        notice(incident_id=f"INC-{i:08x}", resource_id=vm(f"vm-{i:05d}", rg=f"rg-{i % 7}"), routes=("ops-teams", "ops-email"),
               brakes=braked)
        for i in range(10_000)
    ]
    if tripped:
        notices.insert(0, notice(incident_id="INC-storm", event="storm", status="skipped", routes=("ops-teams", "ops-email")))
    for start in range(0, len(notices), 1000):  # ten deliveries over 20 minutes
        n.submit_many(notices[start : start + 1000])
        n.flush(ticker.now)
        ticker.advance(minutes=2)
    for _ in range(5):
        n.flush(ticker.advance(minutes=5))
    posts, mails = azure.hooks.received("ops"), azure.mail.sent
    print(f"{len(notices):,} notices -> {len(posts)} Teams posts, {len(mails)} emails")
    assert 0 < len(posts) <= most and 0 < len(mails) <= most
    counts = store.counts()
    assert counts["pending"] == 0 and counts["failed"] == 0
    digests = [p for p in posts if "This digest covers" in json.dumps(p)]
    assert digests and all(("Automation is paused" in json.dumps(p)) == tripped for p in digests)
    for p in digests:  # each lists at most 10 resources (links to the portal) and counts the rest
        assert json.dumps(p).count("portal.azure.com/#@/resource") <= 10
        assert "more resources not listed" in json.dumps(p) and "This digest covers" in json.dumps(p)
    # every incident is accounted for: told on its own, or counted in a digest
    told = sum(1 for p in posts if "This digest covers" not in json.dumps(p))
    counted = 0
    for p in digests:
        counted += int(json.dumps(p).split("This digest covers ")[1].split(" incidents")[0])
    assert told + counted == len(notices)  # the storm's own incident is told by its storm message


@pytest.mark.parametrize("tripped_after,messages", [
    (timedelta(seconds=30), 2),  # within the hold: the three incidents fold into the digest; storm + digest
    (timedelta(seconds=90), 5),  # after it: they went out one by one; three + storm + digest
])
def test_a_storm_folds_the_incidents_still_held_when_it_trips(make_notifier, azure, store, ticker, tripped_after, messages):
    n = make_notifier(RESPONDER_NOTIFY_HOLD="60")
    first = [notice(incident_id=f"INC-{i}", resource_id=vm(f"vm-{i}"), routes=TEAMS) for i in range(3)]
    n.submit_many(first)
    assert n.flush(ticker.now).sent == 0  # held
    n.flush(ticker.advance(seconds=tripped_after.total_seconds()))
    n.submit(notice(incident_id="INC-storm", resource_id=vm("vm-9"), event="storm", status="skipped", routes=TEAMS))
    n.submit(follow_up(first[0], "succeeded", "succeeded"))  # a follow-up in a storm goes into the digest
    n.submit(notice(incident_id="INC-5", resource_id=vm("vm-5"), status="skipped", routes=TEAMS,
                    brakes=("storm breaker: 12 VMs of the subscription turned unhealthy within 15 min",)))
    assert n.flush(ticker.now).sent >= 1  # the storm message goes at once
    n.flush(ticker.advance(minutes=6))
    posts = azure.hooks.received("ops")
    assert len(posts) == messages and store.counts()["pending"] == 0
    (digest,) = [json.dumps(p) for p in posts if "This digest covers" in json.dumps(p)]
    assert "Automation is paused" in digest
    assert digest.count("12 VMs of the subscription turned unhealthy") == 1  # the breaker's reason, said once
    folded = 4 if tripped_after < timedelta(seconds=60) else 2  # the follow-up's and INC-5 (the storm's own is its message)
    assert f"This digest covers {folded} incidents" in digest


def test_routine_events_are_recorded_not_sent_unless_policy_asks(make_notifier, azure, store):
    n = make_notifier()
    assert n.submit(notice(routine=True, routes=TEAMS)).recorded == "routine"
    n.flush(T0)
    assert azure.hooks.received("ops") == [] and store.counts()["notices-routine"] == 1
    asked = make_notifier(RESPONDER_NOTIFY_ROUTINE="true")
    asked.submit(notice(routine=True, routes=TEAMS, incident_id="INC-2"))
    asked.flush(T0)
    assert len(azure.hooks.received("ops")) == 1


def test_an_outage_never_reaches_the_caller(tmp_path, ticker):
    settings = {
        "RESPONDER_TEAMS_WEBHOOKS": json.dumps({"ops": "https://127.0.0.1:9/hook"}),  # nothing listens there
        "RESPONDER_MAIL_SENDER": "r@contoso.com",
        "RESPONDER_MAIL_TO": "ops@contoso.com",
        "RESPONDER_GRAPH_URL": "https://127.0.0.1:9/v1.0",
    }
    from pipeline.azure import LocalToken

    store = SqliteOutbox(str(tmp_path / "l.sqlite"))
    n = notifier_from({**settings, "RESPONDER_NOTIFY_HOLD": "0"}, store, ticker, credential=LocalToken())
    assert n.submit(notice()).error is None
    summary = n.flush(T0)
    assert summary.errors == [] and summary.retrying == 2 and summary.sent == 0
    n.close()
    store.close()  # now even the outbox is gone
    result = n.submit(notice(incident_id="INC-2"))
    assert result.error and "OutboxError" in result.error
    assert n.flush(T0).errors


def test_many_workers_send_each_message_once(make_notifier, azure, tmp_path):
    path = str(tmp_path / "shared.sqlite")
    workers = [make_notifier(SqliteOutbox(path), RESPONDER_NOTIFY_DIGEST_AFTER="1000") for _ in range(4)]
    workers[0].submit_many([notice(incident_id=f"INC-{i}", resource_id=vm(f"vm-{i}"), routes=TEAMS) for i in range(12)])
    barrier = threading.Barrier(len(workers))

    def work(n):
        barrier.wait()
        for second in range(4):
            n.flush(T0 + timedelta(seconds=second))

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posts = azure.hooks.received("ops")
    titles = [p["attachments"][0]["content"]["body"][0]["items"][0]["text"] for p in posts]
    assert len(titles) == 12 == len(set(titles))


def test_a_worker_that_died_mid_send_is_taken_over(make_notifier, azure, store):
    n = make_notifier()
    n.submit(notice(routes=TEAMS))
    (message,) = store.due(T0)
    store.claim(message.id, T0, T0 + timedelta(minutes=2))  # claimed, then the worker vanished
    assert n.flush(T0 + timedelta(minutes=1)).sent == 0  # lease still running
    assert n.flush(T0 + timedelta(minutes=3)).sent == 1
    assert len(azure.hooks.received("ops")) == 1


def _broken_batch():
    yield notice()
    raise RuntimeError("the batch broke while being read")


@pytest.mark.parametrize(
    "bad",
    [
        lambda n: n.submit("not a notice"),
        lambda n: n.submit(notice(occurred="yesterday")),
        lambda n: n.submit_many(_broken_batch()),
    ],
)
def test_submit_never_raises_whatever_it_is_given(make_notifier, bad):
    result = bad(make_notifier())
    results = result if isinstance(result, list) else [result]
    assert results and all(r.error for r in results)


def test_a_broken_clock_does_not_reach_the_caller(store):
    def clock():
        raise RuntimeError("no time")

    n = notifier_from({"RESPONDER_MAIL_SENDER": "r@contoso.com", "RESPONDER_MAIL_TO": "o@contoso.com"}, store, clock, channels={})
    assert "no time" in n.submit(notice()).error
    assert "no time" in n.flush().errors[0]


def test_owner_emails_are_digested_per_owner(make_notifier, azure, store, ticker):
    n = make_notifier(RESPONDER_NOTIFY_DIGEST_AFTER="1")
    owners = ["a@contoso.com", "b@contoso.com"]
    n.submit_many(
        [notice(incident_id=f"INC-{i}", resource_id=vm(f"vm-{i}"), routes=("owner-email",), owner_emails=(owners[i % 2],)) for i in range(10)]
    )
    n.flush(T0)
    n.flush(ticker.advance(minutes=6))
    for owner in owners:  # each owner: the first incident alone, then one digest of their other four
        got = azure.mail.received(owner)
        assert len(got) == 2
        assert got[1]["subject"].startswith("[Digest] VMs of subscription") and "This digest covers 4 incidents" in got[1]["body"]["content"]
        assert all([r["emailAddress"]["address"] for r in m["toRecipients"]] == [owner] for m in got)


def test_email_still_goes_out_if_graph_refuses_our_message_id(make_notifier, azure, store):
    n = make_notifier()
    azure.mail.refuse_message_id = True
    n.submit(notice(routes=EMAIL))
    summary = n.flush(T0)
    assert summary.sent == 1 and "without internetMessageId" in summary.lines[0]
    (got,) = azure.mail.received("ops@contoso.com")
    assert got["internetMessageId"].endswith("@simulated.graph>")  # Exchange made its own
    # an uncertain answer can no longer be checked: kept as unconfirmed rather than sent twice
    azure.mail.fail("503-after-accepting")
    n.submit(notice(routes=EMAIL, incident_id="INC-2"))
    n.flush(T0 + timedelta(minutes=1))
    n.flush(T0 + timedelta(minutes=5))
    assert len(azure.mail.received("ops@contoso.com")) == 2
    assert [m.state for m in store.messages()] == ["sent", "failed"]


@pytest.mark.parametrize("when_unsure, cards, state", [("resend", 1, "sent"), ("keep", 0, "failed")])
def test_a_teams_post_whose_answer_was_lost_is_posted_again_or_kept_as_the_setting_says(make_notifier, azure, store, when_unsure, cards, state):
    n = make_notifier(RESPONDER_TEAMS_WHEN_UNSURE=when_unsure)
    azure.faults.add(method="POST", path=r"/workflows/ops/", kind="drop", times=1)
    n.submit(notice(routes=TEAMS))
    assert n.flush(T0).retrying == 1  # no answer: in doubt, tried again after the uncertain wait
    n.flush(T0 + timedelta(minutes=5))
    (message,) = store.messages()
    assert (message.state, len(azure.hooks.received("ops"))) == (state, cards)
    if state == "failed":
        assert "not sent again to avoid a duplicate" in message.last_error, message.last_error


def test_an_unknown_teams_when_unsure_setting_is_refused_by_name(azure, store, ticker):
    from notify.errors import NotifyConfigError

    from .conftest import sim_settings

    with pytest.raises(NotifyConfigError, match="RESPONDER_TEAMS_WHEN_UNSURE is 'never'"):
        notifier_from(sim_settings(azure, RESPONDER_TEAMS_WHEN_UNSURE="never"), store, ticker)
