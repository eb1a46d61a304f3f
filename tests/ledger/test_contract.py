"""One contract, two backends: every test runs on SQLite and on Table Storage (Azurite).

The port methods first, then the pipeline behaviours that depend on them, replayed through
`wiring.build_pipeline` exactly as the triggers run it.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from intake.deliveries import parse_delivery
from rules import Decision, Signal
from rules.ports import CLAIMED, DECIDED, IN_FLIGHT
from tests import builders as b
from tests.conftest import Clock

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TTL = timedelta(days=1)
LEASE = timedelta(minutes=15)
VM1 = b.vm_id("vm1")
KEY1 = "resource:" + VM1.lower()

INCIDENT_FIELDS = {"id", "key", "resource_id", "opened_at", "last_signal_at", "closed_at", "close_reason"}
HISTORY_FIELDS = {
    "id", "signal_id", "incident_id", "at", "rule", "action", "mode", "status", "reason", "brakes", "reading",
    "kind", "name", "resource_id", "event_id", "source", "input", "occurred",
}
REJECTION_FIELDS = {"id", "at", "input", "location", "problem", "excerpt"}


def when(text) -> datetime:
    return datetime.fromisoformat(text) if text else None


def signal(name="AccelnetUnhealthy", resource=VM1, delivery="d-1", occurred=T0, kind="annotation") -> Signal:
    return Signal(
        source="event-grid", event_id=delivery, kind=kind, name=name, resource_id=resource, occurred=occurred,
        summary=f"{name} summary", input="test", delivery_key=f"grid:{delivery}",
    )


def decision(action="redeploy", status="planned", **more) -> Decision:
    return Decision(action=action, mode="observe", status=status, reason=f"{action} {status}", rule="test", **more)


def other_worker(backend):
    """Another worker on the same store: its own client for Table Storage; SQLite in memory is one object."""
    if hasattr(backend, "tables"):
        from ledger.table import TableLedger

        return TableLedger(backend.service, prefix=backend.prefix)
    return backend


def race(backend, call, workers=8):
    """`call(ledger)` from many threads at once, each with its own worker's ledger; the results."""
    ledgers = [other_worker(backend) for _ in range(workers)]
    start = threading.Barrier(workers)

    def run(ledger):
        start.wait()
        return call(ledger)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, ledgers))


# -- deliveries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "grid:00000000-0000-4000-8000-000000000001",
        "alert:/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/1",
        "odd:back\\slash#hash?query",
        "control:\x01\x1f\x7f",
        "unicode:été-東京",
        "long:" + "x" * 3000,
    ],
)
def test_a_delivery_is_claimed_once_whatever_its_key_holds(backend, key):
    assert backend.claim_delivery(key, T0, LEASE) == CLAIMED
    backend.settle_delivery(key, T0)
    assert backend.claim_delivery(key, T0 + timedelta(minutes=5), LEASE) == DECIDED
    assert backend.claim_delivery(key, T0 + 10 * LEASE, LEASE) == DECIDED, "a decided delivery never lapses"
    assert backend.claim_delivery(key + "-other", T0, LEASE) == CLAIMED


def test_many_workers_claiming_one_delivery_one_wins(backend):
    results = race(backend, lambda ledger: ledger.claim_delivery("grid:raced", T0, LEASE))
    assert sorted(results) == [CLAIMED] + [IN_FLIGHT] * 7


# (seconds after the first claim, what another worker gets) for a claim nobody settled.
UNSETTLED = [(0, IN_FLIGHT), (LEASE.total_seconds() - 1, IN_FLIGHT), (LEASE.total_seconds() + 1, CLAIMED)]


@pytest.mark.parametrize("later, answer", UNSETTLED)
def test_an_unsettled_claim_is_in_flight_until_its_lease_lapses(backend, later, answer):
    assert backend.claim_delivery("grid:stalled", T0, LEASE) == CLAIMED  # its worker dies here
    assert other_worker(backend).claim_delivery("grid:stalled", T0 + timedelta(seconds=later), LEASE) == answer


