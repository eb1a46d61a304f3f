"""The gate's answers case by case, in the words a person reads: `Gate.admit`, `before_read` and
`clear` called directly with hand-built requests, a real SQLite ledger and one simulated Azure
for the whole module (its ARM over HTTPS; a case that tags a machine puts the tags back).

tests/functional/test_gate.py follows each road to a write through the pipeline; these cases
pin what the gate itself answers (status, reason, mode, brakes, facts, permit) at each of its
checks and their edges, fast enough to run for every mutant of pipeline/gate.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.gate import (
    APPROVAL,
    CONTINUATION,
    DEFERRED,
    GATE_KEY,
    RECOVERED,
    SIGNAL,
    WAVE,
    Claim,
    Clearance,
    Gate,
    WriteRequest,
    request_for,
)
from tests import builders as b
from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, TEST_APPROVAL_SECRET, Clock

OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000f0e19"
DEGRADED = "VirtualMachinePossiblyDegradedDueToHardwareFailure"
ACTIVE = f"{DEGRADED} is still active on it (evidence: annotation-active)"


def vm(name: str, rg: str = "rg-demo", sub: str = DEMO_SUBSCRIPTION) -> str:
    return b.vm_id(name, rg=rg, sub=sub)


@pytest.fixture(scope="module")
def azure():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET) as simulated:
        yield simulated


@pytest.fixture
def tagged(azure):
    """Tag a demo VM for one case; its tags are put back after."""
    changed: dict[str, dict] = {}

    def tag(name: str, **tags: str) -> None:
        machine = azure.fleet.vm(name)
        changed.setdefault(name, dict(machine.tags))
        machine.tags.update(tags)

    yield tag
    for name, tags in changed.items():
        machine = azure.fleet.vm(name)
        machine.tags.clear()
        machine.tags.update(tags)


@pytest.fixture
def now():
    return Clock(datetime.now(UTC))


@pytest.fixture
def build(azure, ledger, now):
    """A pipeline's gate on the module's simulated Azure, and the demo subscription's clients."""
    from pipeline.azure import LocalToken, connector
    from pipeline.settings import Settings
    from wiring import build_pipeline

    def make(mode: str | None = "auto", **values):
        values.setdefault("subscriptions", (DEMO_SUBSCRIPTION,))
        settings = Settings(mode=mode, azure="sim", **{"approval_secret": TEST_APPROVAL_SECRET, **values})
        connect = connector(settings, base_url=azure.base_url, ca_bundle=azure.ca_bundle, credential=LocalToken())
        pipeline = build_pipeline(settings, ledger=ledger, connect=connect, clock=now, notifier=False)
        return pipeline, pipeline.remediator.gate, connect(DEMO_SUBSCRIPTION)

    return make


def request(now, road: str = SIGNAL, target: str | None = None, mode: str = "auto", age: timedelta | None = None,
            **changes) -> WriteRequest:
    """A redeploy of the degraded VM, asked for by its annotation `age` old when it arrived."""
    received = now()
    claim = Claim(kind="annotation", name=DEGRADED, category="unplanned", source="event-grid",
                  occurred=received - (age if age is not None else timedelta(minutes=5)), received=received)
    values = {"road": road, "action": "redeploy", "resource_id": target or vm("vm-degraded-hw"), "incident_id": "INC-1",
                  "signal_id": 1, "mode": mode, "claim": claim}
    return WriteRequest(**{**values, **changes})


# -- before anything is read: scope, pause, the event's age --------------------------------------

@pytest.mark.parametrize(
    "target, settings, reason",
    [
        (vm("vm-x", sub=OTHER_SUBSCRIPTION), {},
         f"subscription {OTHER_SUBSCRIPTION} is not in RESPONDER_SUBSCRIPTIONS"),
        (vm("vm-x", rg="rg-Other"), {"resource_groups_include": ("rg-demo",)},
         "resource group rg-other is not in RESPONDER_RESOURCE_GROUPS_INCLUDE"),
        (vm("vm-x"), {"resource_groups_exclude": ("RG-Demo",)},
         "resource group rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"),
    ],
    ids=["subscription", "not-included", "excluded"],
)
@pytest.mark.parametrize("action", ["redeploy", "none"])
def test_admit_refuses_out_of_scope_before_anything_else(build, now, target, settings, reason, action):
    _, gate, _ = build(**settings)
    answer = gate.admit(request(now, target=target, action=action, mode="observe"))
    assert answer == Clearance("skipped", f"out of scope: {reason}; nothing is read or written", "observe",
                               (f"scope: {reason}",), {})
    assert not answer.acts


@pytest.mark.parametrize(
    "mode, road, action, refused",
    [
        ("auto", SIGNAL, "redeploy", True),
        ("approve", SIGNAL, "redeploy", True),
        ("observe", SIGNAL, "redeploy", False),  # telling what it would do is not a write
        ("observe", APPROVAL, "redeploy", True),  # any other road is on its way to a write
        ("observe", WAVE, "redeploy", True),
        ("auto", SIGNAL, "none", False),  # nothing to write: recorded and told
    ],
)
def test_admit_refuses_a_write_while_paused(build, now, mode, road, action, refused):
    pipeline, gate, _ = build()
    pipeline.safety.pause("bob")
    answer = gate.admit(request(now, road=road, mode=mode, action=action))
    if not refused:
        assert answer is None
        return
    paused = f"paused by bob at {now():%Y-%m-%dT%H:%M}Z"
    assert answer == Clearance("skipped", f"automation is paused ({paused}); nothing is written", mode,
                               (f"pause: {paused}",), {})


