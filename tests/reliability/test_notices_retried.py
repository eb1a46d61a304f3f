"""A notice the outbox cannot record is not dropped: the delivery fails, its claim is given back,
and the sender's next delivery is decided and told again. Called the way the Functions host
calls the triggers (real func.EventGridEvent and func.HttpRequest objects through the registered
functions), on a Table Storage ledger behind a proxy that fails every request to the outbox's
table with 503 (Azure's "server busy") until the fault is lifted."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests import builders as b
from tests.azurite import connection_string
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes
from tests.functional.test_triggers import call, grid_event, post
from tests.ledger.conftest import azurite, fresh_prefix  # noqa: F401 - the session's Azurite

from .storm import vm
from .table_proxy import TableProxy


@pytest.fixture(scope="module")
def functions():
    """The Blueprints function_app.py registers, in an app of this suite's own: the Functions
    library refuses a second get_functions() on one app, and tests/functional has function_app's."""
    import azure.functions as func

    from handlers import alerts, event_grid

    app = func.FunctionApp()
    for blueprint in (event_grid.bp, alerts.bp):
        app.register_functions(blueprint)
    return {fn.get_function_name(): fn for fn in app.get_functions()}


@pytest.fixture
def table_told(azurite, sim):  # noqa: F811
    """An auto-mode pipeline on a Table ledger behind the proxy, telling the simulated Teams and
    mailbox, installed as the triggers' pipeline."""
    yield from _told(azurite, sim, "auto")


@pytest.fixture
def table_told_approve(azurite, sim):  # noqa: F811
    """The same in approve mode, with approval links."""
    yield from _told(azurite, sim, "approve", approval_secret="s3cret-for-tests-only-0123456789abcdef",
                     public_url="https://responder.example")


def _told(azurite, sim, mode, **more):  # noqa: F811
    from handlers import runtime
    from ledger.table import TableLedger
    from ledger.table import keys as table_keys
    from ledger.table.service import service_client
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from responder.azure_session import AzureSession
    from wiring import build_pipeline, notifications_of, notifier_from_settings

    port = int(re.search(r":(\d+)/devstoreaccount1", azurite).group(1))
    with TableProxy(port) as proxy:
        prefix = fresh_prefix()
        ledger = TableLedger(service_client(connection_string=connection_string(proxy.port)), prefix)
        session = AzureSession("sim", None, sim)
        env = {**session.plug_notifications(), "RESPONDER_NOTIFY_HOLD": "0"}
        settings = Settings(mode=mode, azure="sim", subscriptions=(DEMO_SUBSCRIPTION,), **more)
        connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
        bare = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
        notifier = notifier_from_settings(settings.with_notify(env), bare.engine.policy, ledger, bare.clock, credential=LocalToken())
        pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=notifier)
        runtime.use(pipeline)
        try:
            yield pipeline, session, notifications_of(pipeline).notifier, proxy, table_keys.table_names(prefix)["outbox"]
        finally:
            runtime.use(None)


def _event_grid(functions, payload):
    """The Event Grid trigger: a failed invocation is an exception the host answers with an error."""
    from pipeline import NoticesNotRecorded

    try:
        call(functions, "event_grid", grid_event(payload))
    except NoticesNotRecorded as error:
        return 503, str(error)
    return 200, ""


def _alerts(functions, payload):
    response = call(functions, "alerts", post("alerts", b.body(payload)))
    return response.status_code, response.get_body().decode()


def send_everything(notifier) -> None:
    """The timer's flushes, at the moment each next message is due."""
    now = datetime.now(UTC)
    for _ in range(20):
        summary = notifier.flush(now)
        assert not summary.errors, summary.errors
        if summary.next_due is None:
            return
        now = max(summary.next_due, now + timedelta(seconds=1))