def test_many_workers_taking_over_a_lapsed_claim_one_wins(backend):
    assert backend.claim_delivery("grid:lapsed", T0, LEASE) == CLAIMED
    results = race(backend, lambda ledger: ledger.claim_delivery("grid:lapsed", T0 + 2 * LEASE, LEASE))
    assert sorted(results) == [CLAIMED] + [IN_FLIGHT] * 7


def test_a_claim_taken_over_belongs_to_its_new_holder(backend):
    first, second = backend, other_worker(backend)
    assert first.claim_delivery("grid:slow", T0, LEASE) == CLAIMED
    assert second.claim_delivery("grid:slow", T0 + 2 * LEASE, LEASE) == CLAIMED
    assert first.claim_delivery("grid:slow", T0 + 2 * LEASE, LEASE) == IN_FLIGHT, "the new lease keeps the old holder out"
    second.settle_delivery("grid:slow", T0 + 2 * LEASE)
    assert first.claim_delivery("grid:slow", T0 + 5 * LEASE, LEASE) == DECIDED


def test_a_claim_given_back_is_claimed_again_at_once(backend):
    assert backend.claim_delivery("grid:failed", T0, LEASE) == CLAIMED
    backend.release_delivery("grid:failed")
    assert other_worker(backend).claim_delivery("grid:failed", T0 + timedelta(seconds=1), LEASE) == CLAIMED


def test_giving_back_a_claim_this_worker_does_not_hold_changes_nothing(backend):
    assert backend.claim_delivery("grid:theirs", T0, LEASE) == CLAIMED
    backend.settle_delivery("grid:theirs", T0)
    backend.release_delivery("grid:theirs")
    backend.release_delivery("grid:never-claimed")
    assert backend.claim_delivery("grid:theirs", T0, LEASE) == DECIDED


# -- incidents ----------------------------------------------------------------------------------


def test_an_incident_opens_then_is_found_again(backend):
    first = backend.open_incident(KEY1, VM1, T0, TTL)
    again = backend.open_incident(KEY1, VM1.upper(), T0 + timedelta(hours=1), TTL)
    other = backend.open_incident("notice:trk-1", "/subscriptions/x", T0, TTL)
    assert first.new and first.id.startswith("INC-") and (first.key, first.resource_id, first.opened_at) == (KEY1, VM1, T0)
    assert (again.id, again.new, again.resource_id, again.opened_at) == (first.id, False, VM1, T0)
    assert other.id != first.id and other.new


def test_an_incident_reads_back_with_every_field(backend):
    opened = backend.open_incident(KEY1, VM1, T0, TTL)
    backend.open_incident(KEY1, VM1, T0 + timedelta(hours=2), TTL)
    row = backend.incident(opened.id)
    assert set(row) == INCIDENT_FIELDS
    assert (row["id"], row["key"], row["resource_id"]) == (opened.id, KEY1, VM1)
    assert when(row["opened_at"]) == T0 and when(row["last_signal_at"]) == T0 + timedelta(hours=2)
    assert row["closed_at"] is None and row["close_reason"] is None
    assert backend.incident("INC-unknown") is None


@pytest.mark.parametrize(
    "quiet,same",
    [
        (timedelta(hours=23), True),
        (TTL, True),  # exactly the time-to-live: still the same incident
        (TTL + timedelta(seconds=1), False),
        (timedelta(days=3), False),
    ],
)
def test_an_incident_quiet_for_longer_than_its_ttl_is_over(backend, quiet, same):
    first = backend.open_incident(KEY1, VM1, T0, TTL)
    later = backend.open_incident(KEY1, VM1, T0 + quiet, TTL)
    assert (later.id == first.id) is same and later.new is not same
    closed = backend.incident(first.id)
    if same:
        assert closed["closed_at"] is None
    else:
        assert when(closed["closed_at"]) == T0 + quiet and "time-to-live" in closed["close_reason"]


def test_the_ttl_counts_from_the_last_signal_not_the_first(backend):
    first = backend.open_incident(KEY1, VM1, T0, TTL)
    backend.open_incident(KEY1, VM1, T0 + timedelta(hours=20), TTL)
    assert backend.open_incident(KEY1, VM1, T0 + timedelta(hours=40), TTL).id == first.id


