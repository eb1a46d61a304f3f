"""The registry, the declared permissions and the import-time promise (no SDK on import)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import actions
from actions import registry, required_permissions
from actions.errors import UnknownActionError
from arm import SCALE_SET, SCALE_SET_VM, VM

ALL_ACTIONS = [
    "enable-automatic-repairs",
    "perform-maintenance",
    "redeploy",
    "reimage",
    "replace-failed-instance",
    "restart",
    "resume-automatic-repairs",
]

# The custom role in infra/ is compared with this list exactly: every action here is used by
# some executor (a write it sends, or a read its verify, poll or recover makes), none is missing.
EXPECTED_PERMISSIONS = [
    "Microsoft.Compute/locations/operations/read",
    "Microsoft.Compute/virtualMachineScaleSets/delete/action",
    "Microsoft.Compute/virtualMachineScaleSets/instanceView/read",
    "Microsoft.Compute/virtualMachineScaleSets/read",
    "Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/instanceView/read",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/performMaintenance/action",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/redeploy/action",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action",
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action",
    "Microsoft.Compute/virtualMachineScaleSets/write",
    "Microsoft.Compute/virtualMachines/instanceView/read",
    "Microsoft.Compute/virtualMachines/performMaintenance/action",
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Compute/virtualMachines/redeploy/action",
    "Microsoft.Compute/virtualMachines/reimage/action",
    "Microsoft.Compute/virtualMachines/restart/action",
    "Microsoft.DevTestLab/schedules/read",  # a VM's auto-shutdown schedule, before maintenance
    "Microsoft.ResourceGraph/resources/read",  # the annotations still active
    "Microsoft.ResourceHealth/availabilityStatuses/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",  # who manages the resource (its group's managedBy, tags)
]


def test_every_action_is_registered():
    assert registry.names() == ALL_ACTIONS


def test_registry_speaks_the_rules_vocabulary():
    from rules.vocabulary import ACTIONS

    assert set(registry.names()) == set(ACTIONS) - {"none"}


# A scale-set write is checked against what the scale set's model links to (LinkedAuthorizationFailed
# otherwise): these come with the write, in the opt-in scale-set write role.
LINKED_TO_SCALE_SET_WRITE = [
    "Microsoft.Compute/galleries/images/versions/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
    "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
]


def test_required_permissions_exact():
    assert required_permissions() == sorted(EXPECTED_PERMISSIONS + LINKED_TO_SCALE_SET_WRITE)


def test_scale_set_write_permissions_exact():
    from actions import scale_set_write_permissions

    assert scale_set_write_permissions() == sorted(["Microsoft.Compute/virtualMachineScaleSets/write", *LINKED_TO_SCALE_SET_WRITE])


def test_required_permissions_sorted_unique():
    perms = required_permissions()
    assert perms == sorted(set(perms))


@pytest.mark.parametrize(
    "name, applies_to, writes",
    [
        ("redeploy", {VM, SCALE_SET_VM}, {"Microsoft.Compute/virtualMachines/redeploy/action",
                                          "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/redeploy/action"}),
        ("restart", {VM, SCALE_SET_VM}, {"Microsoft.Compute/virtualMachines/restart/action",
                                         "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"}),
        ("reimage", {VM, SCALE_SET_VM}, {"Microsoft.Compute/virtualMachines/reimage/action",
                                         "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action"}),
        ("perform-maintenance", {VM, SCALE_SET_VM},
         {"Microsoft.Compute/virtualMachines/performMaintenance/action",
          "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/performMaintenance/action"}),
        ("resume-automatic-repairs", {SCALE_SET},
         {"Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action"}),
        ("enable-automatic-repairs", {SCALE_SET}, {"Microsoft.Compute/virtualMachineScaleSets/write"}),
        ("replace-failed-instance", {SCALE_SET, SCALE_SET_VM},
         {"Microsoft.Compute/virtualMachineScaleSets/delete/action", "Microsoft.Compute/virtualMachineScaleSets/write"}),
    ],
)  # fmt: skip
def test_each_action_declares_its_writes(name, applies_to, writes):
    executor = registry.get(name)
    assert executor.name == name
    assert set(executor.applies_to) == applies_to
    assert writes <= set(executor.permissions)
    assert "Microsoft.Compute/locations/operations/read" in executor.permissions
    assert list(executor.permissions) == sorted(set(executor.permissions))


@pytest.mark.parametrize("executor", list(registry), ids=lambda e: e.name)
def test_every_permission_is_a_compute_or_health_action(executor):
    for permission in executor.permissions:
        # Resource Graph: the annotations still active; DevTest Labs: a VM's auto-shutdown schedule.
        assert permission.startswith(("Microsoft.Compute/", "Microsoft.ResourceHealth/")) or permission in (
            "Microsoft.ResourceGraph/resources/read", "Microsoft.DevTestLab/schedules/read")
        assert permission.endswith(("/read", "/write", "/action"))


def test_unknown_action_is_a_clear_error():
    with pytest.raises(UnknownActionError, match="known actions: enable-automatic-repairs"):
        registry.get("reboot-the-world")


def test_import_does_not_load_the_sdks():
    code = "import sys, actions; print(sorted(m for m in sys.modules if m.startswith('azure')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_surface():
    for name in ("registry", "required_permissions", "AzureClients", "Verdict", "Operation", "OperationStatus"):
        assert hasattr(actions, name)
