"""The audit trail's retention on both backends: what was recorded before the cut-off and is
finished goes; what is still open, pending or recent stays, whatever its age."""

from __future__ import annotations

from datetime import timedelta

from rules.ports import CLAIMED
from tests import builders as b
from tests.ledger.test_contract import T0, decision, signal

OLD, NEW = T0 - timedelta(days=100), T0 - timedelta(days=1)
CUT = T0 - timedelta(days=90)
TTL, LEASE = timedelta(days=1), timedelta(minutes=15)


def recorded(backend, at, name, resource, close):
    """A delivery decided at `at`: its claim, incident, signal, decision, an operation and a mark."""
    assert backend.claim_delivery(f"grid:{name}", at, LEASE) == CLAIMED
    incident = backend.open_incident(f"resource:{resource.lower()}", resource, at, TTL)
    backend.hold_action(incident.id, "redeploy", f"grid:{name}", at, status="started")
    sid = backend.record_signal(signal(delivery=name, resource=resource, occurred=at), incident.id, at)
    backend.record_decision(sid, incident.id, decision(status="started"), at)
    op = backend.record_intent(incident.id, sid, "redeploy", resource, "auto", {}, {}, at)
    backend.mark_unhealthy("sub:1", resource.lower(), at)
    backend.settle_delivery(f"grid:{name}", at)
    if close:
        backend.update_operation(op, at, state="succeeded")
        backend.close_incident(incident.id, at, "healthy again")
    return incident.id, op


def test_the_finished_and_old_go_the_open_and_recent_stay(backend):
    old_done = recorded(backend, OLD, "old-done", b.vm_id("vm1"), close=True)
    old_open = recorded(backend, OLD, "old-open", b.vm_id("vm2"), close=False)
    new_done = recorded(backend, NEW, "new-done", b.vm_id("vm3"), close=True)
    backend.record_rejection("old.json", "body", "not JSON", "", OLD)
    backend.record_rejection("new.json", "body", "not JSON", "", NEW)
    assert backend.claim_delivery("grid:old-claimed", OLD, LEASE) == CLAIMED  # never settled: kept

    removed = backend.purge(CUT)

    assert dict(removed) == {"decisions": 2, "signals": 2, "rejections": 1, "deliveries": 2, "unhealthy marks": 2,
                             "operations": 1, "action holds": 1, "incidents": 1}
    assert backend.incident(old_done[0]) is None and backend.operation(old_done[1]) is None
    assert backend.incident(old_open[0]) is not None and backend.operation(old_open[1])["state"] == "intent"
    assert backend.incident(new_done[0]) is not None and backend.operation(new_done[1])["state"] == "succeeded"
    assert [row["resource_id"] for row in backend.history()] == [b.vm_id("vm3")]
    assert [row["input"] for row in backend.rejections()] == ["new.json"]
    assert [o["id"] for o in backend.open_operations()] == [old_open[1]]
    assert backend.count_operations(b.vm_id("vm1")) == 0 and backend.count_operations(b.vm_id("vm2")) == 1
    assert backend.count_unhealthy("sub:1", OLD - timedelta(days=1)) == 1
    assert backend.claim_delivery("grid:old-claimed", T0, LEASE) == CLAIMED  # its lease ran out long ago
    assert backend.claim_delivery("grid:new-done", T0, LEASE) != CLAIMED  # still a duplicate


def test_a_purge_at_the_edge_keeps_what_was_recorded_at_the_cut_off(backend):
    at_cut = recorded(backend, CUT, "at-cut", b.vm_id("vm1"), close=True)
    just_before = recorded(backend, CUT - timedelta(seconds=1), "before", b.vm_id("vm2"), close=True)
    backend.purge(CUT)
    assert backend.incident(at_cut[0]) is not None and backend.incident(just_before[0]) is None


def test_a_second_purge_finds_nothing(backend):
    recorded(backend, OLD, "old-done", b.vm_id("vm1"), close=True)
    backend.purge(CUT)
    assert set(backend.purge(CUT).values()) == {0}