def test_an_older_signal_never_moves_the_last_signal_time_back(backend):
    opened = backend.open_incident(KEY1, VM1, T0 + timedelta(hours=5), TTL)
    backend.open_incident(KEY1, VM1, T0, TTL)
    assert when(backend.incident(opened.id)["last_signal_at"]) == T0 + timedelta(hours=5)


def test_closing_an_incident_ends_it_and_the_next_signal_opens_another(backend):
    first = backend.open_incident(KEY1, VM1, T0, TTL)
    backend.close_incident(first.id, T0 + timedelta(minutes=10), "Available again")
    backend.close_incident(first.id, T0 + timedelta(minutes=20), "a second close changes nothing")
    backend.close_incident("INC-unknown", T0, "nothing to close")
    row = backend.incident(first.id)
    assert when(row["closed_at"]) == T0 + timedelta(minutes=10) and row["close_reason"] == "Available again"
    again = backend.open_incident(KEY1, VM1, T0 + timedelta(minutes=30), TTL)
    assert again.new and again.id != first.id


def test_closing_an_old_incident_leaves_the_open_one_alone(backend):
    old = backend.open_incident(KEY1, VM1, T0, TTL)
    current = backend.open_incident(KEY1, VM1, T0 + timedelta(days=2), TTL)
    backend.close_incident(old.id, T0 + timedelta(days=2, hours=1), "late resolution of the old one")
    assert backend.open_incident(KEY1, VM1, T0 + timedelta(days=2, hours=2), TTL).id == current.id


@pytest.mark.parametrize("at", [T0, T0 + timedelta(days=2)], ids=["opening", "expiring"])
def test_many_workers_opening_one_incident_agree_on_one_id(backend, at):
    first = backend.open_incident(KEY1, VM1, T0, TTL) if at != T0 else None
    refs = race(backend, lambda ledger: ledger.open_incident(KEY1, VM1, at, TTL))
    assert len({ref.id for ref in refs}) == 1
    assert sum(ref.new for ref in refs) == 1
    if first is not None:
        assert refs[0].id != first.id and backend.incident(first.id)["closed_at"]


# -- signals ------------------------------------------------------------------------------------


def test_count_occurrences_counts_distinct_occurred_times_by_resource_and_name_between_two_times(backend):
    rows = [
        ("d-1", "VirtualMachineHostCrashed", VM1, T0 - timedelta(hours=30)),
        ("d-2", "VirtualMachineHostCrashed", VM1, T0 - timedelta(hours=2)),
        ("d-3", "VirtualMachineHostCrashed", VM1.upper(), T0 - timedelta(hours=1)),
        ("d-3", "VirtualMachineHostCrashed", VM1, T0 - timedelta(hours=1)),  # the same delivery twice
        ("d-6", "VirtualMachineHostCrashed", VM1, T0 - timedelta(hours=1)),  # the same occurrence, another event id
        ("d-7", "VirtualMachineHostCrashed", VM1, T0 + timedelta(days=365)),  # dated a year ahead
        ("d-4", "AccelnetUnhealthy", VM1, T0),
        ("d-5", "VirtualMachineHostCrashed", b.vm_id("vm2"), T0),
    ]
    for delivery, name, resource, occurred in rows:
        assert isinstance(backend.record_signal(signal(name, resource, delivery, occurred), None, T0), int)
    key = VM1.lower()
    cases = [
        ("VirtualMachineHostCrashed", T0 - timedelta(hours=24), T0, 2),
        ("VirtualMachineHostCrashed", T0 - timedelta(hours=2), T0, 2),  # the lower boundary counts
        ("VirtualMachineHostCrashed", T0 - timedelta(hours=2) + timedelta(microseconds=1), T0, 1),
        ("VirtualMachineHostCrashed", T0 - timedelta(days=7), T0, 3),
        ("VirtualMachineHostCrashed", T0 - timedelta(days=7), T0 - timedelta(hours=1), 3),  # the upper one too
        ("VirtualMachineHostCrashed", T0 - timedelta(days=7), T0 - timedelta(hours=1, microseconds=1), 2),
        ("VirtualMachineHostCrashed", T0 - timedelta(days=7), T0 + timedelta(days=400), 4),
        ("AccelnetUnhealthy", T0 - timedelta(days=7), T0, 1),
        ("VirtualMachineHostCrashed", T0 + timedelta(seconds=1), T0 + timedelta(hours=1), 0),
        ("Unknown", T0 - timedelta(days=7), T0, 0),
    ]
    assert [backend.count_occurrences(key, name, since, until) for name, since, until, _ in cases] == [n for *_, n in cases]
    assert backend.count_occurrences(b.vm_id("vm2").lower(), "VirtualMachineHostCrashed", T0 - timedelta(days=1), T0) == 1


