"""One structured line per decision, with the signal's context bound on it."""

from __future__ import annotations

import logging

from handlers.deliveries import parse_delivery
from tests import builders as b


def test_one_line_per_decision_with_context(pipeline, caplog):
    caplog.set_level(logging.INFO, logger="responder")
    pipeline.process(parse_delivery(b.body([b.annotated("AccelnetUnhealthy", event_id="ev-42")]), "t"))
    decisions = [r for r in caplog.records if r.getMessage().startswith("decision")]
    assert len(decisions) == 1
    fields = decisions[0].responder
    assert fields["event_id"] == "ev-42"
    assert fields["resource_id"] == b.vm_id()
    assert fields["action"] == "redeploy" and fields["status"] == "planned"
    assert fields["incident"].startswith("INC-") and fields["reason"]
    line = decisions[0].getMessage()
    assert "event_id=ev-42" in line and f"resource_id={b.vm_id()}" in line and "action=redeploy" in line


def test_rejections_are_logged_with_where(pipeline, caplog):
    caplog.set_level(logging.INFO, logger="responder")
    pipeline.process(parse_delivery(b"[]", "empty.json"))
    (record,) = [r for r in caplog.records if r.getMessage().startswith("rejected")]
    assert record.responder["where"] == "body" and record.responder["input"] == "empty.json"


def test_context_does_not_leak_between_signals(pipeline, caplog):
    caplog.set_level(logging.INFO, logger="responder")
    pipeline.process(parse_delivery(b.body([b.annotated(event_id="a-1")]), "t"))
    pipeline.process(parse_delivery(b"[]", "t2"))
    rejected = [r for r in caplog.records if r.getMessage().startswith("rejected")][0]
    assert "event_id" not in rejected.responder
