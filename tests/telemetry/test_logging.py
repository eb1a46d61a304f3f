"""One structured line per decision, with the signal's context bound on it."""

from __future__ import annotations

import logging

from intake.deliveries import parse_delivery
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


def test_metrics_count_signals_and_decisions(pipeline):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    import telemetry

    reader = InMemoryMetricReader()
    telemetry.bind_meter_provider(MeterProvider(metric_readers=[reader]))
    try:
        pipeline.process(parse_delivery(b.body([b.annotated("AccelnetUnhealthy"), b.availability()]), "t"))
        pipeline.process(parse_delivery(b"[]", "t"))
        points = {
            (metric.name, tuple(sorted(point.attributes.items()))): point.value
            for rm in reader.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            for point in metric.data.data_points
        }
    finally:
        telemetry.bind_meter_provider(None)
    signals = {k: v for k, v in points.items() if "signal" in k[0]}
    decisions = {k: v for k, v in points.items() if "decision" in k[0]}
    assert sum(signals.values()) == 2 and sum(decisions.values()) == 3
    assert any("rejected" in dict(attrs).values() for (_, attrs) in decisions)


class Unprintable:
    def __str__(self) -> str:
        raise AssertionError("rendered a line no handler would write")


def test_a_line_below_the_level_is_never_built(caplog):
    from telemetry.logs import bound, log

    caplog.set_level(logging.WARNING, logger="responder")
    with bound(event_id=Unprintable()):
        log("decision", reason=Unprintable())  # INFO: not built, so nothing is rendered
    caplog.set_level(logging.INFO, logger="responder")
    with bound(event_id="ev-7", incident="", resource_id=None):
        log("decision", status="noop")
    (record,) = caplog.records
    assert record.getMessage() == "decision event_id=ev-7 status=noop", "empty and None context values are left out"