def test_signal_ids_are_distinct(backend):
    ids = [backend.record_signal(signal(delivery=f"d-{n}"), None, T0) for n in range(5)]
    assert len(set(ids)) == 5


# -- decisions, history, rejections -------------------------------------------------------------


def test_history_joins_each_decision_with_its_signal_oldest_first(backend):
    incident = backend.open_incident(KEY1, VM1, T0, TTL)
    sid = backend.record_signal(signal(), incident.id, T0)
    first = backend.record_decision(sid, incident.id, decision(brakes=("cooldown: 1 h",)), T0)
    second = backend.record_decision(None, None, decision("none", "duplicate"), T0)
    rows = list(backend.history())
    assert [row["id"] for row in rows] == [first, second]
    assert all(set(row) == HISTORY_FIELDS for row in rows)
    made, dup = rows
    assert (made["signal_id"], made["incident_id"], made["action"], made["status"], made["rule"]) == (sid, incident.id, "redeploy", "planned", "test")
    assert (made["kind"], made["name"], made["resource_id"], made["event_id"], made["source"], made["input"]) == (
        "annotation", "AccelnetUnhealthy", VM1, "d-1", "event-grid", "test",
    )
    assert when(made["at"]) == T0 and when(made["occurred"]) == T0 and json.loads(made["brakes"]) == ["cooldown: 1 h"]
    assert (dup["signal_id"], dup["incident_id"], dup["kind"], dup["resource_id"]) == (None, None, None, None)


def test_a_decision_about_a_signal_another_worker_recorded_still_joins(backend):
    sid = other_worker(backend).record_signal(signal(), None, T0)
    backend.record_decision(sid, None, decision(), T0)
    (row,) = backend.history()
    assert (row["signal_id"], row["name"], row["resource_id"]) == (sid, "AccelnetUnhealthy", VM1)


def _decide(backend, resource, delivery, at):
    sid = backend.record_signal(signal(resource=resource, delivery=delivery, occurred=at), None, at)
    return backend.record_decision(sid, None, decision(), at)


@pytest.mark.parametrize(
    "since,resource,expected",
    [
        (None, None, ["a", "b", "c", "dup"]),
        (T0 + timedelta(hours=1), None, ["b", "c", "dup"]),
        (T0 + timedelta(hours=1, seconds=1), None, ["c", "dup"]),
        (T0 + timedelta(days=1), None, []),
        (None, VM1, ["a", "b"]),
        (None, VM1.upper(), ["a", "b"]),
        (None, "vm1", ["a", "b"]),
        (None, "virtualMachines/VM1", ["a", "b"]),
        (None, "vm", []),  # a whole trailing name, not any suffix
        (T0 + timedelta(hours=1), "vm1", ["b"]),
        (None, "vm2", ["c"]),
    ],
)
def test_history_filters_by_time_and_resource(backend, since, resource, expected):
    names = {
        _decide(backend, VM1, "a", T0): "a",
        _decide(backend, VM1, "b", T0 + timedelta(hours=1)): "b",
        _decide(backend, b.vm_id("vm2"), "c", T0 + timedelta(hours=2)): "c",
        backend.record_decision(None, None, decision("none", "duplicate"), T0 + timedelta(hours=3)): "dup",
    }
    assert [names[row["id"]] for row in backend.history(since=since, resource=resource)] == expected


