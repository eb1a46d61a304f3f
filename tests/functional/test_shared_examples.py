"""Every event and alert Azure's own specs and docs show, replayed with no rejection.

Read in place from ../shared/azure-examples; skipped cleanly when it is not beside the project.
"""

from __future__ import annotations

import json

import pytest

from intake.deliveries import parse_delivery
from tests.conftest import SHARED_EXAMPLES

WHOLE_DELIVERIES = [
    "HealthResources_AvailabilityStatusChanged.json",
    "HealthResources_ResourceAnnotated.json",
    "from-docs/event-schema-health-resources.AvailabilityStatusChanged.EventGridEvent.json",
    "from-docs/event-schema-health-resources.ResourceAnnotated.EventGridEvent.json",
    "from-docs/handle-health-resources-events.AvailabilityStatusChanged.CloudEvent.json",
    "from-docs/handle-health-resources-events.ResourceAnnotated.CloudEvent.json",
    "from-docs/scheduled-events-event-grid.ScheduledEventEmitted.EventGridEvent.json",
    "from-docs/alerts-payload-samples.test-action.ResourceHealth.json",
    "from-docs/alerts-payload-samples.test-action.ServiceHealth.json",
    "from-docs/activity-log-alerts-webhook.ServiceHealth.legacy-schema.json",
    "from-docs/activity-log-alerts-webhook.ResourceHealth.legacy-schema.json",
]

# The docs show only the alertContext of real alerts; the rest of the envelope once, in the
# test-action sample of the same service.
FRAGMENTS = {
    "from-docs/alerts-payload-samples.ResourceHealth.alertContext.json": "from-docs/alerts-payload-samples.test-action.ResourceHealth.json",
    "from-docs/alerts-payload-samples.ServiceHealth-maintenance.alertContext.json": "from-docs/alerts-payload-samples.test-action.ServiceHealth.json",
}

# The action group's "Test" sample carrying IsSynthetic: "True": recorded as a test, never an incident.
TEST_ALERTS = {"from-docs/alerts-payload-samples.test-action.ServiceHealth.json"}

EXPECTED_KIND = {
    "AvailabilityStatusChanged": "availability", "ResourceAnnotated": "annotation", "ScheduledEventEmitted": "scheduled-event",
    "ResourceHealth": "resource-health", "ServiceHealth": "service-health",
}


def _kind_for(name: str) -> str:
    return next(kind for marker, kind in EXPECTED_KIND.items() if marker in name)


@pytest.mark.parametrize("name", sorted(set(WHOLE_DELIVERIES) - TEST_ALERTS))
def test_whole_delivery_is_accepted(shared_examples, pipeline, name):
    outcomes = pipeline.process(parse_delivery((shared_examples / name).read_bytes(), name))
    assert outcomes and all(o.status != "rejected" for o in outcomes), [o.reason for o in outcomes]
    assert {o.kind for o in outcomes} == {_kind_for(name)}


@pytest.mark.parametrize("name", sorted(TEST_ALERTS))
def test_a_synthetic_test_alert_is_recorded_as_a_test_and_opens_nothing(shared_examples, pipeline, ledger, name):
    delivery = parse_delivery((shared_examples / name).read_bytes(), name)
    assert delivery.signals == [] and [r.test for r in delivery.rejections] == [True]
    (outcome,) = pipeline.process(delivery)
    assert "test alert (IsSynthetic: True)" in outcome.reason and "never acted on" in outcome.reason
    assert outcome.incident_id == "" and outcome.action == "none"


@pytest.mark.parametrize("fragment,envelope", sorted(FRAGMENTS.items()))
def test_real_alert_contexts_are_accepted(shared_examples, pipeline, fragment, envelope):
    alert = json.loads((shared_examples / envelope).read_text())
    alert["data"]["alertContext"] = json.loads((shared_examples / fragment).read_text())["alertContext"]
    (outcome,) = pipeline.process(parse_delivery(json.dumps(alert), fragment))
    assert outcome.status != "rejected", outcome.reason
    assert outcome.kind == _kind_for(fragment)


def test_the_validation_handshake_sample_yields_its_code(shared_examples):
    body = (shared_examples / "from-docs/webhook-event-delivery.SubscriptionValidationEvent.json").read_bytes()
    expected = json.loads((shared_examples / "from-docs/webhook-event-delivery.SubscriptionValidationResponse.json").read_text())
    assert parse_delivery(body).validation_code == expected["validationResponse"]


def test_every_delivery_file_in_the_folder_is_covered(shared_examples):
    names = {str(p.relative_to(shared_examples)) for p in shared_examples.rglob("*.json")}
    deliveries = {n for n in names if "/" in n or n.startswith("HealthResources_")}
    handshake = {n for n in deliveries if "webhook-event-delivery" in n}
    assert deliveries - handshake == set(WHOLE_DELIVERIES) | set(FRAGMENTS)


def test_all_shared_examples_replay_through_the_command_line(shared_examples, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    files = [str(shared_examples / n) for n in WHOLE_DELIVERIES]
    run = subprocess.run([sys.executable, "-m", "responder", "replay", "--json", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == len(WHOLE_DELIVERIES)
    assert [row for row in lines if row["status"] == "rejected"] == [row for row in lines if "test alert" in row["reason"]]
    assert len([row for row in lines if "test alert" in row["reason"]]) == len(TEST_ALERTS)
    assert SHARED_EXAMPLES.name in lines[0]["input"]
