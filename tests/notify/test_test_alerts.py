"""A test alert (the action group's Test button, IsSynthetic: "True") is told as a test: a message
of its own that says so, in a thread of its own, with no incident opened and nothing done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.deliveries import parse_delivery
from pipeline import Settings
from tests import builders as b
from tests.notify.validity import assert_valid_card
from wiring import build_pipeline, notifications_of


def synthetic(payload: dict) -> bytes:
    payload["data"]["customProperties"] = {"IsSynthetic": "True"}
    return json.dumps(payload).encode()


@pytest.mark.parametrize("payload", [b.resource_health(), b.service_health(), b.orchestration_changed()],
                         ids=["resource-health", "service-health", "repairs"])
def test_a_test_alert_is_told_as_a_test_and_opens_nothing(tmp_path, ledger, payload):
    folder = tmp_path / "outbox"
    env = {"RESPONDER_OUTBOX_DIR": str(folder), "RESPONDER_MAIL_TO": "ops@contoso.example",
           "RESPONDER_TEAMS_WEBHOOKS": json.dumps({"ops": "https://teams.invalid/ops"}), "RESPONDER_NOTIFY_HOLD": "0"}
    pipeline = build_pipeline(Settings().with_notify(env), ledger=ledger)
    (outcome,) = pipeline.process(parse_delivery(synthetic(payload), "test-button"))
    notifications_of(pipeline).flush_all()
    assert outcome.status == "rejected" and "test alert (IsSynthetic: True)" in outcome.reason
    assert not list(ledger.history()) and not ledger.operations(), "no incident, no decision, nothing done"
    texts = [p.read_text() for p in sorted(Path(folder).rglob("*.txt"))]
    cards = [p.read_text() for p in sorted(Path(folder).rglob("*.json"))]
    assert len(texts) == 1 and len(cards) == 1, sorted(p.name for p in Path(folder).rglob("*"))
    (text,) = texts
    subject = text.splitlines()[0]
    assert subject.startswith("[TEST-"), subject
    assert "This is a test alert from an action group" in text and "Test · Status: No action" in text
    assert "Outage" not in text and "Redeploy" not in text, "a test is never told as an outage or a task"
    assert "This is a test alert from an action group" in cards[0]
    assert_valid_card(json.loads(cards[0]))