CASES = [
    # (trigger, payload, what the incident's message must say once told): a redeploy the first
    # attempt started (told by the second, not started again), and an alert decided without acting.
    ("event_grid", lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")), "Redeploy"),
    ("alerts", lambda: b.resource_health("Unavailable", target=vm("vm-user-restart"), alert_id="/alerts/retried"), "vm-user-restart"),
]


@pytest.mark.parametrize("trigger, payload, said", CASES, ids=[c[0] for c in CASES])
def test_a_delivery_whose_notices_are_not_recorded_fails_and_its_redelivery_is_told(functions, table_told, trigger, payload, said):
    pipeline, session, notifier, proxy, outbox_table = table_told
    deliver = _event_grid if trigger == "event_grid" else _alerts
    event = payload()

    fault = proxy.add("*", re.escape(outbox_table), "503", times=1000)
    status, body = deliver(functions, event)
    assert status == 503 and "not recorded" in body, (status, body)
    assert fault.hits, "the outbox was never asked"
    if trigger == "alerts":
        assert "Retry-After" in call(functions, "alerts", post("alerts", b.body(event))).headers  # still failing: told when to retry
    writes_before = len(accepted_writes(session.sim))

    fault.times = fault.hits  # the outbox answers again; the sender delivers the same event once more
    status, body = deliver(functions, event)
    assert status in (200, 202), body
    if trigger == "alerts":
        (accepted,) = json.loads(body)["accepted"]
        assert accepted["status"] != "duplicate", accepted
    assert len(accepted_writes(session.sim)) == writes_before, "the redelivery did not act again"

    send_everything(notifier)
    cards = [json.dumps(card) for card in session.teams.received("ops")]
    mails = [json.dumps(m["message"]) for m in session.mailbox.sent]
    (incident,) = {row["incident_id"] for row in pipeline.ledger.history() if row.get("incident_id")}
    assert any(incident in card and said in card for card in cards), cards
    assert any(incident in mail for mail in mails), mails

    # A third delivery is a duplicate now: its notices were recorded, its claim settled.
    status, body = deliver(functions, event)
    assert status in (200, 202)
    if trigger == "alerts":
        assert json.loads(body)["accepted"][0]["status"] == "duplicate"


def _succeeded(notifier, incident: str) -> list[str]:
    """The destinations holding the incident's 'succeeded' notice, one entry per notice held."""
    held = []
    for message in notifier.store.messages():
        for text in notifier.store.notices(message.id):
            found = json.loads(text)
            if found["incident_id"] == incident and found["event"] == "succeeded":
                held.append(message.destination)
    return sorted(held)


def test_the_ticks_notice_the_outbox_could_not_take_is_kept_and_sent_once(functions, table_told):
    """The tick ends an operation and tells it; the outbox refuses. Nothing delivers that decision
    again, so the notice is kept and recorded with the next tick, once, and sent once."""
    pipeline, session, notifier, proxy, outbox_table = table_told
    listener = next(listener for listener in pipeline.listeners if hasattr(listener, "kept"))
    status, _ = _event_grid(functions, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    assert status == 200 and pipeline.ledger.open_operations()
    (incident,) = {row["incident_id"] for row in pipeline.ledger.history() if row.get("incident_id")}

    fault = proxy.add("*", re.escape(outbox_table), "503", times=10**6)
    for _ in range(50):
        pipeline.tick()  # the outbox fails: the tick still follows the operation, and never raises for it
        if not pipeline.ledger.open_operations():
            break
    assert [op["state"] for op in pipeline.ledger.operations()] == ["succeeded"]
    assert listener.kept >= 1, "the tick's notice was not kept"

    fault.times = fault.hits  # the outbox is back
    pipeline.tick()
    assert listener.kept == 0
    destinations = _succeeded(notifier, incident)
    assert destinations and len(destinations) == len(set(destinations)), destinations  # each destination once
    pipeline.tick()  # nothing kept is recorded again
    assert _succeeded(notifier, incident) == destinations

    send_everything(notifier)
    told = [card for card in session.teams.received("ops") if incident in json.dumps(card) and "ucceeded" in json.dumps(card)]
    assert len(told) == 1, told


def test_an_approvals_notice_the_outbox_could_not_take_is_kept_and_sent_once(functions, table_told_approve):
    """A person rejects; the outbox refuses the notice saying so. The decision stands (nothing
    makes it again), so its notice is kept and recorded with the next tick, once, and sent once."""
    from approvals import approvals_of
    from approvals.settle import settle

    pipeline, session, notifier, proxy, outbox_table = table_told_approve
    status, _ = _event_grid(functions, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=vm("vm-degraded-hw")))
    assert status == 200
    service = approvals_of(pipeline)
    (pending,) = service.pending()

    fault = proxy.add("*", re.escape(outbox_table), "503", times=10**6)
    outcome = settle(pipeline, service.decide_by_id(pending.id, "reject", "alice@contoso.example"))
    assert outcome.status == "skipped"
    listener = next(listener for listener in pipeline.listeners if hasattr(listener, "kept"))
    assert listener.kept == 1

    fault.times = fault.hits
    pipeline.tick()
    pipeline.tick()  # nothing kept is recorded again
    assert listener.kept == 0
    held = sorted(message.destination for message in notifier.store.messages() for text in notifier.store.notices(message.id)
                  if json.loads(text)["rule"] == "approval")
    assert "teams:ops" in held and len(held) == len(set(held)), held  # every destination told the start, once
    send_everything(notifier)
    told = [card for card in session.teams.received("ops") if "Rejected by alice" in json.dumps(card)]
    assert len(told) == 1