def test_a_gate_without_azure_only_admits(build, now, azure):
    pipeline, _, clients = build()
    admitting = Gate.admitting(pipeline.safety, now)
    assert admitting.admit(request(now)) is None  # admitted: nothing stops it before a read
    before = len(azure.requests)
    with pytest.raises(RuntimeError) as refused:
        admitting.clear(request(now), clients)
    assert str(refused.value) == "a gate without Azure (Gate.admitting) clears no write: it only admits"
    assert len(azure.requests) == before, "nothing read"


def test_admit_reads_the_pause_setting_too(build, now):
    _, gate, _ = build(paused=True)
    answer = gate.admit(request(now))
    assert answer.reason == "automation is paused (RESPONDER_PAUSED is true); nothing is written"
    assert answer.brakes == ("pause: RESPONDER_PAUSED is true",)


@pytest.mark.parametrize(
    "road, age, source, refused",
    [
        (SIGNAL, timedelta(hours=6), "event-grid", False),  # max_event_age 6 h: at the limit still acted on
        (SIGNAL, timedelta(hours=6, seconds=1), "event-grid", True),
        (SIGNAL, timedelta(hours=72), "event-grid", True),
        (SIGNAL, timedelta(seconds=21781), "event-grid", True),  # 6.0503 h: said as 6.1 h
        (APPROVAL, timedelta(hours=7), "event-grid", True),
        (DEFERRED, timedelta(hours=7), "event-grid", True),
        (WAVE, timedelta(hours=7), "event-grid", True),
        (RECOVERED, timedelta(hours=7), "event-grid", False),  # the write already let through
        (CONTINUATION, timedelta(hours=7), "event-grid", False),
        (SIGNAL, timedelta(hours=7), "sweep", False),  # a sweep's finding is the state now
    ],
)
def test_an_event_too_old_when_it_arrived_is_never_acted_on(build, now, road, age, source, refused):
    _, gate, _ = build()
    asked = request(now, road=road, age=age)
    asked = asked.on(road, claim=Claim(**{**asked.claim.__dict__, "source": source}))
    answer = gate.admit(asked)
    assert gate.before_read(asked) == answer
    if not refused:
        assert answer is None
        return
    hours = f"{age.total_seconds() / 3600:.1f}"
    assert answer == Clearance("skipped", f"the event was {hours} h old when it arrived (max_event_age 6 h): "
                                          "it is recorded and told, never acted on", "auto", ("max_event_age",), {})


def test_the_event_age_limit_is_the_request_s_own(build, now):
    _, gate, _ = build()
    answer = gate.admit(request(now, age=timedelta(minutes=91), max_event_age=timedelta(minutes=90)))
    assert answer.reason.startswith("the event was 1.5 h old when it arrived (max_event_age 1.5 h)")
    assert gate.admit(request(now, age=timedelta(minutes=90), max_event_age=timedelta(minutes=90))) is None


def test_an_event_with_no_time_has_no_age(now):
    assert Claim(kind="annotation", name=DEGRADED, received=now()).age is None
    assert Claim(kind="annotation", name=DEGRADED, occurred=now()).age is None
    assert Claim(occurred=now() - timedelta(hours=2), received=now(), source="event-grid").age == timedelta(hours=2)


@pytest.mark.parametrize("road", [SIGNAL, APPROVAL])
def test_before_read_says_nothing_is_written_out_of_scope(build, now, road):
    _, gate, _ = build(resource_groups_exclude=("rg-demo",))
    answer = gate.before_read(request(now, road=road))
    reason = "resource group rg-demo is in RESPONDER_RESOURCE_GROUPS_EXCLUDE"
    assert answer == Clearance("skipped", f"out of scope: {reason}; nothing is written", "auto", (f"scope: {reason}",), {})


def test_before_read_checks_the_pause_before_the_scope(build, now):
    pipeline, gate, _ = build(resource_groups_exclude=("rg-demo",))
    pipeline.safety.pause("bob")
    assert gate.before_read(request(now)).reason.startswith("automation is paused (paused by bob")


@pytest.mark.parametrize("clear_as", [None, {"road": APPROVAL}, {"incident_id": "INC-2"}],
                         ids=["the signal admitted", "another road", "another holder"])
def test_a_pause_set_between_admit_and_clear_stops_the_write(build, now, clear_as):
    pipeline, gate, clients = build()
    assert gate.admit(request(now)) is None
    pipeline.safety.pause("bob")  # between admit and clear: the hold and its transaction
    answer = gate.clear(request(now, **(clear_as or {})), clients)
    assert answer.reason.startswith("automation is paused (paused by bob"), answer.reason


