"""The default policy, decided through the pipeline, and the policy file's own checks."""

from __future__ import annotations

from datetime import UTC

import pytest
import yaml

from intake.deliveries import parse_delivery
from rules import PolicyError, load_catalog, parse_policy
from rules.matchers import MATCHERS
from rules.policy import DEFAULT_PATH
from tests import builders as b


def decide(pipeline, payload):
    delivery = parse_delivery(b.body(payload), "test")
    assert not delivery.rejections, delivery.rejections
    (outcome,) = pipeline.process(delivery)
    return outcome


DEFAULT_POLICY_CASES = [
    # payload, action, rule
    (lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure"), "redeploy", "degraded-hardware"),
    (lambda: b.annotated("VirtualMachineMigrationScheduledForDegradedHardware"), "redeploy", "degraded-hardware"),
    (lambda: b.annotated("VirtualMachineScheduledForServiceHealing"), "redeploy", "degraded-hardware"),
    (lambda: b.annotated("AccelnetUnhealthy"), "redeploy", "accelerated-networking-unhealthy"),
    # Azure's 2026 names: redeploy where it strongly recommends it (no live migration, a deadline,
    # a grace period); wait where it will live-migrate.
    (lambda: b.annotated("PossiblyDegradedDueToHardwareFailureWithRedeployDeadline"), "redeploy", "degraded-hardware"),
    (lambda: b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadline"), "redeploy", "degraded-hardware"),
    (lambda: b.annotated("VirtualMachineScheduledForMigrationWithGracePeriod"), "redeploy", "degraded-hardware"),
    *[(lambda n=n: b.annotated(n), "redeploy", "degraded-hardware-live-migration-not-available") for n in (
        "VirtualMachinePossiblyDegradedDueToHardwareFailureLiveMigrationNotEligible",
        "VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadlineLiveMigrationNotEligible",
        "VirtualMachineScheduledForServiceHealingLiveMigrationNotEligible",
        "VirtualMachineMigrationScheduledForDegradedHardwareLiveMigrationNotEligible")],
    *[(lambda n=n: b.annotated(n), "none", "degraded-hardware-live-migration-eligible") for n in (
        "VirtualMachinePossiblyDegradedDueToHardwareFailureLiveMigrationEligible",
        "VirtualMachinePossiblyDegradedDueToHardwareFailureWithRedeployDeadlineLiveMigrationEligible",
        "VirtualMachineScheduledForServiceHealingLiveMigrationEligible",
        "VirtualMachineMigrationScheduledForDegradedHardwareLiveMigrationEligible")],
    (lambda: b.annotated("VirtualMachineMigratedDueToHardwareFailure"), "none", "catalog"),
    (lambda: b.annotated("NetworkUnhealthy"), "none", "catalog"),
    (lambda: b.annotated("VirtualMachineStopInitiatedByControlPlaneTrackingId", context="Customer Initiated"), "none", "customer-and-guest-initiated"),
    (lambda: b.annotated("VirtualMachineFailedSecureKeyRelease", context="Customer Initiated"), "none", "customer-and-guest-initiated"),
    (lambda: b.annotated("NetworkDatapathLiveMigrationSerializationError"), "redeploy", "network-lost-after-live-migration"),
    (lambda: b.annotated("VirtualMachineHostCrashed"), "none", "host-crashed-once"),
    (lambda: b.annotated("VirtualMachineProvisioningTimedOut", target=b.instance_id()), "reimage", "provisioning-timed-out-scale-set-instance"),
    (lambda: b.annotated("VirtualMachineProvisioningTimedOut", target=b.vm_id()), "none", "provisioning-timed-out-vm"),
    (lambda: b.annotated("VirtualMachineRestarted", context="Customer Initiated", category="Not Applicable"), "none", "customer-and-guest-initiated"),
    (lambda: b.annotated("VirtualMachineCrashed", context="VM Initiated", category="Not Applicable"), "none", "customer-and-guest-initiated"),
    (lambda: b.annotated("VirtualMachineSizeChanged", context="User-initiated"), "none", "customer-and-guest-initiated"),
    (lambda: b.annotated("LiveMigrationSucceeded"), "none", "catalog"),
    (lambda: b.annotated("VirtualMachineBrandNewAnnotation"), "none", "catalog"),
    (lambda: b.availability("Unavailable"), "none", "catalog"),
    (lambda: b.availability("Available", previous="Unavailable"), "none", "resolution"),
    (lambda: b.scheduled("Reboot"), "none", "catalog"),
    (lambda: b.scheduled("Terminate", source="User"), "none", "customer-and-guest-initiated"),
    (lambda: b.service_health("Maintenance", "Planned"), "none", "catalog"),
    (lambda: b.service_health("Incident", "Active"), "none", "catalog"),
    (lambda: b.service_health("Incident", "Resolved"), "none", "resolution"),
    (lambda: b.resource_health("Unavailable", cause="PlatformInitiated"), "none", "catalog"),
    (lambda: b.resource_health("Available", previous="Unavailable"), "none", "resolution"),
    (lambda: b.orchestration_changed(), "resume-automatic-repairs", "repairs-suspended"),
    (lambda: b.orchestration_changed(request_action="Suspend"), "none", "catalog"),
    (lambda: b.orchestration_changed(caller="alice@contoso.example"), "none", "catalog"),  # a person: held
    (lambda: b.orchestration_changed(caller=""), "none", "catalog"),  # cannot be told: not resumed
    (lambda: b.orchestration_changed(request_action="Resume"), "none", "resolution"),
    (lambda: b.legacy("ResourceHealth"), "none", "catalog"),
    (lambda: b.legacy("ServiceHealth"), "none", "catalog"),
]


@pytest.mark.parametrize("payload,action,rule", DEFAULT_POLICY_CASES)
def test_default_policy(pipeline, payload, action, rule):
    outcome = decide(pipeline, payload())
    assert (outcome.action, outcome.rule) == (action, rule), outcome.reason
    assert outcome.mode == "observe"  # every rule's mode defaults to observe
    assert outcome.status == ("planned" if action != "none" else "noop")
    assert outcome.reason


@pytest.mark.parametrize(
    "name,action",
    [("RepairsSuspended", "resume-automatic-repairs"), ("RepairsNotEnabled", "enable-automatic-repairs"),
     ("InstanceProvisioningFailed", "replace-failed-instance"), ("AllInstancesUnhealthy", "none"),
     ("InstanceInGracePeriod", "none")],
)
def test_repair_states(pipeline, name, action):
    from datetime import datetime

    from rules import Signal

    signal = Signal(source="sweep", event_id=f"sweep-{name}", kind="repair-state", name=name, resource_id=b.scale_set_id(),
                    occurred=datetime(2026, 11, 20, tzinfo=UTC), delivery_key=f"sweep:{name}")
    assert pipeline.handle(signal).action == action


@pytest.mark.parametrize("name,action", [("SelfServiceWindowOpen", "perform-maintenance"), ("SelfServiceWindowScheduled", "none"), ("PlatformWindowOpen", "none")])
def test_maintenance_status(pipeline, name, action):
    from datetime import datetime

    from rules import Signal

    signal = Signal(source="sweep", event_id=f"m-{name}", kind="maintenance-status", name=name, resource_id=b.vm_id(),
                    occurred=datetime(2026, 11, 20, tzinfo=UTC), delivery_key=f"sweep:m:{name}")
    assert pipeline.handle(signal).action == action


@pytest.mark.parametrize("mode,status", [("observe", "planned"), ("approve", "awaiting-approval"), ("auto", "planned")])
def test_mode_override_sets_every_rule(make_pipeline, mode, status):
    outcome = decide(make_pipeline(mode=mode), b.annotated("AccelnetUnhealthy"))
    assert (outcome.mode, outcome.status) == (mode, status)


def test_host_crashed_second_time_within_24_hours_redeploys(pipeline):
    first = decide(pipeline, b.annotated("VirtualMachineHostCrashed", when="2026-11-19T10:00:00Z"))
    second = decide(pipeline, b.annotated("VirtualMachineHostCrashed", when="2026-11-20T09:00:00Z"))
    assert (first.action, second.action) == ("none", "redeploy")
    assert second.rule == "host-crashed-again"


def test_host_crashes_more_than_24_hours_apart_stay_first_times(pipeline):
    decide(pipeline, b.annotated("VirtualMachineHostCrashed", when="2026-11-18T08:00:00Z"))
    later = decide(pipeline, b.annotated("VirtualMachineHostCrashed", when="2026-11-20T09:00:00Z"))
    assert later.action == "none"


def test_host_crash_on_another_vm_does_not_count(pipeline):
    decide(pipeline, b.annotated("VirtualMachineHostCrashed", target=b.vm_id("other")))
    assert decide(pipeline, b.annotated("VirtualMachineHostCrashed")).action == "none"


def test_a_redelivered_host_crash_is_not_a_second_crash(pipeline):
    event = b.annotated("VirtualMachineHostCrashed")
    decide(pipeline, event)
    again = decide(pipeline, event)
    assert again.status == "duplicate" and again.action == "none"


def test_every_matcher_is_used_by_a_case_or_the_default_policy():
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    used = {key for rule in document["rules"] for key in rule["when"]}
    exercised_elsewhere = {"name", "category", "impact", "incident_type", "stage", "event_status", "known"}
    assert set(MATCHERS) == used | exercised_elsewhere


@pytest.mark.parametrize(
    "when,signal_kwargs,expected",
    [
        ({"category": "degraded-hardware"}, {"name": "AccelnetUnhealthy"}, False),
        ({"category": "network"}, {"name": "AccelnetUnhealthy"}, True),
        ({"impact": "degraded"}, {"name": "AccelnetUnhealthy"}, True),
        ({"known": False}, {"name": "Nope"}, True),
        ({"known": False}, {"name": "AccelnetUnhealthy"}, False),
        ({"incident_type": "maintenance", "stage": ["planned", "active"]}, {"kind": "service-health", "name": "x", "details": {"incident_type": "Maintenance", "stage": "Planned"}}, True),
        ({"event_status": "Started"}, {"kind": "scheduled-event", "name": "Freeze", "details": {"event_status": "Scheduled"}}, False),
        ({"name": ["Freeze", "Reboot"]}, {"kind": "scheduled-event", "name": "reboot"}, True),
        # annotation names by pattern: a glob string, {glob}, {regex} (whole name), mixed with names
        ({"annotation": "*LiveMigrationEligible"}, {"name": "VirtualMachineScheduledForServiceHealingLiveMigrationEligible"}, True),
        ({"annotation": "*LiveMigrationEligible"}, {"name": "VirtualMachineScheduledForServiceHealingLiveMigrationNotEligible"}, False),
        ({"annotation": {"glob": "virtualmachine*notEligible"}}, {"name": "VirtualMachineScheduledForServiceHealingLiveMigrationNotEligible"}, True),
        ({"annotation": {"regex": "VirtualMachine.*(Eligible|Deadline)"}}, {"name": "PossiblyDegradedDueToHardwareFailureWithRedeployDeadline"}, False),
        ({"annotation": {"regex": "(Virtual.*)?PossiblyDegraded.*Deadline"}}, {"name": "PossiblyDegradedDueToHardwareFailureWithRedeployDeadline"}, True),
        ({"annotation": {"regex": "VirtualMachineHostCrash.."}}, {"name": "VirtualMachineHostCrashedAgain"}, False),  # the whole name
        ({"annotation": ["AccelnetUnhealthy", {"regex": "NetworkUnhealth."}]}, {"name": "NetworkUnhealthy"}, True),
        ({"annotation": ["AccelnetUnhealthy", "*LiveMigrationEligible"]}, {"name": "accelnetunhealthy"}, True),
        ({"annotation": "*LiveMigrationEligible"}, {"kind": "scheduled-event", "name": "XLiveMigrationEligible"}, False),
    ],
)
def test_matchers(when, signal_kwargs, expected):
    from datetime import datetime

    from rules import Signal

    catalog = load_catalog()
    policy = parse_policy({"version": 1, "rules": [{"name": "r", "when": when, "do": "restart"}]}, catalog=catalog)
    kwargs = {"kind": "annotation", **signal_kwargs}
    signal = Signal(source="t", event_id="e", resource_id=b.vm_id(), occurred=datetime(2026, 1, 1, tzinfo=UTC), **kwargs)
    assert policy.rules[0].matches(signal, catalog.classify(signal), history=None) is expected


@pytest.mark.parametrize(
    "document,fragment",
    [
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": "AccelnetUnhealthy"}, "do": "reboot"}]}, "rules/0/do"),
        ({"version": 1, "rules": [{"name": "x", "when": {"colour": "red"}, "do": "redeploy"}]}, "colour"),
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": "AccelnetUnhealty"}, "do": "redeploy"}]}, "AccelnetUnhealty, not in the catalog"),
        ({"version": 1, "rules": [{"name": "x", "when": {"kind": "annotation"}, "do": "redeploy", "mode": "yolo"}]}, "mode"),
        ({"version": 1, "rules": [{"name": "x", "when": {"repeat": {"count": 2, "within": "a day"}}, "do": "redeploy"}]}, "not an ISO 8601 duration"),
        ({"version": 1, "rules": [{"name": "x", "when": {"kind": "annotation"}, "do": "none"}, {"name": "x", "when": {"kind": "annotation"}, "do": "none"}]}, "used twice"),
        ({"version": 2, "rules": []}, "version"),
        ({"version": 1}, "'rules' is a required property"),
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": {"regex": "Virtual(Machine"}}, "do": "redeploy"}]}, "regex 'Virtual(Machine' is not a valid pattern"),
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": "*LiveMigrationElegible"}, "do": "redeploy"}]}, "glob '*LiveMigrationElegible' matches no annotation in the catalog"),
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": {"glob": "*", "regex": ".*"}}, "do": "redeploy"}]}, "rules/0/when/annotation"),
        ({"version": 1, "rules": [{"name": "x", "when": {"annotation": {"like": "x"}}, "do": "redeploy"}]}, "rules/0/when/annotation"),
        ({"version": 1, "rules": [], "catalog": {"annotations": {"New": {"meaning": "short"}}}}, "catalog/annotations/New"),
    ],
)
def test_a_typo_in_the_policy_fails_loudly(document, fragment):
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, where="policy.yaml", catalog=load_catalog())
    assert fragment in str(caught.value) and "policy.yaml" in str(caught.value)


def test_a_policy_brings_its_own_catalog_entries_and_rules_can_name_them():
    """Azure adds a name: the owner teaches the catalog and acts on it with no code change."""
    from datetime import datetime

    from rules import Engine, Signal

    entry = {"meaning": "A degraded host, by a name Azure added last week.", "initiator": "platform", "impact": "degraded",
             "category": "degraded-hardware", "temp_disk_loss": True, "platform_acting": False,
             "default_action": "redeploy", "next_step": "Redeploy the VM.", "routine": False}
    document = {"version": 1, "catalog": {"annotations": {"VirtualMachineHostDegradedNextGen": entry}},
                "rules": [{"name": "next-gen", "when": {"annotation": "VirtualMachineHostDegradedNextGen"}, "do": "redeploy", "mode": "auto"}]}
    shipped = load_catalog()
    policy = parse_policy(document, catalog=shipped)
    assert policy.catalog is not shipped and "VirtualMachineHostDegradedNextGen" not in shipped.entries("annotation")
    engine = Engine(policy.catalog, policy)
    signal = Signal(source="t", event_id="e", kind="annotation", name="VirtualMachineHostDegradedNextGen", resource_id=b.vm_id(),
                    occurred=datetime(2026, 1, 1, tzinfo=UTC))
    classification = engine.classify(signal)
    assert classification.known and classification.category == "degraded-hardware"
    decision = engine.decide(signal, classification, history=None)
    assert (decision.action, decision.rule, decision.mode) == ("redeploy", "next-gen", "auto")


def test_the_app_reads_an_owners_catalog_file_named_by_a_setting(tmp_path):
    from pipeline.settings import Settings
    from wiring import build_pipeline

    extra = tmp_path / "catalog-extra.yaml"
    extra.write_text(yaml.safe_dump({"annotations": {"VirtualMachineHostDegradedNextGen": {
        "meaning": "A degraded host, by a name Azure added last week.", "initiator": "platform", "impact": "degraded",
        "category": "degraded-hardware", "temp_disk_loss": True, "platform_acting": False,
        "default_action": "redeploy", "next_step": "Redeploy the VM.", "routine": False}}}))
    settings = Settings.from_env({"RESPONDER_CATALOG_EXTRA": str(extra)})
    assert settings.catalog_extra == extra
    pipeline = build_pipeline(settings, notifier=False)
    outcome = decide(pipeline, b.annotated("VirtualMachineHostDegradedNextGen"))
    assert (outcome.action, outcome.rule, outcome.category) == ("redeploy", "catalog", "degraded-hardware")


def test_an_owner_opts_in_to_redeploying_what_azure_will_live_migrate():
    """The shipped policy waits for Azure's live migration; a rule of the owner's above it redeploys."""
    from datetime import datetime

    from rules import Engine, Signal

    shipped = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    catalog = load_catalog()
    signal = Signal(source="t", event_id="e", kind="annotation", resource_id=b.vm_id(),
                    name="VirtualMachineScheduledForServiceHealingLiveMigrationEligible",
                    occurred=datetime(2026, 1, 1, tzinfo=UTC))

    def decided(document):
        engine = Engine(catalog, parse_policy(document, catalog=catalog))
        decision = engine.decide(signal, engine.classify(signal), history=None)
        return decision.action, decision.rule

    assert decided(shipped) == ("none", "degraded-hardware-live-migration-eligible")
    opted = {**shipped, "rules": [{"name": "redeploy-rather-than-wait", "when": {"annotation": "*LiveMigrationEligible"},
                                   "do": "redeploy", "mode": "approve"}, *shipped["rules"]]}
    assert decided(opted) == ("redeploy", "redeploy-rather-than-wait")


def test_a_policy_naming_an_annotation_the_owner_taught_loads_only_with_that_catalog(tmp_path):
    from pipeline.settings import Settings
    from wiring import build_pipeline

    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump({"version": 1, "rules": [
        {"name": "next-gen", "when": {"annotation": "VirtualMachineHostDegradedNextGen"}, "do": "redeploy"}]}))
    with pytest.raises(PolicyError, match="VirtualMachineHostDegradedNextGen, not in the catalog"):
        build_pipeline(Settings.from_env({"RESPONDER_POLICY_PATH": str(policy)}), notifier=False)
    extra = tmp_path / "catalog-extra.yaml"
    extra.write_text(yaml.safe_dump({"annotations": {"VirtualMachineHostDegradedNextGen": {
        "meaning": "A degraded host, by a name Azure added last week.", "initiator": "platform", "impact": "degraded",
        "category": "degraded-hardware", "temp_disk_loss": True, "platform_acting": False,
        "default_action": "redeploy", "next_step": "Redeploy the VM.", "routine": False}}}))
    pipeline = build_pipeline(Settings.from_env({"RESPONDER_POLICY_PATH": str(policy), "RESPONDER_CATALOG_EXTRA": str(extra)}),
                              notifier=False)
    assert decide(pipeline, b.annotated("VirtualMachineHostDegradedNextGen")).rule == "next-gen"


def test_a_policy_rewritten_at_the_same_path_is_read_anew(tmp_path):
    """An operator's edit (or a test's next case) at the same path, within one process, with the
    file's size and modification time kept: what is loaded is what the file says now."""
    import os

    from rules import load_policy

    path = tmp_path / "policy.yaml"

    def write(mode: str) -> None:
        path.write_text(yaml.safe_dump({"version": 1, "rules": [
            {"name": "crash", "when": {"annotation": "VirtualMachineHostCrashed"}, "do": "redeploy", "mode": mode}]}))
        os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    write("auto")
    assert load_policy(path).rules[0].mode == "auto"
    write("none")  # same size as "auto": only the content tells them apart
    with pytest.raises(PolicyError, match="mode"):
        load_policy(path)
    write("observe")
    first = load_policy(path)
    assert first.rules[0].mode == "observe"
    assert load_policy(path) is first, "an unchanged file is parsed once"


def test_a_catalog_file_rewritten_at_the_same_path_is_read_anew(tmp_path):
    extra = tmp_path / "catalog-extra.yaml"
    for meaning in ("A degraded host.", "A host that is degraded."):
        extra.write_text(yaml.safe_dump({"annotations": {"VirtualMachineHostDegradedNextGen": {
            "meaning": meaning, "initiator": "platform", "impact": "degraded", "category": "degraded-hardware",
            "temp_disk_loss": True, "platform_acting": False, "default_action": "redeploy", "next_step": "Redeploy the VM.",
            "routine": False}}}))
        assert load_catalog(extra=extra).entries("annotation")["VirtualMachineHostDegradedNextGen"]["meaning"] == meaning


# The brakes section of a policy file: each mistake refused, naming the brake and the file.
@pytest.mark.parametrize(
    "brakes,message",
    [
        ({"cooldown": "six hours"}, "policy.yaml: brakes: cooldown: 'six hours' is not an ISO 8601 duration such as PT30M or P1D"),
        ({"attempts": {"count": 0}}, "policy.yaml: brakes: attempts/count: 0 is less than the minimum of 1"),
        ({"attempts": {"within": "soon"}}, "policy.yaml: brakes: attempts.within: 'soon' is not an ISO 8601 duration such as PT30M or P1D"),
        ({"in_flight": {"per_subscription": 0}}, "policy.yaml: brakes: in_flight/per_subscription: 0 is less than the minimum of 1"),
        ({"in_flight": {"per_scale_set_share": 1.5}}, "policy.yaml: brakes: in_flight/per_scale_set_share: 1.5 is greater than the maximum of 1"),
        ({"hourly_writes_per_subscription": 0}, "policy.yaml: brakes: hourly_writes_per_subscription: 0 is less than the minimum of 1"),
        ({"storm": {"scale_set_share": 0}}, "policy.yaml: brakes: storm/scale_set_share: 0 is less than or equal to the minimum of 0"),
        ({"storm": {"vms_per_region": 0}}, "policy.yaml: brakes: storm/vms_per_region: 0 is less than the minimum of 1"),
        ({"storm": {"window": "x"}}, "policy.yaml: brakes: storm.window: 'x' is not an ISO 8601 duration such as PT30M or P1D"),
        ({"storm": {"cooldown": "y"}}, "policy.yaml: brakes: storm.cooldown: 'y' is not an ISO 8601 duration such as PT30M or P1D"),
        ({"brake_pedal": 1}, "policy.yaml: brakes: (top): Additional properties are not allowed ('brake_pedal' was unexpected)"),
        ({"storm": {"breaker": 1}}, "policy.yaml: brakes: storm: Additional properties are not allowed ('breaker' was unexpected)"),
    ],
)
def test_a_mistake_in_the_brakes_is_refused_naming_it(brakes, message):
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    document["brakes"] = brakes
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, where="policy.yaml", catalog=load_catalog())
    assert str(caught.value) == message


