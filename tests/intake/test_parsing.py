"""Every quirk AZURE-FACTS.md lists, folded by the parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from intake.deliveries import parse_delivery
from tests import builders as b


def one(payload):
    delivery = parse_delivery(b.body(payload), "test")
    assert not delivery.rejections, [r.reason for r in delivery.rejections]
    (signal,) = delivery.signals
    return signal


@pytest.mark.parametrize(
    "context,initiator",
    [("Platform Initiated", "platform"), ("Platform-Initiated", "platform"), ("PlatformInitiated", "platform"),
     ("Customer Initiated", "customer"), ("User-initiated", "customer"), ("VM Initiated", "vm"), ("Unknown", "unknown"), ("", "")],
)
def test_context_spellings(context, initiator):
    assert one(b.annotated(context=context)).initiator == initiator


@pytest.mark.parametrize("category,folded", [("Planned", "planned"), ("Unplanned", "unplanned"), ("Not Applicable", "not-applicable"), ("Unknown", "unknown")])
def test_category_spellings(category, folded):
    assert one(b.annotated(category=category)).azure_category == folded


@pytest.mark.parametrize(
    "when,expected",
    [
        ("2023-07-24T19:20:37.9245071Z", datetime(2023, 7, 24, 19, 20, 37, 924507, tzinfo=UTC)),
        ("2024-02-22T01:39:50.177+00:00", datetime(2024, 2, 22, 1, 39, 50, 177000, tzinfo=UTC)),
        ("2024-02-22T03:39:50+02:00", datetime(2024, 2, 22, 1, 39, 50, tzinfo=UTC)),
        ("2024-02-22T01:39:50", datetime(2024, 2, 22, 1, 39, 50, tzinfo=UTC)),
    ],
)
def test_time_formats(when, expected):
    assert one(b.annotated(when=when)).occurred == expected


@pytest.mark.parametrize("schema", ["grid", "cloud"])
def test_both_envelopes_give_the_same_signal(schema):
    signal = one(b.annotated("AccelnetUnhealthy", schema=schema, event_id="same-id"))
    assert (signal.kind, signal.name, signal.event_id) == ("annotation", "AccelnetUnhealthy", "same-id")
    assert signal.source == {"grid": "event-grid", "cloud": "cloud-event"}[schema]
    assert signal.resource_id == b.vm_id()


def test_target_resource_id_is_the_key_not_resource_info_id():
    payload = b.annotated(target=b.vm_id("real-vm"))
    payload["data"]["resourceInfo"]["id"] = b.vm_id("typo-vm") + "/providers/Microsoft.ResourceHealth/resourceAnnotations/x"
    payload["data"]["resourceInfo"]["name"] = "{event-id}"
    assert one(payload).resource_id.endswith("/real-vm")


def test_impact_type_is_kept_when_azure_sends_it():
    assert one(b.annotated(impactType="Downtime Reboot")).impact_type == "downtime-reboot"


def test_occurred_falls_back_to_the_operational_time():
    payload = b.annotated(when="2026-01-01T00:00:00Z")
    del payload["data"]["resourceInfo"]["properties"]["occurredTime"]
    payload["data"]["operationalInfo"]["resourceEventTime"] = "2026-01-02T00:00:00+00:00"
    assert one(payload).occurred == datetime(2026, 1, 2, tzinfo=UTC)


def test_occured_time_spelling_is_read():
    payload = b.annotated(when="2026-01-01T00:00:00Z")
    properties = payload["data"]["resourceInfo"]["properties"]
    properties["occuredTime"] = properties.pop("occurredTime")
    del payload["data"]["operationalInfo"]
    assert one(payload).occurred == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("as_string", [True, False])
def test_impacted_services_as_string_or_array(as_string):
    signal = one(b.service_health(impacted_as_string=as_string))
    assert signal.details["regions"] == ["West Europe"]
    assert signal.details["impacted_services"] == ["Virtual Machines"]


def test_integers_in_alert_context_are_accepted():
    payload = b.service_health()
    payload["data"]["alertContext"]["properties"]["trackingId"] = 12345
    signal = one(payload)
    assert signal.details["tracking_id"] == "12345"


@pytest.mark.parametrize(
    "payload,kind,name,resolved",
    [
        (lambda: b.service_health("Maintenance", "Planned"), "service-health", "Maintenance/Planned", False),
        (lambda: b.service_health("Maintenance", "Complete"), "service-health", "Maintenance/Complete", True),
        (lambda: b.service_health("Incident", "Active", condition="Resolved"), "service-health", "Incident/Active", True),
        (lambda: b.resource_health("Degraded"), "resource-health", "Degraded", False),
        (lambda: b.resource_health("Unavailable", condition="Resolved"), "resource-health", "Unavailable", True),
        (lambda: b.orchestration_changed(), "repair-state", "RepairsSuspended", False),
        (lambda: b.orchestration_changed(request_action="Suspend"), "repair-state", "RepairsSuspendedByUser", False),
        (lambda: b.orchestration_changed(request_action="Resume"), "repair-state", "RepairsResumed", True),
        # Azure's Succeeded events carry "requestbody": "": who acted is told by the caller
        (lambda: b.orchestration_changed(caller="alice@contoso.example"), "repair-state", "RepairsChangedByUser", False),
        (lambda: b.orchestration_changed(caller="9a1b2c3d-0000-4e5f-8a9b-0c1d2e3f4a5b"), "repair-state", "RepairsChangedByUser", False),
        (lambda: b.orchestration_changed(caller=""), "repair-state", "RepairsSuspendedByUnknown", False),
        (lambda: b.orchestration_changed(caller="somebody"), "repair-state", "RepairsSuspendedByUnknown", False),
        (lambda: b.legacy("ResourceHealth", status="Resolved"), "resource-health", "Unavailable", True),
        (lambda: b.legacy("ServiceHealth"), "service-health", "Incident/Active", False),
        (lambda: b.scheduled("Freeze", "Started"), "scheduled-event", "Freeze", False),
        (lambda: b.availability("Available"), "availability", "Available", True),
    ],
)
def test_kinds_names_and_resolution(payload, kind, name, resolved):
    signal = one(payload())
    assert (signal.kind, signal.name, signal.resolved) == (kind, name, resolved)


def test_scheduled_event_of_a_scale_set_is_about_the_instance_it_names():
    signal = one(b.scheduled("Redeploy", "Scheduled"))
    assert signal.resource_id == f"{b.scale_set_id()}/virtualMachines/1"
    assert signal.resource_type == "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
    assert signal.details["scale_set_id"] == b.scale_set_id()
    assert signal.details["resources"] == ["ss1_1"]
    assert signal.details["not_before"].startswith("2026-11-20T08:20:00")


@pytest.mark.parametrize(("caller", "kind"), [
    ("alice@contoso.example", "person"), ("9A1B2C3D-0000-4E5F-8A9B-0C1D2E3F4A5B", "person"),
    # Azure's own services act under their resource provider's name (as its published platform
    # events do: "Microsoft.Insights/alertRules", "Microsoft.Insights/autoscaleSettings")
    ("Microsoft.Compute", "azure"), ("Microsoft.Compute/virtualMachineScaleSets", "azure"),
    ("", "unknown"), ("   ", "unknown"), ("ops team", "unknown"), ("Microsoftish", "unknown"),
])
def test_the_caller_of_a_repairs_change_is_told_apart(caller, kind):
    from intake.alert_payloads import caller_kind

    assert caller_kind(caller) == kind
    signal = one(b.orchestration_changed(caller=caller))
    assert signal.details["caller_kind"] == kind and signal.details["caller"] == caller.strip()
    assert signal.summary.endswith(f" by {caller.strip()}" if caller.strip() else " by an unknown caller")


def test_orchestration_alert_on_an_instance_points_at_its_scale_set():
    assert one(b.orchestration_changed(target=b.instance_id())).resource_id.lower() == b.scale_set_id().lower()


def test_same_event_id_in_two_alert_conditions_is_two_deliveries():
    fired = one(b.resource_health(condition="Fired", alert_id="/x/alerts/1"))
    resolved = one(b.resource_health(condition="Resolved", alert_id="/x/alerts/1"))
    assert fired.delivery_key != resolved.delivery_key


def test_a_single_event_object_is_accepted_as_a_delivery():
    delivery = parse_delivery(json.dumps(b.annotated()), "single")
    assert len(delivery.signals) == 1 and not delivery.rejections


def test_validation_event_yields_its_code():
    payload = [{"id": "v1", "topic": "/subscriptions/x", "subject": "", "data": {"validationCode": "CODE-1"},
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "eventTime": "2026-01-01T00:00:00Z", "metadataVersion": "1", "dataVersion": "1"}]
    delivery = parse_delivery(json.dumps(payload))
    assert delivery.validation_code == "CODE-1" and not delivery.signals
