"""Test alerts (an action group's "Test" button) carry IsSynthetic: "True" and are never acted on.

Built from Azure's published samples, read in place: the common alert schema's test-action
Service Health sample carries `"IsSynthetic": "True"` in `data.alertContext.properties`; Azure's
non-common (legacy Activity Log) test samples carry `"isSynthetic": "True"` in
`data.context.activityLog.properties`, added here to the legacy Service Health sample.
"""

from __future__ import annotations

import json

import pytest

from intake.deliveries import is_test_alert, parse_delivery

COMMON_TEST = "from-docs/alerts-payload-samples.test-action.ServiceHealth.json"
LEGACY = "from-docs/activity-log-alerts-webhook.ServiceHealth.legacy-schema.json"


def test_the_common_schema_test_sample_is_a_test(shared_examples):
    delivery = parse_delivery((shared_examples / COMMON_TEST).read_bytes(), "test")
    assert delivery.signals == []
    (record,) = delivery.rejections
    assert record.test and record.where == "data.alertContext.properties.IsSynthetic"
    assert is_test_alert(record.reason)


@pytest.mark.parametrize("value, test", [("True", True), ("true", True), ("False", False)])
def test_the_legacy_schema_is_synthetic_flag(shared_examples, value, test):
    alert = json.loads((shared_examples / LEGACY).read_text())
    alert["data"]["context"]["activityLog"]["properties"]["isSynthetic"] = value
    delivery = parse_delivery(json.dumps(alert), "legacy")
    assert bool(delivery.rejections and delivery.rejections[0].test) is test
    assert bool(delivery.signals) is not test


def test_a_real_alert_is_not_a_test(shared_examples):
    delivery = parse_delivery((shared_examples / LEGACY).read_bytes(), "legacy")
    assert delivery.signals and not delivery.rejections
    assert not is_test_alert("POST /api/alerts: body: is not valid JSON")