@pytest.mark.parametrize("tags,message", [
    ({"mode": ""}, "policy.yaml: tags: mode: '' should be non-empty"),
    ({"mode": 3}, "policy.yaml: tags: mode: 3 is not of type 'string'"),
    ({"owner": "x"}, "policy.yaml: tags: (top): Additional properties are not allowed ('owner' was unexpected)"),
])
def test_a_mistake_in_the_tags_is_refused_naming_it(tags, message):
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    document["tags"] = tags
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, where="policy.yaml", catalog=load_catalog())
    assert str(caught.value) == message


def test_the_mode_tag_is_named_by_the_policy_or_responder_mode():
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    assert parse_policy({**document, "tags": {"mode": "auto-fix"}}, catalog=load_catalog()).mode_tag == "auto-fix"
    assert parse_policy({k: v for k, v in document.items() if k != "tags"}, catalog=load_catalog()).mode_tag == "responder-mode"


# The responder-mode tag on a resource, against the rule's mode and how far the policy lets a tag
# raise it: (rule mode, tag, may raise to) -> (mode, why).
@pytest.mark.parametrize(
    "rule_mode,tag,may_raise_to,mode,why",
    [
        ("auto", None, None, "auto", ""),
        ("auto", "", None, "off", "the resource's responder-mode tag value '' is not off, observe, approve or auto; "
                                   "a value the app does not understand means off"),  # fails closed
        ("auto", "off", None, "off", "the resource's responder-mode tag is off"),
        ("observe", " OFF ", None, "off", "the resource's responder-mode tag is off"),
        ("auto", "sometimes", None, "off", "the resource's responder-mode tag value 'sometimes' is not off, observe, "
                                           "approve or auto; a value the app does not understand means off"),
        ("auto", "observe", None, "observe", "the resource's responder-mode tag lowers the mode to observe"),
        ("auto", "Approve", None, "approve", "the resource's responder-mode tag lowers the mode to approve"),
        ("approve", "approve", None, "approve", ""),
        ("observe", "auto", None, "observe", "the responder-mode tag asks for auto; the policy does not let a tag raise this rule"),
        ("observe", "auto", "approve", "approve", "the resource's responder-mode tag raises the mode to approve, as the policy allows"),
        ("observe", "auto", "auto", "auto", "the resource's responder-mode tag raises the mode to auto, as the policy allows"),
        ("observe", "approve", "auto", "approve", "the resource's responder-mode tag raises the mode to approve, as the policy allows"),
        ("approve", "auto", "observe", "approve", "the responder-mode tag asks for auto; the policy does not let a tag raise this rule"),
        ("observe", "auto", "nonsense", "observe", "the responder-mode tag asks for auto; the policy does not let a tag raise this rule"),
    ],
)
def test_the_mode_tag_lowers_freely_and_raises_only_as_far_as_the_policy_allows(rule_mode, tag, may_raise_to, mode, why):
    from rules.brakes import effective_mode

    assert effective_mode(rule_mode, tag, may_raise_to) == (mode, why)


# RESPONDER_MODE is the ceiling no tag lifts a rule above, and nothing raises a mode while paused.
@pytest.mark.parametrize(
    "rule_mode,tag,may_raise_to,ceiling,paused,mode",
    [
        ("observe", "auto", "auto", None, False, "auto"),
        ("observe", "auto", "auto", "observe", False, "observe"),
        ("observe", "auto", "auto", "approve", False, "approve"),
        ("observe", "auto", "auto", "auto", False, "auto"),
        ("observe", "auto", "auto", None, True, "observe"),
        ("approve", "auto", "auto", "approve", False, "approve"),
        ("auto", "observe", None, "auto", True, "observe"),  # lowering is always allowed
        ("auto", "off", None, "observe", False, "off"),
    ],
)
def test_the_mode_tag_stays_under_the_ceiling_and_the_pause(rule_mode, tag, may_raise_to, ceiling, paused, mode):
    from rules.brakes import effective_mode

    assert effective_mode(rule_mode, tag, may_raise_to, ceiling=ceiling, paused=paused)[0] == mode