def test_rejections_are_kept_in_order_with_every_field(backend):
    first = backend.record_rejection("event-grid:1", "data.resourceInfo", "is missing", "{...}", T0)
    second = backend.record_rejection("alerts", "body", "is not valid JSON", "x" * 5000, T0 + timedelta(seconds=1))
    rows = backend.rejections()
    assert [row["id"] for row in rows] == [first, second] and all(set(row) == REJECTION_FIELDS for row in rows)
    assert (rows[0]["input"], rows[0]["location"], rows[0]["problem"], rows[0]["excerpt"]) == ("event-grid:1", "data.resourceInfo", "is missing", "{...}")
    assert when(rows[1]["at"]) == T0 + timedelta(seconds=1) and len(rows[1]["excerpt"]) == 1000


def test_long_text_is_kept_within_the_store_limits(backend):
    big = signal(delivery="big")
    big = Signal(**{**{f: getattr(big, f) for f in big.__slots__}, "summary": "s" * 100_000, "name": "n" * 5000})
    sid = backend.record_signal(big, None, T0)
    backend.record_decision(sid, None, decision().but(reason="r" * 100_000), T0)
    (row,) = backend.history()
    assert row["signal_id"] == sid and row["reason"].startswith("r" * 1000) and row["name"].startswith("n" * 1000)


# -- the one action per incident ----------------------------------------------------------------


def test_the_first_hold_wins_and_later_callers_see_the_holder(backend):
    assert backend.hold_action("INC-1", "redeploy", "grid:a", T0) is None
    held = backend.hold_action("INC-1", "restart", "grid:b", T0 + timedelta(minutes=1))
    assert (held["action"], held["status"], held["decision_ref"], when(held["at"])) == ("redeploy", "held", "grid:a", T0)
    assert backend.hold_action("INC-2", "restart", "grid:c", T0) is None, "incidents hold separately"


def test_a_hold_can_start_with_the_decision_status_and_move_on(backend):
    assert backend.hold_action("INC-1", "redeploy", "grid:a", T0, status="planned") is None
    assert backend.hold_action("INC-1", "redeploy", "grid:b", T0)["status"] == "planned"
    backend.update_hold("INC-1", "started")
    assert backend.hold_action("INC-1", "redeploy", "grid:c", T0)["status"] == "started"


def test_a_released_hold_lets_the_next_signal_act(backend):
    backend.hold_action("INC-1", "redeploy", "grid:a", T0)
    backend.release_action("INC-1")
    assert backend.hold_action("INC-1", "restart", "grid:b", T0) is None
    assert backend.hold_action("INC-1", "redeploy", "grid:c", T0)["action"] == "restart"


def test_updating_or_releasing_nothing_held_is_harmless(backend):
    backend.update_hold("INC-none", "started")
    backend.release_action("INC-none")
    assert backend.hold_action("INC-none", "redeploy", "grid:a", T0) is None
    assert backend.hold_action("INC-none", "redeploy", "grid:b", T0)["status"] == "held"


@pytest.mark.parametrize("incident", ["INC-0123456789", "notice/with#odd?chars\\", "x" * 600])
def test_holds_and_decisions_take_any_incident_id(backend, incident):
    assert backend.hold_action(incident, "redeploy", "grid:a", T0) is None
    assert backend.hold_action(incident, "redeploy", "grid:b", T0)["decision_ref"] == "grid:a"
    backend.update_hold(incident, "started")
    assert backend.hold_action(incident, "redeploy", "grid:b", T0)["status"] == "started"
    backend.record_decision(None, incident, decision("redeploy", "started"), T0)
    assert [row["incident_id"] for row in backend.history()] == [incident]
    backend.release_action(incident)
    assert backend.hold_action(incident, "restart", "grid:c", T0) is None


def test_many_workers_holding_one_incident_one_wins(backend):
    results = race(backend, lambda ledger: ledger.hold_action("INC-raced", "redeploy", f"grid:{threading.get_ident()}", T0))
    winners = [r for r in results if r is None]
    assert len(winners) == 1
    assert len({r["decision_ref"] for r in results if r is not None}) == 1, "every loser names the same holder"


