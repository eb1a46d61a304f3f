"""The channels on their own: Teams answers, Retry-After, Graph's retry switched off, the
file writer, and a cheap `import notify`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.sqlite.outbox import SqliteOutbox
from notify.errors import UncertainDeliveryError
from notify.links import sign, stand_in
from notify.retry import parse_retry_after
from notify.teams import looks_like_error

from .conftest import APPROVAL, T0, notice, notifier_from, signed_link

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "body,error",
    [
        ("", False),
        ("1", False),
        ("Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0", True),
        ("Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413", True),
        ('{"status":"accepted"}', False),
    ],
)
def test_teams_bodies_that_are_errors(body, error):
    assert looks_like_error(body) == error


@pytest.mark.parametrize(
    "header,seconds",
    [("7", 7.0), ("0.5", 0.5), (None, None), ("", None), ("soon", None), ("Sun, 22 Nov 2026 03:00:30 GMT", 30.0), ("-3", 0.0)],
)
def test_retry_after(header, seconds):
    assert parse_retry_after(header, now=datetime(2026, 11, 22, 3, 0, tzinfo=UTC)) == seconds


def test_graphs_own_retry_would_send_twice_so_the_channel_turns_it_off(azure):
    """The reason for RetryHandlerOption(max_retries=0): with the SDK's defaults, a 503 that
    Exchange accepted is retried by the SDK and the recipient gets two emails."""
    from notify.graph_mail import GraphMailChannel
    from pipeline.azure import LocalToken

    payload = {"subject": "s", "html": "<p>x</p>", "text": "x", "text_name": "x.txt", "to": ["x@contoso.com"], "internet_message_id": "<a.1@contoso.com>", "headers": {}}
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_http.middleware.options import RetryHandlerOption

    from simulator import graph

    for retry_off, delivered in ((False, 2), (True, 1)):
        azure.mail = graph.install(azure)
        channel = GraphMailChannel("r@contoso.com", credential=LocalToken(), base_url=f"{azure.base_url}/v1.0", verify=azure.ca_bundle)
        if not retry_off:
            # the SDK's retry as it comes (only its base delay zeroed, to keep the test fast)
            channel._no_retry = lambda: RequestConfiguration(options=[RetryHandlerOption(delay=0)])
        azure.mail.fail("503-after-accepting", retry_after=0)
        if retry_off:
            with pytest.raises(UncertainDeliveryError):
                channel.send("", payload)
        else:
            channel.send("", payload)  # looks fine to the caller...
        assert len(azure.mail.sent) == delivered  # ...but the recipient got it twice
        channel.close()


def test_the_outbox_dir_holds_cards_as_posted_and_emails_as_html(tmp_path):
    store = SqliteOutbox(":memory:")
    n = notifier_from({"RESPONDER_NOTIFY_HOLD": "0"}, store, lambda: T0, outbox_dir=str(tmp_path / "out"))
    n.sign_links_with(signed_link)
    n.submit(notice(approval_id=APPROVAL, event="awaiting-approval", status="awaiting-approval"))
    summary = n.flush(T0)
    assert summary.sent == 2 and len(summary.lines) == 2
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["00001-teams-INC-3f2a9c1b.json", "00002-email-INC-3f2a9c1b.html", "00002-email-INC-3f2a9c1b.txt"]
    from notify.teams import encode

    teams_message = next(m for m in store.messages() if m.channel == "teams")
    # Written as it would be posted: with the signed links the outbox itself never holds.
    assert (tmp_path / "out" / files[0]).read_bytes() == encode(sign(teams_message.payload["body"], signed_link))
    assert stand_in(APPROVAL, "approve") in json.dumps(teams_message.payload)
    assert signed_link(APPROVAL, "approve") in (tmp_path / "out" / files[1]).read_text()
    assert all("[INC-3f2a9c1b]" in line for line in summary.lines)


def test_drain_sends_what_becomes_due_within_its_budget(make_notifier, azure, ticker):
    n = make_notifier(RESPONDER_NOTIFY_DIGEST_AFTER="1000")
    n.submit_many([notice(incident_id=f"INC-{i}", routes=("ops-teams",)) for i in range(9)])

    def sleep(seconds):
        ticker.advance(seconds=seconds)

    summary = n.drain(5, sleep=sleep)
    assert summary.sent == 9 and len(azure.hooks.received("ops")) == 9
    assert ticker.now - T0 >= timedelta(seconds=2)  # 4 a second: it had to wait twice


def test_importing_notify_is_cheap():
    code = "import sys, notify; heavy = [m for m in ('httpx', 'msgraph', 'kiota_http', 'azure.identity', 'yaml') if m in sys.modules]; print(heavy)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_notify_imports_no_handlers_or_actions():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "notify").glob("*.py")
        for line in p.read_text().splitlines()
        if line.strip().startswith(("import handlers", "from handlers", "import actions", "from actions"))
    ]
    assert offenders == []


def test_each_step_shows_when_it_was_reported(tmp_path, ticker):
    from .conftest import follow_up

    store = SqliteOutbox(":memory:")
    n = notifier_from({"RESPONDER_NOTIFY_DEFAULT_ROUTES": "ops-teams"}, store, ticker, outbox_dir=str(tmp_path))
    first = notice()
    n.submit(first)
    ticker.advance(minutes=10)
    n.submit(follow_up(first, "started", "started"))  # `occurred` is still the signal's time
    n.flush(ticker.now)
    (message,) = store.messages()
    steps = [b for b in message.payload["body"]["attachments"][0]["content"]["body"] if b["type"] == "ColumnSet"]
    times = [s["columns"][0]["items"][0]["text"] for s in steps]
    assert times == ["Sun 22 Nov 03:00 UTC", "Sun 22 Nov 03:10 UTC"]


def test_flush_works_when_called_from_async_code(make_notifier, azure):
    import asyncio

    n = make_notifier()
    n.submit(notice(routes=("ops-email", "ops-teams")))

    async def handler():  # an async Functions handler calling the sync API
        return n.flush(T0)

    summary = asyncio.run(handler())
    assert summary.sent == 2 and len(azure.mail.sent) == 1


FILE_MESSAGES = [
    # channel, a message, another message
    ("teams", {"type": "message", "attachments": [{"content": {"body": [{"text": "INC-1 opened"}]}}]},
     {"type": "message", "attachments": [{"content": {"body": [{"text": "INC-2 opened"}]}}]}),
    ("email", {"html": "<p>INC-1 opened</p>", "text": "INC-1 opened"}, {"html": "<p>INC-2 opened</p>", "text": "INC-2 opened"}),
]


@pytest.mark.parametrize("channel,message,other", FILE_MESSAGES)
def test_the_outbox_dir_knows_what_it_wrote_so_a_message_in_doubt_is_not_written_twice(tmp_path, channel, message, other):
    from notify.files import FileChannel

    folder = FileChannel(tmp_path / "out", channel)
    assert folder.confirm("", message) is False, "nothing written yet (not even the folder)"
    folder.send("", message, label="INC-1")
    assert folder.confirm("", message) is True
    assert folder.confirm("", other) is False
    # A file cut short by a stopped worker is not the message: it was never renamed into place.
    suffix = ".json" if channel == "teams" else ".html"
    (tmp_path / "out" / f"00009-{channel}-INC-2{suffix}.partial").write_bytes(b"{")
    assert folder.confirm("", other) is False
    assert not list((tmp_path / "out").glob("0000[1-8]*.partial")), "a finished write leaves no partial file"


def test_a_message_in_doubt_that_reached_the_outbox_dir_is_marked_sent_not_written_again(tmp_path):
    store = SqliteOutbox(":memory:")
    n = notifier_from({"RESPONDER_NOTIFY_HOLD": "0"}, store, lambda: T0, outbox_dir=str(tmp_path / "out"))
    n.submit(notice())
    assert n.flush(T0).sent == 2
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    # As a worker stopped after writing and before recording it: the lease lapses, the message is in doubt.
    for message in store.messages():
        store._update("UPDATE outbox_messages SET state = 'sending', sent_at = NULL, lease_until = ? WHERE id = ?",
                      ((T0 + timedelta(minutes=2)).timestamp(), message.id))
    summary = n.flush(T0 + timedelta(minutes=5))
    assert summary.confirmed == 2 and summary.sent == 0, summary.lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == written
    assert {m.state for m in store.messages()} == {"sent"}
