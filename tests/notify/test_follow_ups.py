"""Everyone told the start is told the end: a follow-up (an operation's end from the tick, an
approval settled, the resource healthy again) goes where the incident was told, not to the
default routes; an incident nobody was told about (routine) is not resolved at anyone."""

from __future__ import annotations

import json

from notify import Notifier

from .conftest import follow_up, notice, notifier_from

WEB = "web@contoso.com"


def notifier(store, ticker, tmp_path) -> Notifier:
    settings = {
        "notify_routes": json.dumps({"web-email": {"email": [WEB]}}),
        "RESPONDER_NOTIFY_DEFAULT_ROUTES": "ops-teams,ops-email",
        "RESPONDER_NOTIFY_HOLD": "0",
    }
    return notifier_from(settings, store, ticker, outbox_dir=str(tmp_path / "outbox"))


def destinations(store) -> list[str]:
    return sorted(m.destination for m in store.messages())


def test_the_ticks_end_and_the_resolution_go_where_the_start_went(store, ticker, tmp_path):
    n = notifier(store, ticker, tmp_path)
    first = notice(routes=("web-email",), status="started", mode="auto")
    n.submit(first)
    n.flush(ticker.now)
    ticker.advance(minutes=5)
    # The tick's notice names no routes of its own (a tick has no rule): it follows the start.
    n.submit(follow_up(first, "succeeded", "succeeded", routes=(), rule="tick", follow_up=True))
    n.flush(ticker.now)
    ticker.advance(minutes=5)
    n.submit(follow_up(first, "resolved", "noop", action="none", routes=(), rule="resolution", follow_up=True))
    n.flush(ticker.advance(minutes=1))
    assert destinations(store) == [f"email:{WEB}"] * 3
    assert store.counts()["sent"] == 3


def test_a_follow_up_of_an_incident_told_nowhere_uses_its_own_routes(store, ticker, tmp_path):
    n = notifier(store, ticker, tmp_path)
    n.submit(notice(routes=(), status="succeeded", rule="tick", follow_up=True))  # its start was before this outbox
    n.flush(ticker.now)
    assert destinations(store) == ["email:ops@localhost", "teams:ops"]  # the default routes: someone hears it


def test_a_routine_incident_nobody_was_told_about_is_not_resolved_at_anyone(store, ticker, tmp_path):
    n = notifier(store, ticker, tmp_path)
    routine = notice(routine=True, action="none", status="noop", signal_name="VirtualMachineRestarted")
    assert n.submit(routine).recorded == "routine"
    done = n.submit(follow_up(routine, "resolved", "noop", routine=False, follow_up=True, rule="resolution"))
    assert done.recorded == "untold" and done.queued == 0
    n.flush(ticker.advance(minutes=10))
    assert store.messages() == [] and store.counts()["notices-untold"] == 1


def test_a_follow_up_in_the_same_batch_as_its_start_goes_with_it(store, ticker, tmp_path):
    n = notifier(store, ticker, tmp_path)
    first = notice(routes=("web-email",), status="awaiting-approval", event="awaiting-approval")
    n.submit_many([first, follow_up(first, "failed", "failed", routes=(), rule="approval", follow_up=True)])
    n.flush(ticker.now)
    (message,) = store.messages()
    assert message.destination == f"email:{WEB}" and message.notices == 2


def test_a_later_signal_that_changes_nothing_sends_no_message_of_its_own(store, ticker, tmp_path):
    """A Resource Health alert beside the annotation whose redeploy waits for approval: a message
    of its own would read "No action" while the approval waits. It is kept, not sent."""
    n = notifier(store, ticker, tmp_path)
    first = notice(routes=("web-email",), status="awaiting-approval", event="awaiting-approval")
    n.submit(first)
    n.flush(ticker.now)
    alert = follow_up(first, "decided", "noop", action="none", signal_kind="resource-health", signal_name="Degraded",
                      routes=("web-email",), follow_up=True)
    assert n.submit(alert).recorded == "quiet"
    n.flush(ticker.advance(minutes=5))
    assert len(store.messages()) == 1 and store.counts()["notices-quiet"] == 1
