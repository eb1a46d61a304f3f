"""The counters count, under the meter name and with the attributes dashboards rely on."""

import enum

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import telemetry


@pytest.fixture
def reader():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    telemetry.bind_meter_provider(provider)
    yield reader
    telemetry.bind_meter_provider(None)
    provider.shutdown()


def points(reader, name):
    """{frozenset(attributes): value} for one counter, read from the in-memory reader."""
    data = reader.get_metrics_data()
    found = {}
    for resource_metrics in data.resource_metrics if data else []:
        for scope_metrics in resource_metrics.scope_metrics:
            assert scope_metrics.scope.name == telemetry.METER_NAME
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[frozenset(point.attributes.items())] = point.value
    return found


class Kind(enum.Enum):
    ANNOTATION = "annotation"


@pytest.mark.parametrize(
    ("calls", "counter", "expected"),
    [
        (
            [(telemetry.signal_received, ("annotation",)), (telemetry.signal_received, ("annotation",)),
             (telemetry.signal_received, ("service-health",))],
            "responder.signals.received",
            {frozenset({("signal.kind", "annotation")}): 2,
             frozenset({("signal.kind", "service-health")}): 1},
        ),
        (
            [(telemetry.signal_received, (Kind.ANNOTATION,))],
            "responder.signals.received",
            {frozenset({("signal.kind", "annotation")}): 1},
        ),
        (
            [(telemetry.decision_made, ("redeploy", "started")),
             (telemetry.decision_made, ("redeploy", "awaiting-approval")),
             (telemetry.decision_made, (None, "noop")),
             (telemetry.decision_made, ("redeploy", "started"))],
            "responder.decisions",
            {frozenset({("decision.action", "redeploy"), ("decision.status", "started")}): 2,
             frozenset({("decision.action", "redeploy"), ("decision.status", "awaiting-approval")}): 1,
             frozenset({("decision.action", "none"), ("decision.status", "noop")}): 1},
        ),
        (
            [(telemetry.brake_tripped, ("storm",)), (telemetry.brake_tripped, ("cooldown",)),
             (telemetry.brake_tripped, ("storm",))],
            "responder.brakes.tripped",
            {frozenset({("brake.name", "storm")}): 2, frozenset({("brake.name", "cooldown")}): 1},
        ),
        (
            [(telemetry.notification_failed, ("teams",)), (telemetry.notification_failed, ("email",))],
            "responder.notifications.failed",
            {frozenset({("notification.channel", "teams")}): 1,
             frozenset({("notification.channel", "email")}): 1},
        ),
    ],
    ids=["signals", "signal-kind-enum", "decisions", "brakes", "notification-failures"],
)
def test_counter_counts_with_attributes(reader, calls, counter, expected):
    for function, args in calls:
        function(*args)
    assert points(reader, counter) == expected


def test_counters_are_separate(reader):
    telemetry.brake_tripped("storm")
    assert points(reader, "responder.signals.received") == {}
    assert points(reader, "responder.decisions") == {}


def test_counters_are_created_once(reader, monkeypatch):
    telemetry.signal_received("annotation")
    import telemetry.counters as counters

    first = counters._instruments
    telemetry.signal_received("annotation")
    assert counters._instruments is first


def test_counting_without_any_provider_is_harmless():
    telemetry.bind_meter_provider(None)
    # The global provider is the API's no-op proxy unless configure() ran: nothing raises.
    telemetry.signal_received("annotation")
    telemetry.decision_made("restart", "failed")
    telemetry.brake_tripped("paused")
    telemetry.notification_failed("teams")


def test_counters_made_before_configure_count_once_a_provider_is_installed():
    # configure() installs the global provider after the pipeline may already have counted;
    # the API's proxy counters must then start recording. Global state: a fresh interpreter.
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, telemetry\n"
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "telemetry.signal_received('annotation')\n"
        "reader = InMemoryMetricReader()\n"
        "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
        "telemetry.signal_received('annotation')\n"
        "telemetry.signal_received('annotation')\n"
        "points = [p.value for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics\n"
        "          for m in sm.metrics if m.name == 'responder.signals.received' for p in m.data.data_points]\n"
        "print(json.dumps(points))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [2]
