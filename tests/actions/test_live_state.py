"""actions.live_state reader by reader: an ARM answer in, the value the executors decide on out.

Each case serves one answer (Azure's shapes: AZURE-FACTS and the REST examples, read in place
where they exist) on a route of one simulated Azure for the whole module, reads it through the
real SDK, and compares the whole value the reader returns. ARM failures of a read name the read
and the resource, and a lost answer is a failed read, never an unknown outcome (that is for
writes). Fast on purpose: scripts/mutants.py mutates live_state.py against this table.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from actions_testbed import FLEET, RG, SUB, ss_id, ssvm_id, vm_id

from actions.errors import AzureCallError, NotApplicableError, OutcomeUnknownError
from actions.live_state import (
    Availability,
    Instance,
    Machine,
    Maintenance,
    ScaleSet,
    ScaleSetView,
    parse_time,
    read_availability,
    read_instances,
    read_machine,
    read_scale_set,
    read_scale_set_view,
)
from arm import ResourceId

HEALTH_PATH = "/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
VM = vm_id("vm-table")
SET = ss_id("ss-table")
SET_VM = ssvm_id("ss-table", 7)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def azure():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=copy.deepcopy(FLEET), operation_delay=0.0) as simulated:
        yield simulated


@pytest.fixture(scope="module")
def arm(azure):
    from actions import AzureClients
    from pipeline.azure import LocalToken

    built = AzureClients(subscription_id=SUB, base_url=azure.base_url, connection_verify=azure.ca_bundle,
                         credential=LocalToken(), polling_interval=0, retry_backoff_factor=0.01)  # fmt: skip
    yield built
    built.close()


@pytest.fixture
def serve(azure):
    """Answer GET on one path (fully matched, case-insensitive) with `answer` for one case;
    returns the requests it saw."""
    routes = []

    def route(path: str, answer: Any) -> list:
        seen: list = []

        def handler(request):
            seen.append(request)
            return answer

        routes.append(azure.add_route("GET", path, handler, counter="reads"))
        return seen

    yield route
    for added in routes:
        azure.server.remove_route(added)


@pytest.fixture
def dropped(azure):
    """Every GET on `path` loses its answer (the connection closes) for one case."""
    added = []

    def drop(path: str) -> None:
        added.append(azure.faults.add("GET", path, "drop", times=None))

    yield drop
    for fault in added:
        azure.faults.remove(fault)


def example(shared_examples, name: str) -> dict[str, Any]:
    document = json.loads((shared_examples / name).read_text(encoding="utf-8"))
    return copy.deepcopy(document["responses"]["200"]["body"])


# -- times as ARM writes them ------------------------------------------------------------------

PLUS_ONE = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, None),
        ("2026-12-04T08:00:00Z", datetime(2026, 12, 4, 8, tzinfo=UTC)),
        ("2026-12-04T08:00:00+00:00", datetime(2026, 12, 4, 8, tzinfo=UTC)),
        ("2026-12-04T08:00:00+01:00", datetime(2026, 12, 4, 8, tzinfo=PLUS_ONE)),
        # ARM's seven fractional digits: Python keeps six
        ("2020-04-24T21:02:04.2556154Z", datetime(2020, 4, 24, 21, 2, 4, 255615, tzinfo=UTC)),
        ("2019-10-14T21:29:47.477089+00:00", datetime(2019, 10, 14, 21, 29, 47, 477089, tzinfo=UTC)),
        ("2026-04-01T04:58:58.0882815+01:00", datetime(2026, 4, 1, 4, 58, 58, 88281, tzinfo=PLUS_ONE)),
        ("2025-07-09T13:26:28.360Z", datetime(2025, 7, 9, 13, 26, 28, 360000, tzinfo=UTC)),
        ("2026-12-04T08:00:00.5", datetime(2026, 12, 4, 8, 0, 0, 500000, tzinfo=UTC)),  # no zone: UTC
        ("2026-12-04T08:00:00", datetime(2026, 12, 4, 8, tzinfo=UTC)),
        ("  2026-12-04T08:00:00Z\n", datetime(2026, 12, 4, 8, tzinfo=UTC)),
        ("soon", None),
        ("", None),
    ],
)
def test_times_are_read_as_arm_writes_them(text, expected):
    read = parse_time(text)
    assert read == expected
    if expected is not None:  # the same instant in the same zone, not only equal instants
        assert read.utcoffset() == expected.utcoffset()


def test_a_time_already_read_is_kept_as_it_is():
    naive = datetime(2026, 12, 4, 8)
    assert parse_time(naive) is naive


# -- Resource Health: the current availability status ------------------------------------------

def test_the_published_availability_status_is_read_whole(arm, serve, shared_examples):
    status = example(shared_examples, "AvailabilityStatuses_ListBySubscriptionId.json")["value"][0]
    seen = serve(VM + HEALTH_PATH, status)
    read = read_availability(arm, ResourceId.parse(VM))
    assert read == Availability(state="Available", summary="Vm is available", reason_type="Unplanned",
                                occurred=datetime(2016, 3, 29, 9, 12, tzinfo=UTC), properties=status["properties"])
    # As sent: one slash before "subscriptions" (the simulated Azure would forgive two; ARM's
    # documented path has one).
    assert [r.raw_path.split("?")[0].lower() for r in seen] == [(VM + HEALTH_PATH).lower()]


@pytest.mark.parametrize(
    "properties, expected",
    [
        # Azure spells it occuredTime; occurredTime is read when that is all there is
        ({"availabilityState": "Degraded", "summary": "degraded hardware", "reasonType": "Unplanned",
          "occuredTime": "2026-12-04T08:00:00Z", "occurredTime": "2026-12-01T00:00:00Z"},
         Availability("Degraded", "degraded hardware", "Unplanned", datetime(2026, 12, 4, 8, tzinfo=UTC))),
        ({"availabilityState": "Unavailable", "occurredTime": "2026-12-04T09:30:00.1234567Z"},
         Availability("Unavailable", "", "", datetime(2026, 12, 4, 9, 30, 0, 123456, tzinfo=UTC))),
        ({}, Availability("Unknown", "", "", None)),
        ({"availabilityState": None, "summary": None, "reasonType": None}, Availability("Unknown", "", "", None)),
    ],
    ids=["both-spellings", "occurredTime-only", "empty", "nulls"],
)
def test_an_availability_status_with_fields_missing(arm, serve, properties, expected):
    serve(VM + HEALTH_PATH, {"name": "current", "properties": properties})
    read = read_availability(arm, ResourceId.parse(VM))
    assert read == Availability(expected.state, expected.summary, expected.reason_type, expected.occurred,
                                properties={k: v for k, v in properties.items()})


def test_a_status_without_properties_is_unknown(arm, serve):
    serve(VM + HEALTH_PATH, {"name": "current"})
    assert read_availability(arm, ResourceId.parse(VM)) == Availability("Unknown")


# -- one machine: its instance view --------------------------------------------------------------

RUNNING = [{"code": "ProvisioningState/succeeded", "time": "2026-12-04T08:00:00Z"},
           {"code": "PowerState/running"}]
PLANNED = {"isCustomerInitiatedMaintenanceAllowed": True,
           "preMaintenanceWindowStartTime": "2026-12-04T00:00:00Z",
           "preMaintenanceWindowEndTime": "2026-12-06T00:00:00.0000000Z",
           "maintenanceWindowStartTime": "2026-12-07T00:00:00Z",
           "maintenanceWindowEndTime": "2026-12-08T00:00:00Z",
           "lastOperationResultCode": "RetryLater", "lastOperationMessage": "try again later"}


def machine(**changes: Any) -> Machine:
    values: dict[str, Any] = {"power_state": "running", "provisioning_state": "succeeded",
                              "provisioning_time": datetime(2026, 12, 4, 8, tzinfo=UTC), "update_domain": None,
                              "fault_domain": None, "health": None, "host": None, "maintenance": None}
    return Machine(**{**values, **changes})


@pytest.mark.parametrize(
    "view, expected",
    [
        ({"statuses": RUNNING}, machine()),
        ({"statuses": RUNNING, "platformUpdateDomain": 3, "platformFaultDomain": 1},
         machine(update_domain=3, fault_domain=1)),
        # the first status of each kind counts; other kinds (HealthState) are not the power state
        ({"statuses": [{"code": "HealthState/unhealthy"}, {"code": "PowerState/Deallocated"},
                       {"code": "PowerState/running"}, {"code": "ProvisioningState/Updating", "time": None}]},
         machine(power_state="deallocated", provisioning_state="updating", provisioning_time=None)),
        ({"statuses": [{"code": "ProvisioningState/failed/OSProvisioningTimedOut", "time": "2026-12-04T07:00:00Z"},
                       {"code": "PowerState/running"}]},
         machine(provisioning_state="failed", provisioning_error="OSProvisioningTimedOut",
                 provisioning_time=datetime(2026, 12, 4, 7, tzinfo=UTC))),
        ({}, machine(power_state=None, provisioning_state=None, provisioning_time=None)),
        ({"statuses": None, "vmHealth": None, "maintenanceRedeployStatus": None},
         machine(power_state=None, provisioning_state=None, provisioning_time=None)),
        # the Application Health extension's state, lower case; anything but a HealthState is none
        ({"statuses": RUNNING, "vmHealth": {"status": {"code": "HealthState/Unhealthy"}}}, machine(health="unhealthy")),
        ({"statuses": RUNNING, "vmHealth": {"status": {"code": "HealthState/initializing"}}},
         machine(health="initializing")),
        ({"statuses": RUNNING, "vmHealth": {"status": {"code": "PowerState/running"}}}, machine()),
        ({"statuses": RUNNING, "vmHealth": {"status": None}}, machine()),
        ({"statuses": RUNNING, "vmHealth": {}}, machine()),
        # a dedicated host is named by its id; anything else there is no host
        ({"statuses": RUNNING, "assignedHost": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/"
                                               "hostGroups/hg/hosts/h1"},
         machine(host="/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/hostGroups/hg/hosts/h1")),
        ({"statuses": RUNNING, "assignedHost": 7}, machine()),
        # maintenance planned: the self-service window, Azure's, and the last attempt's result
        ({"statuses": RUNNING, "maintenanceRedeployStatus": PLANNED},
         machine(maintenance=Maintenance(
             allowed=True, window_start=datetime(2026, 12, 4, tzinfo=UTC), window_end=datetime(2026, 12, 6, tzinfo=UTC),
             azure_window_start=datetime(2026, 12, 7, tzinfo=UTC), azure_window_end=datetime(2026, 12, 8, tzinfo=UTC),
             last_result="RetryLater", last_message="try again later"))),
        ({"statuses": RUNNING, "maintenanceRedeployStatus": {"lastOperationResultCode": "MaintenanceCompleted"}},
         machine(maintenance=Maintenance(False, None, None, None, None, "MaintenanceCompleted", None))),
        ({"statuses": RUNNING, "maintenanceRedeployStatus": {}}, machine()),  # nothing planned
    ],
    ids=["running", "domains", "first-of-each-kind", "failed-with-code", "empty", "nulls", "health-unhealthy",
         "health-initializing", "health-not-a-health-code", "health-no-status", "health-empty", "host", "host-not-text",
         "maintenance", "maintenance-done", "maintenance-empty"],
)
@pytest.mark.parametrize("target", [VM, SET_VM], ids=["vm", "scale-set-vm"])
def test_an_instance_view_is_read_into_the_machine(arm, serve, target, view, expected):
    seen = serve(f"{target}/instanceView", view)
    assert read_machine(arm, ResourceId.parse(target)) == expected
    assert len(seen) == 1


def test_azure_s_published_instance_views(arm, serve, shared_examples):
    serve(f"{VM}/instanceView", example(shared_examples, "VirtualMachine_Get_InstanceView.json"))
    assert read_machine(arm, ResourceId.parse(VM)) == machine(
        provisioning_time=datetime(2019, 10, 14, 21, 30, 12, 805191, tzinfo=UTC), update_domain=1, fault_domain=1)
    on_host = example(shared_examples, "VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json")
    serve(f"{SET_VM}/instanceView", on_host)
    assert read_machine(arm, ResourceId.parse(SET_VM)) == machine(
        provisioning_time=datetime(2020, 6, 5, 4, 59, 58, 185296, tzinfo=UTC), update_domain=0, fault_domain=0,
        host="/subscriptions/{subscription-id}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/"
             "hostGroups/myHostGroup/hosts/myHost")


def test_a_scale_set_is_not_a_machine(arm, azure):
    before = len(azure.requests)
    with pytest.raises(NotApplicableError) as refused:
        read_machine(arm, ResourceId.parse(SET))
    assert len(azure.requests) == before  # refused before any call
    assert str(refused.value) == "reading a machine does not apply to a scale set; it handles: VM, scale-set VM"


@pytest.mark.parametrize(
    "state, power, error, busy, failed, text",
    [
        ("succeeded", "running", None, False, False, "succeeded"),
        ("updating", "running", None, True, False, "updating"),
        ("creating", None, None, True, False, "creating"),
        ("succeeded", "starting", None, True, False, "succeeded"),
        ("succeeded", "deallocating", None, True, False, "succeeded"),
        ("succeeded", "deallocated", None, False, False, "succeeded"),
        (None, "stopping", None, True, False, "unknown"),
        (None, None, None, False, False, "unknown"),
        ("failed", "running", "OSProvisioningTimedOut", False, True, "failed (OSProvisioningTimedOut)"),
        ("failed", "running", None, False, True, "failed"),
    ],
)
def test_what_a_machine_s_states_say(state, power, error, busy, failed, text):
    read = machine(provisioning_state=state, power_state=power, provisioning_error=error)
    assert (read.busy, read.provisioning_failed, read.provisioning_text) == (busy, failed, text)


WINDOW = Maintenance(True, datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC), None, None, None, None)


@pytest.mark.parametrize(
    "window, now, open_",
    [
        (WINDOW, datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC), False),
        (WINDOW, datetime(2026, 12, 4, tzinfo=UTC), True),
        (WINDOW, datetime(2026, 12, 5, tzinfo=UTC), True),
        (WINDOW, datetime(2026, 12, 6, tzinfo=UTC), True),
        (WINDOW, datetime(2026, 12, 6, 0, 0, 1, tzinfo=UTC), False),
        (Maintenance(True, None, datetime(2026, 12, 6, tzinfo=UTC), None, None, None, None),
         datetime(2026, 12, 5, tzinfo=UTC), False),
        (Maintenance(True, datetime(2026, 12, 4, tzinfo=UTC), None, None, None, None, None),
         datetime(2026, 12, 5, tzinfo=UTC), False),
    ],
    ids=["before", "at-start", "inside", "at-end", "after", "no-start", "no-end"],
)
def test_the_self_service_window_is_open_from_its_start_to_its_end(window, now, open_):
    assert window.window_open(now) is open_


# -- scale sets: the instance view and the model ------------------------------------------------

@pytest.mark.parametrize(
    "view, expected",
    [
        ({"orchestrationServices": [
            {"serviceName": "AutomaticRepairs", "serviceState": "Suspended", "lastStatusChangeTime": "2026-12-04T08:00:00Z"},
            {"serviceName": "AutomaticZoneRebalancing", "serviceState": "Running"}],
          "virtualMachine": {"statusesSummary": [{"code": "ProvisioningState/succeeded", "count": 9},
                                                 {"code": "ProvisioningState/failed/OSProvisioningTimedOut", "count": 1}]}},
         ScaleSetView({"AutomaticRepairs": "Suspended", "AutomaticZoneRebalancing": "Running"},
                      {"AutomaticRepairs": datetime(2026, 12, 4, 8, tzinfo=UTC), "AutomaticZoneRebalancing": None},
                      {"ProvisioningState/succeeded": 9, "ProvisioningState/failed/OSProvisioningTimedOut": 1})),
        # a service without a name is no service; one without a state is not running
        ({"orchestrationServices": [{"serviceState": "Running"}, {"serviceName": "AutomaticRepairs"}],
          "virtualMachine": {"statusesSummary": [{"count": 3}, {"code": "PowerState/running"},
                                                 {"code": "PowerState/deallocated", "count": None}]}},
         ScaleSetView({"AutomaticRepairs": "NotRunning"}, {"AutomaticRepairs": None},
                      {"PowerState/running": 0, "PowerState/deallocated": 0})),
        ({}, ScaleSetView({}, {}, {})),
        ({"orchestrationServices": None, "virtualMachine": None}, ScaleSetView({}, {}, {})),
        ({"virtualMachine": {"statusesSummary": None}}, ScaleSetView({}, {}, {})),
    ],
    ids=["services-and-counts", "incomplete-entries", "empty", "nulls", "no-summary"],
)
def test_a_scale_set_instance_view_is_read(arm, serve, view, expected):
    serve(f"{SET}/instanceView", view)
    assert read_scale_set_view(arm, ResourceId.parse(SET)) == expected


def test_azure_s_published_scale_set_instance_view(arm, serve, shared_examples):
    serve(f"{SET}/instanceView", example(shared_examples, "VirtualMachineScaleSet_GetInstanceView_MaximumSet_Gen.json"))
    read = read_scale_set_view(arm, ResourceId.parse(SET))
    assert read == ScaleSetView(
        {"AutomaticRepairs": "NotRunning", "AutomaticZoneRebalancing": "Running"},
        {"AutomaticRepairs": None, "AutomaticZoneRebalancing": datetime(2025, 7, 9, 13, 26, 28, 360000, tzinfo=UTC)},
        {"aa": 21})
    assert (read.repairs_state, read.repairs_changed) == ("NotRunning", None)


@pytest.mark.parametrize(
    "services, changed, state, when",
    [
        ({"AutomaticZoneRebalancing": "Running", "automaticRepairs": "Suspended"},
         {"AutomaticZoneRebalancing": datetime(2026, 1, 1, tzinfo=UTC), "automaticRepairs": datetime(2026, 12, 4, tzinfo=UTC)},
         "Suspended", datetime(2026, 12, 4, tzinfo=UTC)),
        ({"AUTOMATICREPAIRS": "Running"}, {"AUTOMATICREPAIRS": None}, "Running", None),
        ({"AutomaticZoneRebalancing": "Running"}, {"AutomaticZoneRebalancing": datetime(2026, 1, 1, tzinfo=UTC)}, None, None),
    ],
    ids=["among-others", "any-case", "absent"],
)
def test_the_automatic_repairs_service_is_found_by_name_in_any_case(services, changed, state, when):
    view = ScaleSetView(services, changed, {})
    assert (view.repairs_state, view.repairs_changed) == (state, when)


def scale_set(**changes: Any) -> ScaleSet:
    values: dict[str, Any] = {"capacity": 0, "provisioning_state": None, "repairs_enabled": False,
                              "repairs_grace_period": None, "repairs_action": None, "has_health_monitor": False}
    return ScaleSet(**{**values, **changes})


def health_extension(kind: str) -> dict[str, Any]:
    return {"extensionProfile": {"extensions": [
        {"name": "dependency", "properties": {"type": "DependencyAgentLinux"}},
        {"name": "health", "properties": {"publisher": "Microsoft.ManagedServices", "type": kind}}]}}


@pytest.mark.parametrize(
    "model, expected",
    [
        ({"sku": {"capacity": 12}, "properties": {
            "provisioningState": "Succeeded", "orchestrationMode": "Uniform",
            "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M", "repairAction": "Reimage"},
            "virtualMachineProfile": health_extension("ApplicationHealthLinux")}},
         scale_set(capacity=12, provisioning_state="Succeeded", repairs_enabled=True, repairs_grace_period="PT30M",
                   repairs_action="Reimage", has_health_monitor=True)),
        ({"sku": {"capacity": 2}, "properties": {"virtualMachineProfile": health_extension("applicationhealthwindows")}},
         scale_set(capacity=2, has_health_monitor=True)),
        ({"sku": {"capacity": 2}, "properties": {"virtualMachineProfile": health_extension("CustomScript")}},
         scale_set(capacity=2)),
        ({"properties": {"virtualMachineProfile": {"extensionProfile": {"extensions": [{"name": "no-properties"}]}}}},
         scale_set()),
        # a load balancer's health probe is a health monitor too
        ({"properties": {"virtualMachineProfile": {"networkProfile": {"healthProbe": {
            "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/lb/probes/http"}}}}},
         scale_set(has_health_monitor=True)),
        ({"properties": {"virtualMachineProfile": {"networkProfile": {"healthProbe": {}}}}}, scale_set()),
        ({"properties": {"automaticRepairsPolicy": {"enabled": False, "gracePeriod": "PT10M"}}},
         scale_set(repairs_grace_period="PT10M")),
        ({"properties": {"orchestrationMode": "Flexible"}}, scale_set(orchestration_mode="Flexible")),
        ({}, scale_set()),
        ({"sku": None, "properties": None}, scale_set()),
        ({"sku": {"capacity": None}, "properties": {"automaticRepairsPolicy": None, "virtualMachineProfile": None,
                                                    "orchestrationMode": None}}, scale_set()),
    ],
    ids=["everything", "health-extension-any-case", "other-extension", "extension-without-properties",
         "health-probe", "probe-without-id", "repairs-off", "flexible", "empty", "nulls", "nested-nulls"],
)
def test_a_scale_set_model_is_read(arm, serve, model, expected):
    serve(SET, model)
    read = read_scale_set(arm, ResourceId.parse(SET))
    assert read == expected
    assert read.flexible is (expected.orchestration_mode == "Flexible")


def test_azure_s_published_scale_set_with_automatic_repairs(arm, serve, shared_examples):
    serve(SET, example(shared_examples, "VirtualMachineScaleSet_Create_WithAutomaticRepairs.json"))
    assert read_scale_set(arm, ResourceId.parse(SET)) == scale_set(
        capacity=3, provisioning_state="Creating", repairs_enabled=True, repairs_grace_period="PT10M")


@pytest.mark.parametrize("mode, flexible", [("Flexible", True), ("flexible", True), ("FLEXIBLE", True),
                                            ("Uniform", False), ("", False)])
def test_a_flexible_set_is_known_by_its_mode_in_any_case(mode, flexible):
    assert scale_set(orchestration_mode=mode).flexible is flexible


# -- the machines of a scale set -----------------------------------------------------------------

def listed(*machines: dict[str, Any]) -> dict[str, Any]:
    return {"value": list(machines)}


def uniform_vm(number: int | None, name: str | None = None, **properties: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name or f"ss-table_{number}", "id": ssvm_id("ss-table", number if number is not None
                                                                                      else "x"),
                             "properties": properties}
    if number is not None:
        entry["instanceId"] = str(number)
    return entry


@pytest.mark.parametrize(
    "machines, expected",
    [
        ([uniform_vm(0, provisioningState="Succeeded"), uniform_vm(3, provisioningState="Failed")],
         [Instance("0", "Succeeded", None, ssvm_id("ss-table", 0)), Instance("3", "Failed", None, ssvm_id("ss-table", 3))]),
        # without a model-level state, the instance view's, capitalised; neither: succeeded
        ([uniform_vm(1, instanceView={"statuses": [{"code": "PowerState/running"},
                                                   {"code": "ProvisioningState/failed/OSProvisioningTimedOut"}]}),
          uniform_vm(2, instanceView={"statuses": [{"code": "ProvisioningState/updating"}]}),
          uniform_vm(4, instanceView={"statuses": [{"code": "PowerState/running"}]}),
          uniform_vm(5)],
         [Instance("1", "Failed", None, ssvm_id("ss-table", 1)), Instance("2", "Updating", None, ssvm_id("ss-table", 2)),
          Instance("4", "Succeeded", None, ssvm_id("ss-table", 4)), Instance("5", "Succeeded", None, ssvm_id("ss-table", 5))]),
        # health from the instance view's vmHealth
        ([uniform_vm(6, provisioningState="Succeeded", instanceView={"vmHealth": {"status": {"code": "HealthState/unhealthy"}}}),
          uniform_vm(8, provisioningState="Succeeded", instanceView={"vmHealth": {"status": {"code": "HealthState/Healthy"}}})],
         [Instance("6", "Succeeded", "unhealthy", ssvm_id("ss-table", 6)),
          Instance("8", "Succeeded", "healthy", ssvm_id("ss-table", 8))]),
        # no instanceId: the number after the name's last "_"
        ([uniform_vm(None, name="ss_table_12", provisioningState="Succeeded")],
         [Instance("12", "Succeeded", None, ssvm_id("ss-table", "x"))]),
        ([{"instanceId": "5", "properties": {"provisioningState": "Succeeded"}}], [Instance("5", "Succeeded", None, "")]),
        ([{"properties": {"provisioningState": "Creating"}}], [Instance("", "Creating", None, "")]),
        ([], []),
    ],
    ids=["states", "state-from-the-view", "health", "id-from-the-name", "id-without-a-name", "bare", "none"],
)
def test_a_uniform_set_s_instances_are_listed(arm, serve, machines, expected):
    seen = serve(f"{SET}/virtualMachines", listed(*machines))
    assert read_instances(arm, ResourceId.parse(SET), flexible=False) == expected
    assert [r.param("$expand") for r in seen] == [None]


def test_instances_listed_with_health_ask_for_their_instance_views(arm, serve):
    seen = serve(f"{SET}/virtualMachines", listed(uniform_vm(1, provisioningState="Succeeded")))
    read_instances(arm, ResourceId.parse(SET), with_health=True, flexible=False)
    assert [r.param("$expand") for r in seen] == ["instanceView"]


def flexible_vm(name: str, **properties: Any) -> dict[str, Any]:
    return {"name": name, "id": vm_id(name), "properties": properties}


@pytest.mark.parametrize(
    "machines, expected",
    [
        ([flexible_vm("flex_a1", provisioningState="Succeeded",
                      instanceView={"statuses": [{"code": "ProvisioningState/succeeded"}],
                                    "vmHealth": {"status": {"code": "HealthState/Unhealthy"}}}),
          flexible_vm("flex_b2", instanceView={"statuses": [{"code": "ProvisioningState/creating"}]}),
          flexible_vm("flex_c3")],
         [Instance("flex_a1", "Succeeded", "unhealthy", vm_id("flex_a1")), Instance("flex_b2", "Creating", None, vm_id("flex_b2")),
          Instance("flex_c3", "Succeeded", None, vm_id("flex_c3"))]),
        # a failed provisioning in the instance view wins over the model's state
        ([flexible_vm("flex_d4", provisioningState="Succeeded",
                      instanceView={"statuses": [{"code": "ProvisioningState/failed/VMExtensionProvisioningError"}]}),
          flexible_vm("flex_e5", instanceView={"statuses": [{"code": "ProvisioningState/failed"}]})],
         [Instance("flex_d4", "Failed", None, vm_id("flex_d4")), Instance("flex_e5", "Failed", None, vm_id("flex_e5"))]),
        ([{"properties": {"provisioningState": "Deleting"}}], [Instance("", "Deleting", None, "")]),
    ],
    ids=["states-and-health", "failed-in-the-view", "bare"],
)
def test_a_flexible_set_s_machines_are_its_vms(arm, serve, machines, expected):
    seen = serve(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines",
                 listed(*machines))
    assert read_instances(arm, ResourceId.parse(SET), flexible=True) == expected
    assert [(r.param("$filter"), r.param("$expand")) for r in seen] == [
        (f"'virtualMachineScaleSet/id' eq '{SET}'", "instanceView")]


@pytest.mark.parametrize("mode", ["Flexible", "Uniform"])
def test_a_set_s_mode_unknown_to_the_caller_is_read_from_its_model(arm, serve, mode):
    models = serve(SET, {"sku": {"capacity": 1}, "properties": {"orchestrationMode": mode}})
    uniform = serve(f"{SET}/virtualMachines", listed(uniform_vm(1, provisioningState="Succeeded")))
    flexible = serve(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines",
                     listed(flexible_vm("flex_a1", provisioningState="Succeeded")))
    read = read_instances(arm, ResourceId.parse(SET))
    assert (len(models), len(uniform), len(flexible)) == ((1, 0, 1) if mode == "Flexible" else (1, 1, 0))
    assert [i.instance_id for i in read] == (["flex_a1"] if mode == "Flexible" else ["1"])


def test_the_instances_of_a_set_named_by_one_of_its_machines_are_the_set_s(arm, serve):
    seen = serve(f"{SET}/virtualMachines", listed(uniform_vm(7, provisioningState="Succeeded")))
    assert [i.instance_id for i in read_instances(arm, ResourceId.parse(SET_VM), flexible=False)] == ["7"]
    assert len(seen) == 1


# -- a resource in another subscription than the clients' default -------------------------------

OTHER = "00000000-0000-0000-0000-0000000000b2"


def elsewhere(rid: str) -> str:
    return rid.replace(SUB, OTHER)


@pytest.mark.parametrize(
    "reader, target, path, answer",
    [
        (read_machine, VM, f"{VM}/instanceView", {"statuses": RUNNING}),
        (read_machine, SET_VM, f"{SET_VM}/instanceView", {"statuses": RUNNING}),
        (read_scale_set_view, SET, f"{SET}/instanceView", {}),
        (read_scale_set, SET, SET, {}),
        (lambda clients, ref: read_instances(clients, ref, flexible=False), SET, f"{SET}/virtualMachines", listed()),
        (lambda clients, ref: read_instances(clients, ref, flexible=True), SET,
         f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines", listed()),
    ],
    ids=["vm", "scale-set-vm", "scale-set-view", "scale-set", "instances", "flexible-machines"],
)
def test_a_resource_is_read_in_its_own_subscription(arm, serve, reader, target, path, answer):
    seen = serve(elsewhere(path), answer)
    reader(arm, ResourceId.parse(elsewhere(target)))
    assert len(seen) == 1


# -- a read ARM refuses or whose answer is lost --------------------------------------------------

NOT_FOUND = (404, {"error": {"code": "ResourceNotFound", "message": "The resource was not found."}})

READS = [
    (read_availability, VM, VM + HEALTH_PATH, f"reading the availability status of {VM}"),
    (read_machine, VM, f"{VM}/instanceView", f"reading the instance view of {VM}"),
    (read_machine, SET_VM, f"{SET_VM}/instanceView", f"reading the instance view of {SET_VM}"),
    (read_scale_set_view, SET_VM, f"{SET}/instanceView", f"reading the instance view of scale set {SET}"),
    (read_scale_set, SET_VM, SET, f"reading scale set {SET}"),
    (lambda clients, ref: read_instances(clients, ref, flexible=False), SET, f"{SET}/virtualMachines",
     f"listing the instances of scale set {SET}"),
    (lambda clients, ref: read_instances(clients, ref, flexible=True), SET_VM,
     f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines",
     f"listing the VMs of Flexible scale set {SET}"),
]
READ_IDS = ["availability", "vm", "scale-set-vm", "scale-set-view", "scale-set", "instances", "flexible-machines"]


@pytest.mark.parametrize("reader, target, path, what", READS, ids=READ_IDS)
def test_a_read_arm_refuses_names_the_read_and_the_resource(arm, serve, reader, target, path, what):
    serve(path, NOT_FOUND)
    with pytest.raises(AzureCallError) as failed:
        reader(arm, ResourceId.parse(target))
    assert str(failed.value).startswith(f"{what} failed: "), str(failed.value)
    assert "The resource was not found." in str(failed.value)
    assert (failed.value.status, failed.value.code) == (404, "ResourceNotFound")


@pytest.mark.parametrize("reader, target, path, what", READS, ids=READ_IDS)
def test_a_read_whose_answer_is_lost_failed_and_changed_nothing(arm, serve, dropped, reader, target, path, what):
    serve(path, {})
    dropped(path.replace(".", r"\.") + "(\\?|$)")
    with pytest.raises(AzureCallError) as failed:
        reader(arm, ResourceId.parse(target))
    assert not isinstance(failed.value, OutcomeUnknownError)  # a read is safe to send again
    assert str(failed.value).startswith(f"{what}: no answer"), str(failed.value)