def test_close_is_allowed(backend):
    backend.claim_delivery("grid:x", T0, LEASE)
    backend.close()


# -- the pipeline on each backend ---------------------------------------------------------------


@pytest.fixture
def run(backend):
    """Replay payloads through the pipeline the triggers use, on this backend, with a hand clock."""
    from pipeline import Settings
    from wiring import build_pipeline

    clock = Clock(T0)
    pipeline = build_pipeline(Settings(), ledger=backend, clock=clock)

    def replay(*payloads):
        outcomes = [o for payload in payloads for o in pipeline.process(parse_delivery(b.body(payload), "t"))]
        return outcomes[0] if len(outcomes) == 1 else outcomes

    replay.clock = clock
    return replay


def test_pipeline_a_second_delivery_is_a_duplicate(run, backend):
    event = b.annotated("AccelnetUnhealthy")
    first, second = run(event, event)
    assert (first.status, second.status) == ("planned", "duplicate") and "already received" in second.reason
    assert [row["status"] for row in backend.history()] == ["planned"]  # a duplicate is logged, not recorded


def test_pipeline_the_same_event_in_both_envelopes_is_a_duplicate(run):
    first, second = run(b.annotated(event_id="e-1", schema="grid"), b.annotated(event_id="e-1", schema="cloud"))
    assert second.status == "duplicate"


def test_pipeline_two_roads_to_one_fact_are_one_incident(run):
    annotation, alert = run(b.annotated("VirtualMachineHostCrashed"), b.resource_health("Unavailable", target=b.vm_id().upper()))
    assert annotation.incident_id and annotation.incident_id == alert.incident_id


def test_pipeline_two_signals_asking_one_action_act_once(run):
    first, second = run(
        b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure"), b.annotated("VirtualMachineScheduledForServiceHealing")
    )
    assert (first.status, second.status) == ("planned", "duplicate") and first.incident_id == second.incident_id
    assert "one action per incident" in second.reason


def test_pipeline_a_different_action_in_the_same_incident_is_skipped(run):
    _, other = run(
        b.annotated("AccelnetUnhealthy", target=b.instance_id()), b.annotated("VirtualMachineProvisioningTimedOut", target=b.instance_id())
    )
    assert (other.action, other.status) == ("reimage", "skipped")


def test_pipeline_resolution_closes_and_the_next_signal_opens_a_new_incident(run, backend):
    opened, resolved = run(b.annotated("AccelnetUnhealthy"), b.availability("Available", previous="Degraded"))
    assert resolved.incident_id == opened.incident_id and backend.incident(opened.incident_id)["closed_at"]
    again = run(b.annotated("AccelnetUnhealthy"))
    assert again.incident_id != opened.incident_id and again.status == "planned"


def test_pipeline_a_quiet_incident_expires(run):
    first = run(b.annotated("AccelnetUnhealthy"))
    run.clock.advance(days=2)
    second = run(b.annotated("AccelnetUnhealthy", when=run.clock.now.isoformat()))
    assert second.incident_id != first.incident_id and second.status == "planned"


def test_pipeline_a_repeat_within_the_window_changes_the_decision(run):
    once = run(b.annotated("VirtualMachineHostCrashed", when="2026-11-20T01:00:00Z"))
    twice = run(b.annotated("VirtualMachineHostCrashed", when="2026-11-20T08:00:00Z"))
    assert once.rule != "host-crashed-again" and (twice.rule, twice.action) == ("host-crashed-again", "redeploy")


def test_pipeline_a_repeat_outside_the_window_does_not(run):
    run(b.annotated("VirtualMachineHostCrashed", when="2026-11-18T01:00:00Z"))
    assert run(b.annotated("VirtualMachineHostCrashed", when="2026-11-20T08:00:00Z")).rule != "host-crashed-again"


def test_pipeline_records_rejections(run, backend):
    event = b.annotated()
    del event["data"]["resourceInfo"]["properties"]["targetResourceId"]
    assert run(event).status == "rejected"
    (rejection,) = backend.rejections()
    assert "targetResourceId" in rejection["location"]