def earlier_redeploy(pipeline, now, hours_ago: float, target: str | None = None) -> None:
    at = now() - timedelta(hours=hours_ago)
    pipeline.ledger.record_intent(f"INC-{hours_ago}", None, "redeploy", target or vm("vm-degraded-hw"), "auto", {}, {}, at,
                                  state="succeeded")


@pytest.mark.parametrize(
    "mode, road, brake",
    [
        ("auto", SIGNAL, True),
        ("approve", APPROVAL, True),
        ("auto", DEFERRED, True),
        ("auto", WAVE, True),
        ("observe", SIGNAL, False),  # planning writes nothing: no brake holds it back
        ("auto", RECOVERED, False),  # the same write, already counted
        ("auto", CONTINUATION, False),
    ],
)
def test_the_ledger_s_brakes_hold_back_every_new_write_before_the_read(build, now, mode, road, brake):
    pipeline, gate, clients = build()
    earlier_redeploy(pipeline, now, 1)
    answer = gate.before_read(request(now, road=road, mode=mode))
    if not brake:
        assert answer is None
        return
    after = (now() + timedelta(hours=5)).isoformat()[:16]
    why = f"redeploy of this resource at {(now() - timedelta(hours=1)).isoformat()[:16]}Z; the next remediation may start after {after}Z"
    assert answer == Clearance("skipped", f"cooldown: {why}", mode, (f"cooldown: {why}",), {})
    assert gate.clear(request(now, road=road, mode=mode), clients) == answer


# -- with the resource read ------------------------------------------------------------------------

def test_a_verified_write_gets_a_permit_for_its_holder(build, now):
    _, gate, clients = build()
    answer = gate.clear(request(now), clients)
    assert (answer.status, answer.reason, answer.mode, answer.brakes) == ("act", f"verified: {ACTIVE}", "auto", ())
    assert answer.acts
    permit = answer.permit
    assert (permit.action, permit.resource_id, permit.holder, permit.reason) == (
        "redeploy", vm("vm-degraded-hw"), "INC-1:redeploy", f"verified: {ACTIVE}")
    facts = answer.facts
    assert (facts["location"], facts["capacity"], facts["scale_set_id"], facts["availability_state"]) == (
        "westeurope", None, None, "Degraded")
    assert facts["tags"] == {"env": "prod", "owner": "web-team@contoso.example"}
    assert "temp_disk_loss" not in facts


def test_a_permit_holds_a_slot_that_a_second_holder_cannot_take_past_the_cap(build, now):
    from dataclasses import replace as changed

    pipeline, gate, clients = build()
    pipeline.safety.brakes = changed(pipeline.safety.brakes, in_flight_per_subscription=1)
    assert gate.clear(request(now), clients).acts
    assert gate.clear(request(now), clients).acts, "the same holder again is the same claim"
    answer = gate.clear(request(now, target=vm("vm-accelnet"), incident_id="INC-2",
                                claim=Claim(kind="annotation", name="AccelnetUnhealthy")), clients)
    refusal = (f"in-flight cap: 1 operations already under way in subscription {DEMO_SUBSCRIPTION} (cap 1); "
               "the next signal or sweep tries again")
    assert (answer.status, answer.reason, answer.brakes, answer.permit) == ("skipped", refusal, (refusal,), None)


def test_a_continuation_is_the_next_step_of_a_write_already_counted(build, now):
    pipeline, gate, clients = build()
    earlier_redeploy(pipeline, now, 1)  # within the cooldown: a new write would be held back
    answer = gate.clear(request(now, road=CONTINUATION), clients)
    assert (answer.status, answer.reason, answer.mode) == ("act", "the operation's next step", "auto")
    assert answer.facts["location"] == "westeurope"
    assert answer.permit.reason == "the operation's next step"
    assert not pipeline.ledger.claim_slot(f"writes:/subscriptions/{DEMO_SUBSCRIPTION}:{now():%Y-%m-%dT%H}", 0,
                                          "INC-other", now(), timedelta(hours=1))


def test_judging_only_issues_no_permit(build, now):
    _, gate, clients = build()
    answer = gate.clear(request(now), clients, issue=False)
    assert (answer.status, answer.reason, answer.mode, answer.brakes, answer.permit) == (
        "act", f"verified: {ACTIVE}", "auto", (), None)
    assert answer.facts["location"] == "westeurope"


@pytest.mark.parametrize(
    "mode, approved_by, status, reason",
    [
        ("observe", None, "planned", f"would redeploy now: {ACTIVE}"),
        ("approve", None, "awaiting-approval", f"verified: {ACTIVE}"),
        ("approve", "alice@contoso.example", "act", f"verified: {ACTIVE}"),
        ("auto", None, "act", f"verified: {ACTIVE}"),
    ],
)
def test_the_mode_decides_what_a_verified_write_becomes(build, now, mode, approved_by, status, reason):
    _, gate, clients = build(mode=None)
    answer = gate.clear(request(now, mode=mode, approved_by=approved_by), clients)
    assert (answer.status, answer.reason, answer.mode) == (status, reason, mode)
    assert (answer.permit is not None) is (status == "act")
    assert (answer.facts["location"], answer.facts["availability_state"]) == ("westeurope", "Degraded")


