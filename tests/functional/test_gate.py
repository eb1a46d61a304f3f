"""The one gate, on every road to a write, against the simulated Azure.

Each case is one of the holes the gate closes: an approval decided after a pause or a scope
change, a deferred or recovered operation, a wave turn after its group left the scope, a tag
that tries to lift a mode past RESPONDER_MODE or a pause, a platform's machine, a claim the
live state does not show, a stale or future event, a repeat that is one occurrence delivered
twice, a tag value nobody understands, the temporary disk, and owners' own deallocations in
the storm breaker. And no road writes without the gate's permit.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from approvals import settle
from pipeline import Settings, SettingsError
from pipeline.azure import LocalToken, connector
from tests import builders as b
from tests.approvals.conftest import SECRET, with_approvals
from tests.conftest import DEMO_SUBSCRIPTION, ROOT, Clock, accepted_writes, deliver, policy_file, tick_until_done
from wiring import build_pipeline


def vm(name: str, rg: str = "rg-demo") -> str:
    return b.vm_id(name, rg=rg, sub=DEMO_SUBSCRIPTION)


@pytest.fixture
def now_clock():
    return Clock(datetime.now(UTC))


def ago(**span) -> str:
    return (datetime.now(UTC) - timedelta(**span)).isoformat()


def rebuilt(pipeline, sim, **changes):
    """The same ledger under other settings: the app redeployed with a new scope or mode."""
    settings = Settings(**{"mode": "approve", "azure": "sim", "approval_secret": SECRET,
                           "subscriptions": (DEMO_SUBSCRIPTION,), **changes})
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    return build_pipeline(settings, ledger=pipeline.ledger, connect=connect, notifier=False)


def awaiting(pipeline, target: str = vm("vm-degraded-hw")):
    outcome = deliver(pipeline, b.annotated(target=target))
    assert outcome.status == "awaiting-approval", outcome.reason
    (record,) = with_approvals(pipeline).pending()
    return record


# -- approvals: decided through the gate -----------------------------------------------------

@pytest.mark.parametrize(
    "change, why",
    [
        (lambda p, sim: p.safety.pause("bob"), "automation is paused (paused by bob"),
        (lambda p, sim: rebuilt(p, sim, paused=True), "automation is paused (RESPONDER_PAUSED is true)"),
        (lambda p, sim: rebuilt(p, sim, resource_groups_exclude=("RG-Demo",)), "out of scope: resource group rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
        (lambda p, sim: rebuilt(p, sim, subscriptions=("00000000-0000-0000-0000-0000000f0e19",)), "out of scope: subscription"),
        (lambda p, sim: rebuilt(p, sim, mode="observe"), "the mode in force"),
        (lambda p, sim: sim.fleet.vm("vm-degraded-hw").tags.update({"responder-mode": "off"}), "mode tag: the resource's responder-mode tag is off"),
        (lambda p, sim: sim.fleet.vm("vm-degraded-hw").tags.update({"aks-managed-poolName": "np1"}), "left alone: managed by AKS"),
    ],
    ids=["paused-by-switch", "paused-by-setting", "group-excluded", "subscription-left", "mode-lowered", "tag-off", "aks"],
)
def test_an_approval_given_after_the_world_changed_writes_nothing(acting, sim, change, why):
    pipeline = acting("approve")
    record = awaiting(pipeline)
    now = change(pipeline, sim) or pipeline
    decided = with_approvals(now).decide_by_id(record.id, "approve", "alice@contoso.example")
    outcome = settle(now, decided)
    assert outcome.status == "skipped", outcome.reason
    assert why in outcome.reason or (why == "the mode in force" and "not acting" in outcome.reason), outcome.reason
    assert not accepted_writes(sim)


def test_an_approval_by_link_after_a_pause_writes_nothing(acting, sim):
    import azure.functions as func

    from handlers import approvals, runtime
    from tests.approvals.test_route import call, confirm

    app = func.FunctionApp()
    app.register_functions(approvals.bp)
    (route,) = app.get_functions()
    pipeline = acting("approve")
    record = awaiting(pipeline)
    pending = with_approvals(pipeline).pending_of(record)
    pipeline.safety.pause("bob")
    runtime.use(pipeline)
    try:
        response = call(route, "POST", pending.approve_url, **confirm("approve"))
    finally:
        runtime.use(None)
    assert response.status_code == 200
    assert "automation is paused" in response.get_body().decode()
    assert not accepted_writes(sim)


# -- the tick: deferred and recovered operations ---------------------------------------------

def deferred(pipeline, target: str) -> int:
    """An operation whose state could not be read when it was decided: the tick verifies it."""
    from pipeline.gate import WriteRequest

    request = WriteRequest(road="signal", action="redeploy", resource_id=target, incident_id="INC-deferred",
                           signal_id=None, mode="auto", evidence=("platform-unhealthy",))
    return pipeline.ledger.record_intent("INC-deferred", None, "redeploy", target, "auto", request.stored_params(), {},
                                         pipeline.clock(), state="verifying")


@pytest.mark.parametrize("state", ["verifying", "intent"])
@pytest.mark.parametrize(
    "change, why",
    [
        (lambda p, sim: p.safety.pause("bob"), "automation is paused"),
        (lambda p, sim: rebuilt(p, sim, mode="auto", resource_groups_exclude=("rg-demo",)), "out of scope"),
        (lambda p, sim: sim.fleet.vm("vm-degraded-hw").tags.update({"Vendor": "Databricks"}), "left alone: managed by Databricks"),
    ],
    ids=["paused", "excluded", "databricks"],
)
def test_the_tick_writes_nothing_a_pause_scope_or_platform_forbids(acting, sim, state, change, why):
    pipeline = acting("auto")
    op = deferred(pipeline, vm("vm-degraded-hw"))
    if state == "intent":  # a worker recorded the intent and died before the write
        pipeline.ledger.update_operation(op, pipeline.clock(), state="intent", expect_state="verifying")
    now = change(pipeline, sim) or pipeline
    (ended,) = now.tick()
    assert ended.status == "skipped" and why in ended.reason, ended.reason
    assert not accepted_writes(sim)


def test_a_deferred_operation_passes_the_gate_and_writes_once(acting, sim):
    pipeline = acting("auto")
    deferred(pipeline, vm("vm-degraded-hw"))
    ended = tick_until_done(pipeline)
    assert [o.status for o in ended] == ["succeeded"]
    assert len(accepted_writes(sim, "/redeploy")) == 1


# -- waves: a turn after the group left the scope ----------------------------------------------

def test_a_wave_member_is_not_started_after_its_group_left_the_scope(acting, sim, tmp_path, now_clock):
    import yaml

    from sweep import Scope, Sweeper, sweep_into
    from tests.waves.conftest import ALWAYS, maintained

    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    document["maintenance"]["window"] = ALWAYS
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    pipeline = acting("auto", clock=now_clock, policy_path=path)
    sweeper = Sweeper(pipeline.remediator.connect, Scope((DEMO_SUBSCRIPTION,), (), ()), now_clock, page_size=sim.page_size)
    report = sweep_into(pipeline, sweeper)
    assert {o.status for o in report.outcomes if o.action == "perform-maintenance"} >= {"planned"}
    assert not maintained(sim), "enrolling starts nothing"
    pipeline.safety.settings = replace(pipeline.safety.settings, resource_groups_exclude=("RG-DEMO",))  # redeployed
    ended = pipeline.tick()
    assert not maintained(sim), [(o.status, o.reason) for o in ended]
    skipped = [o for o in ended if o.action == "perform-maintenance"]
    assert skipped and all(o.status == "skipped" and "out of scope" in o.reason for o in skipped)


# -- the mode in force: a ceiling, and nothing raises while paused ------------------------------

@pytest.mark.parametrize(
    "responder_mode, paused, tag, status",
    [
        (None, False, "auto", "started"),  # the rule allows a tag to raise it to auto
        ("observe", False, "auto", "planned"),  # RESPONDER_MODE is the ceiling
        ("approve", False, "auto", "awaiting-approval"),
        (None, True, "auto", "planned"),  # nothing raises a mode while paused
        (None, False, "disabled", "skipped"),  # a value nobody understands is off
    ],
)
def test_a_tag_never_lifts_a_mode_past_the_ceiling_or_a_pause(acting, sim, tmp_path, responder_mode, paused, tag, status):
    path = policy_file(tmp_path, rules={"accelerated-networking-unhealthy": {"mode": "observe", "tag_may_raise_to": "auto"}})
    pipeline = acting(responder_mode, policy_path=path)
    if paused:
        pipeline.safety.pause("bob")
    sim.fleet.vm("vm-accelnet").tags["responder-mode"] = tag
    outcome = deliver(pipeline, b.annotated("AccelnetUnhealthy", target=vm("vm-accelnet")))
    assert outcome.status == status, outcome.reason
    assert bool(accepted_writes(sim)) is (status == "started")
    if tag == "disabled":
        assert "'disabled'" in outcome.reason and "means off" in outcome.reason
        (row,) = [r for r in pipeline.ledger.history() if r["status"] == "skipped"]
        assert "mode tag: the resource's responder-mode tag value 'disabled'" in str(row["brakes"])


# -- platforms' machines are left alone -----------------------------------------------------------

@pytest.mark.parametrize(
    "mark, platform",
    [
        (lambda v, g: v.tags.update({"aks-managed-poolName": "nodepool1"}), "AKS"),
        (lambda v, g: v.tags.update({"Vendor": "Databricks"}), "Databricks"),
        (lambda v, g: v.extensions.append({"name": "sf", "publisher": "Microsoft.Azure.ServiceFabric",
                                           "type": "ServiceFabricNode", "typeHandlerVersion": "1.1"}), "Service Fabric"),
        (lambda v, g: setattr(v, "managed_by", "/subscriptions/x/resourceGroups/y/providers/Microsoft.Batch/batchAccounts/b"), "managed by"),
    ],
    ids=["aks", "databricks", "service-fabric", "managed-by"],
)
def test_a_platform_managed_machine_is_left_alone(acting, sim, mark, platform):
    mark(sim.fleet.vm("vm-degraded-hw"), None)
    outcome = deliver(acting("auto"), b.annotated(target=vm("vm-degraded-hw")))
    assert outcome.status == "skipped" and outcome.reason.startswith("left alone: managed by"), outcome.reason
    assert platform in outcome.reason
    assert not accepted_writes(sim)


# -- the claim, not any illness ------------------------------------------------------------------

def test_accelnet_on_a_vm_down_for_another_reason_is_not_redeployed(acting, sim):
    machine = sim.fleet.vm("vm-host-crash")  # Unavailable after a host crash; no Accelnet annotation
    outcome = deliver(acting("auto"), b.annotated("AccelnetUnhealthy", target=vm("vm-host-crash")))
    assert machine.availability_state == "Unavailable"
    assert outcome.status == "skipped", outcome.reason
    assert "AccelnetUnhealthy is no longer active" in outcome.reason and "not Degraded" in outcome.reason
    assert "needs annotation-active or platform-degraded" in outcome.reason
    assert not accepted_writes(sim)


def test_a_provisioning_time_out_reimages_only_an_instance_that_failed_provisioning(acting, sim):
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    instance = sorted(sim.fleet.scale_set("vmss-web").instances)[0]
    sim.fleet.instance("vmss-web", instance).availability_state = "Degraded"  # ill, but it provisioned fine
    target = f"{web}/virtualMachines/{instance}"
    outcome = deliver(acting("auto"), b.annotated("VirtualMachineProvisioningTimedOut", target=target))
    assert outcome.status == "skipped" and "not failed with a time-out" in outcome.reason, outcome.reason
    assert not accepted_writes(sim)


@pytest.mark.parametrize("hours, acted", [(5.9, True), (6.1, False), (72, False)])
def test_an_event_older_than_max_event_age_is_told_never_acted_on(acting, sim, hours, acted):
    outcome = deliver(acting("auto"), b.annotated(target=vm("vm-degraded-hw"), when=ago(hours=hours)))
    if acted:
        assert outcome.status == "started", outcome.reason
    else:
        assert outcome.status == "skipped" and "max_event_age 6 h" in outcome.reason and "never acted on" in outcome.reason
        assert not accepted_writes(sim)


@pytest.mark.parametrize("minutes, rejected", [(4, False), (6, True), (60 * 24 * 365 * 73, True)])
def test_an_event_from_the_future_is_rejected(acting, sim, minutes, rejected):
    when = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()
    outcome = deliver(acting("auto"), b.annotated(target=vm("vm-degraded-hw"), when=when))
    assert (outcome.status == "rejected") is rejected, outcome.reason
    if rejected:
        assert "occurredTime" in outcome.reason and "in the future" in outcome.reason
        assert not accepted_writes(sim)


# -- repeats are occurrences, not deliveries -----------------------------------------------------

@pytest.mark.parametrize(
    "second, repeat",
    [
        (lambda first: first, False),  # the same crash under another event id
        (lambda first: ago(days=5), False),  # a crash five days ago, delivered late
        (lambda first: ago(minutes=5), True),  # a second crash within the day
    ],
    ids=["same-occurrence", "late-delivery", "second-crash"],
)
def test_a_repeat_counts_distinct_occurrences_inside_the_window(acting, sim, second, repeat):
    pipeline = acting("auto")
    first = ago(hours=3)
    deliver(pipeline, b.annotated("VirtualMachineHostCrashed", target=vm("vm-host-crash"), when=first))
    outcome = deliver(pipeline, b.annotated("VirtualMachineHostCrashed", target=vm("vm-host-crash"), when=second(first)))
    assert (outcome.rule == "host-crashed-again") is repeat, (outcome.rule, outcome.reason)
    assert bool(accepted_writes(sim)) is repeat


# -- the temporary disk ---------------------------------------------------------------------------

def test_a_vm_keeping_data_on_its_temporary_disk_waits_for_a_person_even_in_auto_mode(acting, sim):
    sim.fleet.vm("vm-degraded-hw").tags["large-temp-disk"] = "true"
    pipeline = acting("auto")
    outcome = deliver(pipeline, b.annotated(target=vm("vm-degraded-hw")))
    assert outcome.status == "awaiting-approval", outcome.reason
    assert "temporary-disk data is lost" in outcome.reason
    assert not accepted_writes(sim)
    (record,) = with_approvals(pipeline).pending()
    approved = settle(pipeline, with_approvals(pipeline).decide_by_id(record.id, "approve", "alice"))
    assert approved.status == "started" and "temporary-disk data is lost" in approved.reason
    assert len(accepted_writes(sim, "/redeploy")) == 1


# -- the scope is required to act ------------------------------------------------------------------

@pytest.mark.parametrize("mode, refused", [("auto", True), ("approve", True), ("observe", False)])
def test_the_acting_modes_refuse_to_start_without_a_subscription_scope(sim, ledger, mode, refused):
    settings = Settings(mode=mode, azure="sim", approval_secret=SECRET)
    connect = connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken())
    if refused:
        with pytest.raises(SettingsError, match="RESPONDER_SUBSCRIPTIONS"):
            build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    else:
        assert build_pipeline(settings, ledger=ledger, connect=connect, notifier=False).remediator is not None


# -- storms are the platform's ---------------------------------------------------------------------

@pytest.mark.parametrize("annotation_first", [True, False])
def test_owners_deallocating_vms_do_not_trip_the_storm_breaker(acting, sim, annotation_first):
    pipeline = acting("auto")
    for index in range(12):  # twelve VMs deallocated at night by their owner
        target = vm(f"vm-night-{index}")
        owner = b.annotated("VirtualMachineDeallocationInitiated", target=target, context="Customer Initiated",
                            category="Not Applicable", when=ago(minutes=2))
        down = b.availability("Unavailable", target=target, when=ago(minutes=1))
        for payload in ((owner, down) if annotation_first else (down, owner)):
            deliver(pipeline, payload)
    outcome = deliver(pipeline, b.annotated(target=vm("vm-degraded-hw")))
    assert outcome.status == "started", outcome.reason


def test_platform_outages_still_trip_the_storm_breaker(acting, sim):
    pipeline = acting("auto")
    for index in range(11):
        deliver(pipeline, b.availability("Unavailable", target=vm(f"vm-gone-{index}"), when=ago(minutes=1)))
    outcome = deliver(pipeline, b.annotated(target=vm("vm-degraded-hw")))
    assert outcome.status == "skipped" and outcome.reason.startswith("storm breaker:"), outcome.reason


# -- no road writes around the gate ------------------------------------------------------------------

PRODUCT = [path for path in ROOT.rglob("*.py")
           if not {".venv", "tests", "node_modules", "bench", "sim"} & set(path.relative_to(ROOT).parts)]


def calls_of(attribute: str) -> list[str]:
    found = []
    for path in PRODUCT:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute:
                found.append(f"{path.relative_to(ROOT)}:{ast.unparse(node.func.value)}")
    return sorted(found)


def test_only_the_remediation_calls_an_executor_write_and_only_the_gate_issues_permits():
    starts = [c for c in calls_of("start") if c.split(":")[1] not in ("thread", "self._thread", "server_thread")]
    assert [c for c in starts if "executor" in c] == ["pipeline/remediation.py:executor"]
    assert calls_of("proceed") == ["pipeline/remediation.py:executor"]
    offices = [c for c in (f"{p.relative_to(ROOT)}" for p in PRODUCT if "PermitOffice()" in p.read_text())]
    assert offices == ["pipeline/gate.py"]
    issuers = calls_of("issue")
    assert issuers == ["pipeline/gate.py:self._office"]


def test_an_executor_refuses_to_write_without_a_permit(sim):
    from actions import AzureClients, registry
    from actions.errors import UnpermittedWriteError

    clients = AzureClients(subscription_id=DEMO_SUBSCRIPTION, base_url=sim.base_url, connection_verify=sim.ca_bundle,
                           credential=LocalToken(), polling_interval=0)
    for action, target in [("redeploy", vm("vm-degraded-hw")), ("restart", vm("vm-accelnet"))]:
        with pytest.raises(UnpermittedWriteError):
            registry.get(action).start(clients, target, {}, permit=None)
    assert not accepted_writes(sim)


def test_the_vms_of_a_flexible_scale_set_share_its_in_flight_cap(ledger):
    from pipeline.safety import Safety, member_of
    from rules import load_policy

    flex = f"/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachineScaleSets/flex"
    one, two = vm("flex_1a2b3c4d", "rg-app"), vm("flex_5e6f7a8b", "rg-app")
    assert member_of(one, flex) == flex and member_of(flex, flex) is None and member_of(one, None) is None
    safety = Safety(Settings(subscriptions=(DEMO_SUBSCRIPTION,)), load_policy(), ledger, lambda: datetime.now(UTC))
    assert safety.reserve(one, "INC-1:redeploy", 4, scale_set=flex) is None
    refusal = safety.reserve(two, "INC-2:redeploy", 4, scale_set=flex)
    assert refusal and refusal.startswith("in-flight cap: 1 instances of scale set flex")
    safety.release(one, "INC-1:redeploy", scale_set=flex)
    assert safety.reserve(two, "INC-2:redeploy", 4, scale_set=flex) is None