def test_a_recorded_signal_keeps_the_facts_a_later_decision_is_told_with(backend):
    from rules.signals import signal_from_record

    kept = replace(signal(), initiator="platform", azure_category="planned", impact_type="Downtime",
                   resource_type="Microsoft.Compute/virtualMachines",
                   details={"deadline": "2026-12-10T00:00:00+00:00", "not_before": "2026-12-04T10:00:00+00:00",
                            "resources": [f"vm-{n:04}" for n in range(1000)]})
    sid = backend.record_signal(kept, None, T0)
    again = signal_from_record(other_worker(backend).signal(sid))
    assert again == kept  # a thousand machine names fit in the facts


def test_facts_too_large_to_store_lose_the_machine_list_only(backend):
    from rules.signals import signal_from_record

    huge = replace(signal(), details={"deadline": "2026-12-10T00:00:00+00:00", "resources": ["m" * 100] * 1000})
    again = signal_from_record(backend.signal(backend.record_signal(huge, None, T0)))
    assert again.details == {"deadline": "2026-12-10T00:00:00+00:00"} and again.name == huge.name


# -- what re-deciding needs: the decision's reading, the signals in arrival order ---------------

READING = {
    "action": "redeploy", "approvals_configured": True,
    "read": {"tags": {"responder-mode": "auto"}, "location": "westeurope", "capacity": None, "scale_set_id": None,
             "managed_by": "", "group_managed_by": "", "group_tags": {}, "priority": None, "eviction_policy": None,
             "extensions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}]},
    "verified": {"holds": True, "reason": "power state running", "facts": {"power_state": "running"}},
    "brakes": {"last_operation_at": "2026-11-20T03:00:00+00:00", "attempts": 1,
               "storm": {"scope": "vm:sub:westeurope", "count": 3}, "slots": {"writes:/subscriptions/sub:2026-11-20T09": {"cap": 30, "claimed": True}}},
    "start": "started",
}


@pytest.mark.parametrize("reading,expected", [
    (READING, READING),
    ({}, {}),
    ({"azure": False}, {"azure": False}),
    ({**READING, "verified": {**READING["verified"], "facts": {"views": ["x" * 100] * 400}}},
     {**READING, "verified": {"holds": True, "reason": "power state running", "facts_left_out": True}}),
])
def test_a_decision_keeps_what_the_gate_read_and_the_brakes_counted(backend, reading, expected):
    sid = backend.record_signal(signal(), None, T0)
    backend.record_decision(sid, None, decision(reading=reading), T0)
    (row,) = backend.history()
    assert json.loads(row["reading"]) == expected


def test_the_signals_of_a_period_come_in_the_order_they_arrived_with_their_facts(backend):
    from rules.signals import signal_from_record

    # Received in this order, occurred in another: arrival order is what the brakes saw.
    arrivals = [("late", T0 + timedelta(minutes=5), T0), ("early", T0, T0 + timedelta(minutes=1)),
                ("vm2", T0 + timedelta(minutes=2), T0 + timedelta(minutes=2)), ("next-day", T0, T0 + timedelta(days=1))]
    for delivery, occurred, received in arrivals:
        resource = b.vm_id("vm2") if delivery == "vm2" else VM1
        kept = replace(signal(delivery=delivery, occurred=occurred, resource=resource), initiator="platform", details={"region": "westeurope"})
        backend.record_signal(kept, "INC-1", received)
    rows = backend.recorded_signals()
    assert [row["event_id"] for row in rows] == ["late", "early", "vm2", "next-day"]
    first = signal_from_record(rows[0])
    assert (first.initiator, first.details, first.occurred, first.delivery_key) == ("platform", {"region": "westeurope"}, T0 + timedelta(minutes=5), "grid:late")
    assert rows[0]["incident_id"] == "INC-1" and when(rows[1]["received"]) == T0 + timedelta(minutes=1)
    within = backend.recorded_signals(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=2))
    assert [row["event_id"] for row in within] == ["early", "vm2"]
