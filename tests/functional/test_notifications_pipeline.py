"""Notifications from the pipeline: each step told once per destination, through the real
channels to the simulated Teams webhook and Graph mailbox; a channel outage never stops
remediation."""

from __future__ import annotations

import json

from intake.deliveries import parse_delivery
from tests import builders as b
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes


def deliver(pipeline, payload):
    return pipeline.process(parse_delivery(b.body(payload), "t"))


def cards(session):
    return session.teams.received("ops")  # the bodies as posted


def test_an_incident_reaches_teams_and_email_with_its_id(told):
    pipeline, session, notifications = told
    target = b.vm_id("vm-accelnet", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    (outcome,) = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=target))
    notifications.drain(1.0)
    received = session.notifications_received()
    assert received["teams"] >= 1 and received["email"] >= 1
    subjects = [m["message"]["subject"] for m in session.mailbox.sent]
    assert all(outcome.incident_id in s for s in subjects)
    assert any(outcome.incident_id in json.dumps(card) for card in cards(session))


def test_a_delivery_only_records_and_the_timer_sends(told):
    """One sender: a delivery never sends (16 invocations would race over the due messages);
    the tick, the timer's turn, sends what is due."""
    pipeline, session, notifications = told
    target = b.vm_id("vm-accelnet", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    (outcome,) = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=target))
    store = notifications.notifier.store
    recorded = store.messages()
    assert recorded and {m.state for m in recorded} == {"pending"}, "the delivery recorded its messages"
    assert session.notifications_received() == {"teams": 0, "email": 0}
    due = max(m.due_at for m in recorded)
    notifications.clock = lambda: due  # the tick comes once the incident's hold is over
    pipeline.tick()
    sent = {m.id: m.state for m in store.messages()}
    assert session.notifications_received()["teams"] >= 1
    assert {sent[m.id] for m in recorded} == {"sent"}, f"{outcome.incident_id}: the tick sent what the delivery recorded"


def test_follow_ups_keep_the_incident_id_and_drop_the_next_step_once_done(told):
    import time

    pipeline, session, notifications = told
    target = b.vm_id("vm-degraded-hw", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    (outcome,) = deliver(pipeline, b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=target))
    for _ in range(100):
        pipeline.tick()
        if not pipeline.ledger.open_operations():
            break
        time.sleep(0.05)
    notifications.drain(1.0)
    last = session.mailbox.sent[-1]["message"]
    assert outcome.incident_id in last["subject"]
    body = json.dumps(last)
    assert "redeploy succeeded" in body and "NEXT STEP" not in body.upper()  # the app did it: nothing is asked


def test_routine_customer_events_are_recorded_not_sent(told):
    pipeline, session, notifications = told
    target = b.vm_id("vm-user-restart", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    deliver(pipeline, b.annotated("VirtualMachineRestarted", target=target, context="Customer Initiated", category="Not Applicable"))
    notifications.drain(0.5)
    assert session.notifications_received() == {"teams": 0, "email": 0}


def test_duplicates_and_rejections_send_nothing(told):
    pipeline, session, notifications = told
    event = b.annotated("VirtualMachineHostCrashed", target=b.vm_id("vm-host-crash", rg="rg-demo", sub=DEMO_SUBSCRIPTION))
    deliver(pipeline, event)
    notifications.drain(0.5)
    before = session.notifications_received()
    deliver(pipeline, event)
    pipeline.process(parse_delivery(b"[]", "empty"))
    notifications.drain(0.5)
    assert session.notifications_received() == before


def test_a_notification_outage_does_not_stop_remediation(told, sim):
    pipeline, session, notifications = told
    sim.faults.add(method="POST", path=r"/workflows/", kind="503", times=None, retry_after=1)
    sim.faults.add(method="POST", path=r"/sendMail$", kind="503", times=None, retry_after=1)
    target = b.vm_id("vm-accelnet", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    (outcome,) = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=target))
    assert outcome.status == "started" and len(accepted_writes(sim)) == 1
    notifications.send()  # the timer's turn, in the outage (a delivery only records)
    assert session.notifications_received() == {"teams": 0, "email": 0}
    waiting = notifications.notifier.store.messages()  # the messages wait in the outbox, nothing lost
    assert waiting and all(m.state != "sent" and m.incident_id == outcome.incident_id for m in waiting)
    assert {m.channel for m in waiting} == {"teams", "email"}
    sim.faults.clear()  # the channels come back: what waited is sent
    notifications.drain(3)
    # Teams' 503 said it was not delivered: sent again once due. Graph's 503 may have delivered
    # the mail, so it waits its longer retry, still in the outbox, not dropped.
    assert session.notifications_received() == {"teams": 1, "email": 0}
    assert {(m.channel, m.state) for m in notifications.notifier.store.messages()} == {("teams", "sent"), ("email", "pending")}