def test_approve_mode_without_approvals_configured_is_skipped_saying_so(build, now, tagged):
    tagged("vm-degraded-hw", **{"responder-mode": "approve"})
    _, gate, clients = build(mode=None)
    gate.approvals_configured = False
    answer = gate.clear(request(now, mode="auto"), clients)
    assert (answer.status, answer.mode) == ("skipped", "approve")
    assert answer.reason == (f"{ACTIVE}; it needs a person's approval (approve mode) and approvals are not "
                             "configured (RESPONDER_APPROVAL_SECRET)")


@pytest.mark.parametrize(
    "tags, keeps",
    [
        ({"large-temp-disk": "true"}, True),
        ({"Large-Temp-Disk": "yes"}, True),
        ({"large-temp-disk": " FALSE "}, False),
        ({"large-temp-disk": "no"}, False),
        ({"large-temp-disk": "0"}, False),
        ({"large-temp-disk": ""}, False),
        ({"temp-disk": "true"}, False),
    ],
)
def test_a_vm_tagged_as_keeping_temp_data_needs_a_person_even_in_auto(build, now, tagged, tags, keeps):
    tagged("vm-degraded-hw", **tags)
    _, gate, clients = build()
    answer = gate.clear(request(now), clients)
    if not keeps:
        assert answer.status == "act" and "temp_disk_loss" not in answer.facts, answer.reason
        return
    assert (answer.status, answer.mode, answer.permit) == ("awaiting-approval", "approve", None)
    assert answer.reason == (f"verified: {ACTIVE}; temporary-disk data is lost (tagged as keeping data there); "
                             "redeploy loses the temporary disk of a VM tagged as keeping data there, so a person "
                             "approves it even in auto mode")
    assert answer.facts["temp_disk_loss"] is True
    approved = gate.clear(request(now, approved_by="alice@contoso.example"), clients)
    assert approved.status == "act" and approved.reason.endswith("temporary-disk data is lost (tagged as keeping data there)")


def test_temp_disk_loss_in_approve_mode_and_without_approvals(build, now, tagged):
    tagged("vm-degraded-hw", **{"large-temp-disk": "true"})
    _, gate, clients = build(mode=None)
    answer = gate.clear(request(now, mode="approve"), clients)
    assert answer.status == "awaiting-approval"
    assert answer.reason == f"verified: {ACTIVE}; temporary-disk data is lost (tagged as keeping data there)"
    gate.approvals_configured = False
    answer = gate.clear(request(now), clients)
    assert answer.status == "skipped"
    assert answer.reason.endswith("it needs a person's approval (temporary-disk data is lost) and approvals are not "
                                  "configured (RESPONDER_APPROVAL_SECRET)")


def test_the_temp_disk_tags_are_the_policy_s_in_any_case(build, now, tagged):
    tagged("vm-degraded-hw", **{"keeps-scratch": "true"})
    _, gate, clients = build()
    assert gate.clear(request(now), clients).status == "act"
    gate = Gate(gate.safety, gate.registry, gate.reads, now, owner_of=gate.owner_of, temp_disk_tags=("Keeps-Scratch",))
    assert gate.clear(request(now), clients).status == "awaiting-approval"


@pytest.mark.parametrize(
    "tags, owner",
    [
        ({"aks-managed-poolName": "np1"}, "managed by AKS: the resource carries AKS's own tag aks-managed-poolName"),
        ({"Vendor": "Databricks"}, "managed by Databricks"),
    ],
)
def test_a_platform_s_machine_is_left_alone_naming_the_platform(build, now, tagged, tags, owner):
    tagged("vm-degraded-hw", **tags)
    _, gate, clients = build()
    answer = gate.clear(request(now), clients)
    assert (answer.status, answer.brakes, answer.permit) == ("skipped", ("ownership",), None)
    assert answer.reason.startswith(f"left alone: {owner}"), answer.reason
    assert answer.reason == f"left alone: {answer.facts['owned_by']}"
    assert answer.facts["location"] == "westeurope"


@pytest.mark.parametrize(
    "ceiling, mode, tag, status, why",
    [
        ("auto", "auto", "off", "skipped", "the resource's responder-mode tag is off"),
        ("auto", "auto", "Observe", "planned", "the resource's responder-mode tag lowers the mode to observe"),
        ("auto", "auto", "auto", "act", ""),
        ("auto", "observe", "auto", "planned", "the responder-mode tag asks for auto; the policy does not let a tag raise this rule"),
        ("observe", "auto", None, "planned", ""),  # RESPONDER_MODE lowers a rule's mode
        ("approve", "auto", None, "awaiting-approval", ""),
        ("bogus", "auto", None, "act", ""),  # not a mode: no ceiling
    ],
)
def test_the_mode_in_force_follows_the_tag_under_the_ceiling(build, now, tagged, ceiling, mode, tag, status, why):
    if tag is not None:
        tagged("vm-degraded-hw", **{"Responder-Mode": tag})
    _, gate, clients = build(mode=None)
    gate = Gate(gate.safety, gate.registry, gate.reads, now, owner_of=gate.owner_of, ceiling=ceiling)
    answer = gate.clear(request(now, mode=mode), clients)
    assert answer.status == status, answer.reason
    brakes = (f"mode tag: {why}",) if why else ()
    assert answer.brakes == brakes
    if status == "skipped":
        assert answer.reason == f"mode tag: {why}"


