"""The catalog: every annotation Azure documents, each entry complete, unknown names kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from rules import ACTIONS, CatalogError, Signal, load_catalog
from rules.catalog import SECTIONS

# The 27 names of Azure's "Resource Health virtual machine Health Annotations" table named by
# the design, plus NetworkDatapathLiveMigrationSerializationError.
REQUIRED = """
VirtualMachineRestarted VirtualMachineCrashed VirtualMachineStorageOffline VirtualMachineFailedToSecureBoot
LiveMigrationSucceeded LiveMigrationFailure VirtualMachineAllocated VirtualMachineDeallocationInitiated
VirtualMachineHostCrashed VirtualMachineMigrationInitiatedForPlannedMaintenance
VirtualMachineRebootInitiatedForPlannedMaintenance VirtualMachineHostRebootedForRepair
VirtualMachineMigrationInitiatedForRepair VirtualMachineRedeployInitiatedByControlPlaneDueToPlannedMaintenance
VirtualMachineMigrationScheduledForDegradedHardware VirtualMachinePossiblyDegradedDueToHardwareFailure
VirtualMachineScheduledForServiceHealing VirtualMachinePreempted VirtualMachineRebootInitiatedByControlPlane
VirtualMachineRedeployInitiatedByControlPlane VirtualMachineSizeChanged VirtualMachineConfigurationUpdated
VirtualMachineStartInitiatedByControlPlane VirtualMachineStopInitiatedByControlPlane VirtualMachineStoppedInternally
VirtualMachineProvisioningTimedOut AccelnetUnhealthy NetworkDatapathLiveMigrationSerializationError
""".split()

# name: (initiator, impact, temp_disk_loss, default_action) — from Azure's table and guidance.
EXPECTED = {
    "VirtualMachineRestarted": ("customer", "informational", False, "none"),
    "VirtualMachineCrashed": ("vm", "downtime-reboot", False, "none"),
    "VirtualMachineStorageOffline": ("platform", "downtime-reboot", False, "none"),
    "VirtualMachineFailedToSecureBoot": ("customer", "informational", False, "none"),
    "LiveMigrationSucceeded": ("platform", "downtime-freeze", False, "none"),
    "LiveMigrationFailure": ("platform", "downtime-freeze", False, "none"),
    "VirtualMachineAllocated": ("customer", "informational", False, "none"),
    "VirtualMachineDeallocationInitiated": ("customer", "informational", True, "none"),
    "VirtualMachineHostCrashed": ("platform", "downtime-reboot", False, "none"),
    "VirtualMachineMigrationInitiatedForPlannedMaintenance": ("platform", "downtime-reboot", False, "none"),
    "VirtualMachineRebootInitiatedForPlannedMaintenance": ("platform", "downtime-reboot", False, "none"),
    "VirtualMachineHostRebootedForRepair": ("platform", "downtime-reboot", False, "none"),
    "VirtualMachineMigrationInitiatedForRepair": ("platform", "downtime-reboot", True, "none"),
    "VirtualMachineRedeployInitiatedByControlPlaneDueToPlannedMaintenance": ("customer", "informational", True, "none"),
    "VirtualMachineMigrationScheduledForDegradedHardware": ("platform", "degraded", True, "redeploy"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailure": ("platform", "degraded", True, "redeploy"),
    "VirtualMachineScheduledForServiceHealing": ("platform", "degraded", True, "redeploy"),
    "VirtualMachinePreempted": ("platform", "informational", True, "none"),
    "VirtualMachineRebootInitiatedByControlPlane": ("customer", "informational", False, "none"),
    "VirtualMachineRedeployInitiatedByControlPlane": ("customer", "informational", True, "none"),
    "VirtualMachineSizeChanged": ("customer", "informational", False, "none"),
    "VirtualMachineConfigurationUpdated": ("customer", "informational", False, "none"),
    "VirtualMachineStartInitiatedByControlPlane": ("customer", "informational", False, "none"),
    "VirtualMachineStopInitiatedByControlPlane": ("customer", "informational", False, "none"),
    "VirtualMachineStoppedInternally": ("customer", "informational", False, "none"),
    "VirtualMachineProvisioningTimedOut": ("platform", "informational", False, "none"),
    "AccelnetUnhealthy": ("platform", "degraded", False, "redeploy"),
    "NetworkDatapathLiveMigrationSerializationError": ("platform", "degraded", False, "redeploy"),
    "VirtualMachinePlannedFreezeStarted": ("platform", "informational", False, "none"),
    "VirtualMachinePlannedFreezeSucceeded": ("platform", "downtime-freeze", False, "none"),
    "VirtualMachinePlannedFreezeFailed": ("platform", "downtime-freeze", False, "none"),
}

# The names Azure's table (azure-monitor-docs service-health/resource-health-vm-annotation.md,
# ms.date 2026-03-18) lists beyond the 28 above, with the Context and ImpactType it gives each, and
# the action its description asks for: "strongly recommend redeploying" where live migration is
# not available or only a best effort; the owner may wait where Azure will live-migrate.
ADDED_2026 = {
    "PossiblyDegradedDueToHardwareFailureWithRedeployDeadline": ("platform", "degraded", "redeploy"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadline": ("platform", "degraded", "redeploy"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailureLiveMigrationEligible": ("platform", "degraded", "none"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailureLiveMigrationNotEligible": ("platform", "degraded", "redeploy"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadlineLiveMigrationEligible": ("platform", "degraded", "none"),
    "VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadlineLiveMigrationNotEligible": ("platform", "degraded", "redeploy"),
    "VirtualMachineScheduledForServiceHealingLiveMigrationEligible": ("platform", "degraded", "none"),
    "VirtualMachineScheduledForServiceHealingLiveMigrationNotEligible": ("platform", "degraded", "redeploy"),
    "VirtualMachineMigrationScheduledForDegradedHardwareLiveMigrationEligible": ("platform", "degraded", "none"),
    "VirtualMachineMigrationScheduledForDegradedHardwareLiveMigrationNotEligible": ("platform", "degraded", "redeploy"),
    "VirtualMachineScheduledForMigrationWithGracePeriod": ("platform", "downtime-reboot", "redeploy"),
    "VirtualMachineMigratedDueToHardwareFailure": ("platform", "informational", "none"),
    "VirtualMachineStopInitiatedByControlPlaneTrackingId": ("customer", "informational", "none"),
    "VirtualMachineFailedSecureKeyRelease": ("customer", "informational", "none"),
    "NetworkUnhealthy": ("platform", "downtime-reboot", "none"),
}

WHEN = datetime(2026, 11, 20, tzinfo=UTC)


def signal(kind: str, name: str, **extra) -> Signal:
    return Signal(source="test", event_id="e", kind=kind, name=name, resource_id="/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v", occurred=WHEN, **extra)


def test_every_required_annotation_is_in_the_catalog():
    names = set(load_catalog().entries("annotation"))
    assert set(REQUIRED) <= names
    assert len(REQUIRED) == 28


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_annotation_entry(name):
    initiator, impact, loss, action = EXPECTED[name]
    found = load_catalog().classify(signal("annotation", name))
    assert found.known
    assert (found.initiator, found.impact, found.temp_disk_loss, found.default_action) == (initiator, impact, loss, action)
    assert found.meaning.endswith(".")
    if action != "none" or found.category in ("boot", "provisioning"):
        assert found.next_step, f"{name} asks something of a person and must say what"


def test_catalog_has_exactly_the_expected_annotations():
    assert set(load_catalog().entries("annotation")) == set(EXPECTED) | set(ADDED_2026)
    assert len(ADDED_2026) == 15


@pytest.mark.parametrize("name", sorted(ADDED_2026))
def test_annotation_added_by_azure_since(name):
    initiator, impact, action = ADDED_2026[name]
    found = load_catalog().classify(signal("annotation", name))
    assert found.known and (found.initiator, found.impact, found.default_action) == (initiator, impact, action)
    if action == "redeploy" or name.endswith("LiveMigrationEligible") or found.category == "boot":
        assert found.next_step, f"{name} asks something of a person and must say what"


@pytest.mark.parametrize(
    "kind,name,details,category,action",
    [
        ("availability", "Unavailable", {}, "availability", "none"),
        ("availability", "Degraded", {}, "availability", "none"),
        ("availability", "Unknown", {}, "availability", "none"),
        ("availability", "Available", {}, "recovered", "none"),
        ("resource-health", "Unavailable", {}, "availability", "none"),
        ("service-health", "Maintenance/Planned", {"incident_type": "Maintenance"}, "planned-maintenance", "none"),
        ("service-health", "Incident/Active", {"incident_type": "Incident"}, "platform-incident", "none"),
        ("service-health", "ActionRequired/Active", {"incident_type": "ActionRequired"}, "action-required", "none"),
        ("service-health", "Security/Active", {"incident_type": "Security"}, "security", "none"),
        ("service-health", "Informational/Active", {"incident_type": "Informational"}, "informational", "none"),
        ("scheduled-event", "Freeze", {}, "planned-maintenance", "none"),
        ("scheduled-event", "Reboot", {}, "planned-maintenance", "none"),
        ("scheduled-event", "Redeploy", {}, "planned-maintenance", "none"),
        ("scheduled-event", "Preempt", {}, "spot-eviction", "none"),
        ("scheduled-event", "Terminate", {}, "customer-initiated", "none"),
        ("repair-state", "RepairsSuspended", {}, "repairs", "resume-automatic-repairs"),
        ("repair-state", "RepairsNotEnabled", {}, "repairs", "enable-automatic-repairs"),
        ("repair-state", "AllInstancesUnhealthy", {}, "repairs", "none"),
        ("repair-state", "InstanceProvisioningFailed", {}, "provisioning", "replace-failed-instance"),
        ("repair-state", "InstanceInGracePeriod", {}, "repairs", "none"),
        ("maintenance-status", "SelfServiceWindowOpen", {}, "planned-maintenance", "perform-maintenance"),
        ("maintenance-status", "PlatformWindowOpen", {}, "planned-maintenance", "none"),
    ],
)
def test_other_signal_kinds(kind, name, details, category, action):
    found = load_catalog().classify(signal(kind, name, details=details))
    assert found.known and found.category == category and found.default_action == action


def test_unknown_annotation_is_classified_unknown_and_kept():
    found = load_catalog().classify(signal("annotation", "VirtualMachineSomethingNew", summary="a new thing"))
    assert not found.known
    assert found.category == "unknown"
    assert "VirtualMachineSomethingNew" in found.meaning and "a new thing" in found.meaning
    assert found.default_action == "none" and not found.routine


def test_the_event_context_beats_the_catalog_initiator():
    found = load_catalog().classify(signal("annotation", "VirtualMachineHostCrashed", initiator="customer"))
    assert found.initiator == "customer"


def test_every_section_entry_validates_and_names_a_known_action():
    catalog = load_catalog()
    for kind in SECTIONS:
        for name, entry in catalog.entries(kind).items():
            assert entry["default_action"] in ACTIONS, (kind, name)


@pytest.mark.parametrize(
    "mutate,fragment",
    [
        (lambda d: d["annotations"]["AccelnetUnhealthy"].update(impact="catastrophic"), "annotations/AccelnetUnhealthy/impact"),
        (lambda d: d["annotations"]["AccelnetUnhealthy"].update(default_action="reboot"), "default_action"),
        (lambda d: d["annotations"]["AccelnetUnhealthy"].pop("meaning"), "'meaning' is a required property"),
        (lambda d: d["annotations"]["AccelnetUnhealthy"].update(colour="red"), "colour"),
        (lambda d: d.pop("repair_states"), "repair_states"),
    ],
)
def test_a_typo_in_the_catalog_fails_loudly(tmp_path, mutate, fragment):
    from rules.catalog import DEFAULT_PATH

    document = yaml.safe_load(DEFAULT_PATH.read_text())
    mutate(document)
    path = tmp_path / "annotations.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CatalogError, match="annotations.yaml") as caught:
        load_catalog(path)
    assert fragment in str(caught.value)


ENTRY = {"meaning": "A name Azure added after this catalog was written.", "initiator": "platform", "impact": "degraded",
         "category": "degraded-hardware", "temp_disk_loss": False, "platform_acting": False,
         "default_action": "redeploy", "next_step": "Redeploy the VM.", "routine": False}


def test_an_owner_adds_catalog_entries_from_a_file_of_their_own(tmp_path):
    extra = tmp_path / "more.yaml"
    extra.write_text(yaml.safe_dump({"annotations": {"VirtualMachineSomethingNew": ENTRY},
                                     "repair_states": {"RepairsSuspended": {**ENTRY, "default_action": "none"}}}))
    catalog = load_catalog(extra=extra)
    assert catalog.classify(signal("annotation", "VirtualMachineSomethingNew")).default_action == "redeploy"
    assert catalog.classify(signal("repair-state", "RepairsSuspended")).default_action == "none"  # the owner's wins
    assert load_catalog().classify(signal("annotation", "VirtualMachineSomethingNew")).known is False  # shipped one untouched


def test_a_typo_in_an_owners_catalog_file_names_the_file_and_entry(tmp_path):
    extra = tmp_path / "more.yaml"
    extra.write_text(yaml.safe_dump({"annotations": {"VirtualMachineSomethingNew": {**ENTRY, "impact": "bad"}}}))
    with pytest.raises(CatalogError, match=r"more.yaml: annotations/VirtualMachineSomethingNew/impact"):
        load_catalog(extra=extra)
