"""Azure's instance-view status strings, read by the one reader every part of the app uses.

The strings are Azure's own (azure-compute-docs virtual-machines/states-billing.md, and the
REST examples' instance views): `ProvisioningState/<state>[/<errorCode>]`, `PowerState/<state>`,
`HealthState/<state>`.
"""

from __future__ import annotations

import pytest

from actions.statuses import HEALTH, POWER, PROVISIONING, find_status, provisioning_busy, status_code

CODES = [
    # code as Azure writes it, kind, state, error, failed, busy
    ("ProvisioningState/succeeded", PROVISIONING, "succeeded", None, False, False),
    ("ProvisioningState/failed/InternalOperationError", PROVISIONING, "failed", "InternalOperationError", True, False),
    ("ProvisioningState/failed/OSProvisioningTimedOut", PROVISIONING, "failed", "OSProvisioningTimedOut", True, False),
    ("ProvisioningState/failed/VMExtensionProvisioningError", PROVISIONING, "failed", "VMExtensionProvisioningError",
     True, False),
    ("ProvisioningState/failed", PROVISIONING, "failed", None, True, False),
    ("ProvisioningState/creating", PROVISIONING, "creating", None, False, True),
    ("ProvisioningState/updating", PROVISIONING, "updating", None, False, True),
    ("ProvisioningState/deleting", PROVISIONING, "deleting", None, False, True),
    ("ProvisioningState/migrating", PROVISIONING, "migrating", None, False, True),
    ("ProvisioningState/canceled", PROVISIONING, "canceled", None, False, False),
    ("PowerState/running", POWER, "running", None, False, False),
    ("PowerState/deallocating", POWER, "deallocating", None, False, True),
    ("PowerState/starting", POWER, "starting", None, False, True),
    ("PowerState/stopped", POWER, "stopped", None, False, False),
    ("PowerState/deallocated", POWER, "deallocated", None, False, False),
    ("HealthState/unhealthy", HEALTH, "unhealthy", None, False, False),
    ("HealthState/healthy", HEALTH, "healthy", None, False, False),
]  # fmt: skip


@pytest.mark.parametrize("code, kind, state, error, failed, busy", CODES)
def test_one_reader_of_status_codes(code, kind, state, error, failed, busy):
    parsed = status_code(code)
    assert (parsed.kind, parsed.state, parsed.error) == (kind, state, error)
    assert parsed.failed is failed
    assert parsed.busy is busy


@pytest.mark.parametrize("code", [None, "", "ProvisioningState", "ProvisioningState/", "/failed"])
def test_codes_without_a_state_are_not_read(code):
    assert status_code(code) is None


def test_find_status_reads_wire_json_and_sdk_models_alike():
    from azure.mgmt.compute.models import InstanceViewStatus

    wire = [{"code": "PowerState/running"}, {"code": "ProvisioningState/failed/OSProvisioningTimedOut",
                                             "time": "2026-12-04T08:00:00+00:00"}]  # fmt: skip
    models = [InstanceViewStatus(code=s["code"], time=s.get("time")) for s in wire]
    for statuses in (wire, models):
        found, when = find_status(statuses, PROVISIONING)
        assert (found.state, found.error) == ("failed", "OSProvisioningTimedOut") and when
        assert find_status(statuses, POWER)[0].state == "running"
        assert find_status(statuses, HEALTH) == (None, None)


@pytest.mark.parametrize("state, busy", [("Updating", True), ("Creating", True), ("Deleting", True),
                                         ("Migrating", True), ("Succeeded", False), ("Failed", False), (None, False)])
def test_model_provisioning_state(state, busy):
    assert provisioning_busy(state) is busy


@pytest.mark.parametrize(
    "code, kind, state, error, shown, failed, busy",
    [
        ("  PROVISIONINGSTATE/Failed/OSProvisioningTimedOut ", PROVISIONING, "failed", "OSProvisioningTimedOut",
         "failed (OSProvisioningTimedOut)", True, False),
        ("PowerState/Stopping", POWER, "stopping", None, "stopping", False, True),
        ("HealthState/failed", HEALTH, "failed", None, "failed", False, False),  # only provisioning fails
        ("HealthState/updating", HEALTH, "updating", None, "updating", False, False),  # only provisioning and power move
        ("PowerState/updating", POWER, "updating", None, "updating", False, False),
        ("ProvisioningState/stopping", PROVISIONING, "stopping", None, "stopping", False, False),
        ("ProvisioningState/failed/", PROVISIONING, "failed", None, "failed", True, False),
    ],
)
def test_a_code_in_any_case_and_how_it_is_shown(code, kind, state, error, shown, failed, busy):
    parsed = status_code(code)
    assert (parsed.kind, parsed.state, parsed.error, str(parsed)) == (kind, state, error, shown)
    assert (parsed.failed, parsed.busy) == (failed, busy)


def test_find_status_takes_the_first_readable_status_of_its_kind():
    statuses = [{"code": "PowerState"}, {"code": "PowerState/stopped", "time": "t1"},
                {"code": "PowerState/running", "time": "t2"}]
    assert (str(find_status(statuses, "POWERSTATE")[0]), find_status(statuses, POWER)[1]) == ("stopped", "t1")
    assert find_status(None, POWER) == (None, None)
    assert find_status([object(), {"time": "t"}], POWER) == (None, None)


@pytest.mark.parametrize("state", [" updating ", "UPDATING"])
def test_model_provisioning_state_in_any_case(state):
    assert provisioning_busy(state) is True