def test_a_tag_raises_a_mode_only_as_far_as_the_rule_lets_it_and_not_while_paused(build, now, tagged):
    tagged("vm-degraded-hw", **{"responder-mode": "auto"})
    pipeline, gate, clients = build(mode=None)
    raised = gate.clear(request(now, mode="observe", tag_may_raise_to="auto"), clients)
    assert (raised.status, raised.mode) == ("act", "auto")
    assert raised.brakes == ("mode tag: the resource's responder-mode tag raises the mode to auto, as the policy allows",)
    pipeline.safety.pause("bob")
    held = gate.clear(request(now, mode="observe", tag_may_raise_to="auto"), clients)
    assert held.status == "planned"
    assert held.brakes == ("mode tag: the responder-mode tag asks for auto; nothing raises a mode while automation is paused",)


@pytest.mark.parametrize(
    "evidence, reason",
    [
        (("annotation-active",), ("verified against the live state: the live state does not show what the signal claims: "
                                 "AccelnetUnhealthy is no longer active on it (needs annotation-active)")),
        (("platform-degraded",), "verified against the live state: the live state does not show what the signal claims: "),
    ],
)
def test_a_claim_the_live_state_does_not_show_is_not_acted_on(build, now, tagged, evidence, reason):
    tagged("vm-host-crash", **{"responder-mode": "observe"})
    _, gate, clients = build()
    answer = gate.clear(request(now, target=vm("vm-host-crash"), evidence=evidence,
                                claim=Claim(kind="annotation", name="AccelnetUnhealthy")), clients)
    assert (answer.status, answer.mode, answer.permit) == ("skipped", "observe", None)
    assert answer.reason.startswith(reason), answer.reason
    assert answer.reason == reason or evidence != ("annotation-active",)
    assert answer.brakes == ("mode tag: the resource's responder-mode tag lowers the mode to observe",)
    assert answer.facts["availability_state"] == "Unavailable"


def test_a_permit_not_used_is_void(build, now):
    from actions.errors import UnpermittedWriteError
    from actions.permits import spend

    _, gate, clients = build()
    answer = gate.clear(request(now), clients)
    gate.unused(answer)
    gate.unused(Clearance("skipped", "nothing", "auto"))  # no permit: nothing to void
    with pytest.raises(UnpermittedWriteError, match="already used; nothing was sent"):
        spend(answer.permit, "redeploy", vm("vm-degraded-hw"))
    kept = gate.clear(request(now), clients)
    spend(kept.permit, "redeploy", vm("vm-degraded-hw"))  # a permit kept is spent once


# -- what is kept for the roads that come later ------------------------------------------------------

def test_a_request_survives_being_stored_and_read_back(now):
    asked = request(now, mode="approve", rule="hardware", tag_may_raise_to="auto", evidence=("annotation-active",),
                    max_event_age=timedelta(hours=2), approved_by="alice@contoso.example",
                    params={"now": now(), "keep": 1, GATE_KEY: {"mode": "off"}},
                    claim=Claim(kind="annotation", name=DEGRADED, category="unplanned", source="event-grid",
                                occurred=now() - timedelta(minutes=5), received=now(), repeat={"count": 2, "within": "1h"}))
    stored = asked.stored_params()
    assert set(stored) == {"keep", GATE_KEY}
    back = WriteRequest.from_stored(APPROVAL, action="redeploy", resource_id=asked.resource_id, incident_id="INC-1",
                                    signal_id=1, mode="observe", params=stored, facts={"seen": 1})
    assert back == asked.on(APPROVAL, params={"keep": 1}, facts={"seen": 1})
    assert back.holder == "INC-1:redeploy"


def test_a_record_stored_before_requests_were_kept_is_judged_by_its_action_s_defaults():
    from rules.evidence import DEFAULT_MAX_EVENT_AGE, default_evidence

    back = WriteRequest.from_stored(DEFERRED, action="redeploy", resource_id=vm("vm-degraded-hw"), incident_id="INC-1",
                                    signal_id=None, mode="approve", params={"keep": 1}, approved_by="bob")
    assert (back.mode, back.rule, back.tag_may_raise_to, back.max_event_age, back.approved_by) == (
        "approve", "", None, DEFAULT_MAX_EVENT_AGE, "bob")
    assert back.evidence == default_evidence("redeploy", "", "") and back.evidence
    assert back.claim == Claim()
    assert (back.params, back.facts) == ({"keep": 1}, {})


def test_a_fresh_signal_s_request_carries_its_decision_and_claim(now):
    from rules.engine import Decision
    from rules.evidence import default_evidence
    from rules.signals import Signal

    signal = Signal(source="event-grid", event_id="e1", kind="annotation", name=DEGRADED,
                    resource_id=vm("vm-degraded-hw"), occurred=now() - timedelta(minutes=3))
    decision = Decision(action="redeploy", mode="approve", status="awaiting-approval", reason="r", rule="hardware",
                        params={"p": 1}, brakes=("b",), tag_may_raise_to="auto", facts={"f": 1},
                        max_event_age=timedelta(hours=1), repeat={"count": 2, "within": "1h"})
    asked = request_for(signal, decision, "INC-9", 9, now(), category="unplanned")
    assert asked == WriteRequest(
        road=SIGNAL, action="redeploy", resource_id=vm("vm-degraded-hw"), incident_id="INC-9", signal_id=9,
        mode="approve", rule="hardware", tag_may_raise_to="auto",
        evidence=default_evidence("redeploy", "annotation", "unplanned"), max_event_age=timedelta(hours=1),
        claim=Claim(kind="annotation", name=DEGRADED, category="unplanned", occurred=signal.occurred, received=now(),
                    source="event-grid", repeat={"count": 2, "within": "1h"}),
        params={"p": 1}, brakes=("b",), facts={"f": 1})
    assert request_for(signal, decision.but(evidence=("platform-degraded",)), "INC-9", 9, now()).evidence == ("platform-degraded",)


@pytest.mark.parametrize("kind, annotation", [("annotation", DEGRADED), ("availability", "")])
def test_only_an_annotation_claim_names_an_annotation(kind, annotation):
    assert Claim(kind=kind, name=DEGRADED).annotation == annotation


def test_a_gate_with_no_azure_admits_under_the_mode_setting(build, now):
    pipeline, _, _ = build(mode="observe")
    gate = Gate.admitting(pipeline.safety, now)
    assert (gate.ceiling, gate.registry, gate.reads) == ("observe", None, None)
    assert gate.owner_of(None, vm("vm-degraded-hw")) is None
    assert gate.admit(request(now)) is None


@pytest.mark.parametrize(
    "kind, category, evidence",
    [
        ("annotation", "network", ("annotation-active", "platform-degraded")),
        ("annotation", "provisioning", ("provisioning-timed-out",)),
        ("annotation", "", ("annotation-active", "platform-unhealthy")),
        ("availability", "network", ("platform-unhealthy",)),
    ],
)
def test_a_request_stored_without_evidence_is_judged_by_its_claim_s_defaults(now, kind, category, evidence):
    asked = request(now, evidence=(), claim=Claim(kind=kind, name="AccelnetUnhealthy", category=category))
    back = WriteRequest.from_stored(DEFERRED, action="redeploy", resource_id=asked.resource_id, incident_id="INC-1",
                                    signal_id=1, mode="auto", params=asked.stored_params())
    assert back.evidence == evidence
    assert request_for(signal_of(now, kind), decision_of(), "INC-1", 1, now(), category).evidence == evidence


def test_a_claim_with_nothing_known_survives_being_stored(now):
    asked = request(now, claim=Claim())
    stored = asked.stored_params()
    assert stored[GATE_KEY]["claim"] == {"kind": "", "name": "", "category": "", "source": "", "repeat": None,
                                         "occurred": None, "received": None}
    back = WriteRequest.from_stored(DEFERRED, action="redeploy", resource_id=asked.resource_id, incident_id="INC-1",
                                    signal_id=1, mode="auto", params=stored)
    assert back.claim == Claim()


def test_a_fresh_signal_s_category_is_none_unless_told(now):
    asked = request_for(signal_of(now, "annotation"), decision_of(), "INC-1", 1, now())
    assert (asked.claim.category, asked.evidence) == ("", ("annotation-active", "platform-unhealthy"))


def signal_of(now, kind: str):
    from rules.signals import Signal

    return Signal(source="event-grid", event_id="e1", kind=kind, name="AccelnetUnhealthy",
                  resource_id=vm("vm-accelnet"), occurred=now() - timedelta(minutes=3))


def decision_of():
    from rules.engine import Decision

    return Decision(action="redeploy", mode="auto", status="started", reason="r")


def test_a_storm_tripped_before_the_read_is_told_once(build, now):
    pipeline, gate, clients = build()
    for n in range(11):
        pipeline.ledger.mark_unhealthy(f"vm:{DEMO_SUBSCRIPTION}:", vm(f"vm-{n}").lower(), now())
    why = (f"storm breaker: 11 VMs of subscription {DEMO_SUBSCRIPTION} in any of its regions turned unhealthy within "
           "15 min (more than 10): a platform incident is more likely than a broken machine; automation in this scope "
           "pauses until it stays under the threshold for 30 min")
    assert gate.before_read(request(now)) == Clearance("skipped", why, "auto", (why,), {"storm_tripped": True})
    assert gate.clear(request(now), clients) == Clearance("skipped", why, "auto", (why,), {})


def test_a_storm_in_the_vm_s_region_is_found_once_it_is_read(build, now, tagged):
    tagged("vm-degraded-hw", **{"responder-mode": "approve"})  # the mode in force is the tag's
    pipeline, gate, clients = build(mode=None)
    for n in range(11):
        pipeline.ledger.mark_unhealthy(f"vm:{DEMO_SUBSCRIPTION}:westeurope", vm(f"vm-{n}").lower(), now())
    assert gate.before_read(request(now)) is None
    answer = gate.clear(request(now), clients)
    assert (answer.status, answer.mode, answer.permit) == ("skipped", "approve", None)
    assert answer.reason.startswith(f"storm breaker: 11 VMs of subscription {DEMO_SUBSCRIPTION} in westeurope")
    assert answer.brakes == ("mode tag: the resource's responder-mode tag lowers the mode to approve", answer.reason)
    assert (answer.facts["storm_tripped"], answer.facts["location"]) == (True, "westeurope")


@pytest.mark.parametrize("stored", ["", None, "2026-11-20T09:00:00+00:00"])
def test_a_stored_time_is_read_back_only_when_written(stored):
    back = WriteRequest.from_stored(DEFERRED, action="redeploy", resource_id=vm("vm-degraded-hw"), incident_id="INC-1",
                                    signal_id=None, mode="auto",
                                    params={GATE_KEY: {"claim": {"occurred": stored, "received": stored}}})
    expected = datetime.fromisoformat(stored) if stored else None
    assert (back.claim.occurred, back.claim.received) == (expected, expected)


def unavailable_redeploy(resource_id: str, incident: str) -> WriteRequest:
    return WriteRequest(road=SIGNAL, action="redeploy", resource_id=resource_id, incident_id=incident, signal_id=None,
                        mode="auto", evidence=("platform-unhealthy",))


def test_the_scale_set_s_in_flight_cap_is_counted_from_the_capacity_read(azure, build, now):
    _, gate, clients = build()
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    states = {n: azure.fleet.instance("vmss-web", n).availability_state for n in ("0", "1")}
    try:
        for n in states:
            azure.fleet.instance("vmss-web", n).availability_state = "Unavailable"
        first = gate.clear(unavailable_redeploy(f"{web}/virtualMachines/0", "INC-0"), clients)
        second = gate.clear(unavailable_redeploy(f"{web}/virtualMachines/1", "INC-1"), clients)
    finally:
        for n, state in states.items():
            azure.fleet.instance("vmss-web", n).availability_state = state
    assert (first.status, first.facts["capacity"], first.facts["scale_set_id"].lower()) == ("act", 10, web.lower())
    refusal = "in-flight cap: 1 instances of scale set vmss-web already being remediated (cap 1: 5% of 10, at least 1)"
    assert (second.status, second.reason, second.mode, second.brakes) == ("skipped", refusal, "auto", (refusal,))
    assert (second.facts["capacity"], second.facts["availability_state"], second.permit) == (10, "Unavailable", None)


def test_a_flexible_set_s_vms_count_in_their_set_once_read(ledger, now):
    """A Flexible set's VM is named by its own id; only its model says which set it is in."""
    from pipeline.azure import LocalToken, connector
    from pipeline.settings import Settings
    from simulator import SimulatedAzure
    from wiring import build_pipeline

    fleet = {"defaults": {"subscriptionId": DEMO_SUBSCRIPTION, "resourceGroup": "rg-flex"},
             "scaleSets": [{"name": "flex-web", "orchestrationMode": "Flexible", "capacity": 10,
                            "instances": [{"name": f"flex-web_{n}", "availabilityState": "Unavailable"} for n in "ab"]}]}
    with SimulatedAzure(fleet=fleet) as flexible:
        settings = Settings(mode="auto", azure="sim", approval_secret=TEST_APPROVAL_SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
        connect = connector(settings, base_url=flexible.base_url, ca_bundle=flexible.ca_bundle, credential=LocalToken())
        gate = build_pipeline(settings, ledger=ledger, connect=connect, clock=now, notifier=False).remediator.gate
        clients = connect(DEMO_SUBSCRIPTION)
        answers = [gate.clear(unavailable_redeploy(vm(f"flex-web_{n}", rg="rg-flex"), f"INC-{n}"), clients) for n in "ab"]
    assert answers[0].status == "act", answers[0].reason
    assert answers[1].reason.startswith("in-flight cap: 1 instances of scale set flex-web"), answers[1].reason


@pytest.mark.parametrize("seen, holds", [(1, False), (2, True)])
def test_a_repeat_rule_counts_the_occurrences_in_its_window(build, now, seen, holds):
    from rules.signals import Signal

    pipeline, gate, clients = build()
    target = vm("vm-degraded-hw")
    for n in range(seen):
        occurred = now() - timedelta(hours=1 + n)
        pipeline.ledger.record_signal(Signal(source="event-grid", event_id=f"e{n}", kind="annotation", name=DEGRADED,
                                             resource_id=target, occurred=occurred, delivery_key=f"k{n}"), None, now())
    old = Signal(source="event-grid", event_id="old", kind="annotation", name=DEGRADED, resource_id=target,
                 occurred=now() - timedelta(hours=25), delivery_key="old")
    pipeline.ledger.record_signal(old, None, now())  # outside the rule's 24 h
    answer = gate.clear(request(now, evidence=("repeat-occurrences",),
                                claim=Claim(kind="annotation", name=DEGRADED, repeat={"count": 2, "within": "PT24H"})),
                        clients)
    if holds:
        assert answer.reason == f"verified: 2 occurrences of {DEGRADED} within the rule's window (evidence: repeat-occurrences)"
    else:
        assert answer.reason == ("verified against the live state: the live state does not show what the signal claims: "
                                 "1 occurrences within the rule's window, 2 needed (needs repeat-occurrences)")


def test_a_repeat_window_the_gate_cannot_read_is_an_error_naming_it(build, now):
    from rules.errors import PolicyError

    _, gate, clients = build()
    asked = request(now, evidence=("repeat-occurrences",),
                    claim=Claim(kind="annotation", name=DEGRADED, repeat={"count": 2, "within": "soon"}))
    with pytest.raises(PolicyError, match=r"^when\.repeat\.within: 'soon' is not an ISO 8601 duration"):
        gate.clear(asked, clients)


@pytest.mark.parametrize("action, skipped", [("enable-automatic-repairs", True), ("redeploy", False)])
def test_without_the_scale_set_write_role_its_writes_are_skipped_before_any_read(build, now, action, skipped):
    from actions.scale_set_write import MISSING

    _, gate, clients = build(scale_set_write=False)
    web = b.scale_set_id("vmss-web", rg="rg-demo", sub=DEMO_SUBSCRIPTION)
    target = web if skipped else vm("vm-degraded-hw")
    answer = gate.clear(request(now, action=action, resource_id=target, mode="auto"), clients)
    if not skipped:
        assert answer.status == "act", answer.reason
        return
    reason = f"not acting: {action} {MISSING}"
    assert answer == Clearance("skipped", reason, "auto", ("scale-set write role",), {})


def test_a_tag_raises_a_mode_no_higher_than_the_ceiling(build, now, tagged):
    tagged("vm-degraded-hw", **{"responder-mode": "auto"})
    _, gate, clients = build(mode=None)
    gate = Gate(gate.safety, gate.registry, gate.reads, now, owner_of=gate.owner_of, ceiling="approve")
    answer = gate.clear(request(now, mode="observe", tag_may_raise_to="auto"), clients)
    assert (answer.status, answer.mode) == ("awaiting-approval", "approve")
    assert answer.brakes == ("mode tag: the resource's responder-mode tag raises the mode to approve, as the policy allows",)


def test_a_vm_in_an_aks_node_resource_group_is_left_alone(ledger, now):
    """AKS's node resource group is known by its name, which only the resource's id carries."""
    from pipeline.azure import LocalToken, connector
    from pipeline.settings import Settings
    from simulator import SimulatedAzure
    from wiring import build_pipeline

    group = "MC_rg-aks_cluster1_westeurope"
    fleet = {"defaults": {"subscriptionId": DEMO_SUBSCRIPTION, "resourceGroup": group},
             "vms": [{"name": "aks-node-0", "availabilityState": "Unavailable"}]}
    with SimulatedAzure(fleet=fleet) as aks:
        settings = Settings(mode="auto", azure="sim", approval_secret=TEST_APPROVAL_SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
        connect = connector(settings, base_url=aks.base_url, ca_bundle=aks.ca_bundle, credential=LocalToken())
        gate = build_pipeline(settings, ledger=ledger, connect=connect, clock=now, notifier=False).remediator.gate
        answer = gate.clear(unavailable_redeploy(vm("aks-node-0", rg=group), "INC-aks"), connect(DEMO_SUBSCRIPTION))
    assert (answer.status, answer.brakes) == ("skipped", ("ownership",))
    assert answer.reason.startswith(f"left alone: managed by AKS: resource group {group} is an AKS node resource group"), answer.reason


@pytest.mark.parametrize("mode", ["auto", "observe"])
def test_an_action_its_executor_finds_wrong_for_the_live_state_is_skipped_saying_why(build, now, tagged, mode):
    tagged("vm-deallocated", **{"responder-mode": mode})
    _, gate, clients = build()
    answer = gate.clear(unavailable_redeploy(vm("vm-deallocated"), "INC-d"), clients)
    assert (answer.status, answer.mode, answer.brakes, answer.permit) == ("skipped", mode, (
        (f"mode tag: the resource's responder-mode tag lowers the mode to {mode}",) if mode != "auto" else ()), None)
    assert answer.reason == "verified against the live state: not acting: it is deallocated; its owner stopped it"
    assert (answer.facts["power_state"], answer.facts["location"]) == ("deallocated", "westeurope")


@pytest.mark.parametrize("category, found", [("network", "platform-degraded"), ("", "platform-unhealthy")])
def test_a_request_without_evidence_is_judged_by_its_claim_s_category(build, now, category, found):
    _, gate, clients = build()
    answer = gate.clear(request(now, evidence=(), claim=Claim(kind="annotation", name="AccelnetUnhealthy",
                                                              category=category)), clients)
    assert answer.status == "act", answer.reason
    assert answer.reason.endswith(f"(evidence: {found})"), answer.reason


def test_the_policy_s_own_markers_leave_a_machine_alone(build, now, tmp_path):
    import yaml

    from tests.conftest import ROOT

    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    document["leave_alone"]["markers"] = [{"platform": "the web team's pool", "tag": "owner",
                                           "value": "web-team@contoso.example"}]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    _, gate, clients = build(policy_path=str(path))
    answer = gate.clear(request(now), clients)
    assert (answer.status, answer.brakes) == ("skipped", ("ownership",))
    assert answer.reason.startswith("left alone: managed by the web team's pool"), answer.reason
