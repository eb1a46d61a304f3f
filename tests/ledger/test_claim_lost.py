"""A delivery whose claim is gone before its decision is settled (`ClaimLost`) is not a race to
decide again (`Superseded`): the claim was purged, or given back by a later attempt that took it
over once its lease ran out. The ledger says so with its own error, and the pipeline answers the
delivery as one to retry, once, instead of deciding it again and again.

The claim's rows are deleted by hand between the claim and the decision, on real Azurite and on
SQLite.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from intake.deliveries import parse_delivery
from ledger import SqliteLedger, open_ledger
from pipeline import Settings
from pipeline.core import DEFERRED
from rules.ports import ClaimLost
from tests import builders as b
from tests.ledger.conftest import drop_tables, fresh_prefix
from wiring import build_pipeline

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


def lose_claim(store, key: str, incident_key: str, rows: tuple[str, ...] = ("claim", "lease")) -> None:
    """Delete a delivery's claim as a purge (or a later attempt giving it back) would."""
    if isinstance(store, SqliteLedger):
        store._db.execute("DELETE FROM deliveries WHERE key = ?", (key,))
        return
    table, partition, lease_row, claim_row = store._claim_rows(key, incident_key)
    for row in rows:
        table.delete_entity(partition, claim_row if row == "claim" else lease_row)


@pytest.mark.parametrize("incident_key", ["", "resource:/subscriptions/s/vm1"], ids=["own partition", "beside the incident"])
def test_settling_a_claim_that_is_gone_raises_claim_lost_and_the_next_claim_is_fresh(backend, incident_key):
    assert backend.claim_delivery("grid:gone", T0, LEASE, incident_key) == "claimed"
    lose_claim(backend, "grid:gone", incident_key)
    with pytest.raises(ClaimLost, match="gone"):
        backend.settle_delivery("grid:gone", T0 + timedelta(seconds=1), incident_key)
    assert backend.claim_delivery("grid:gone", T0 + timedelta(seconds=2), LEASE, incident_key) == "claimed", \
        "nothing of the lost claim is left: the retry claims it afresh"
    backend.settle_delivery("grid:gone", T0 + timedelta(seconds=3), incident_key)
    assert backend.claim_delivery("grid:gone", T0 + timedelta(seconds=4), LEASE, incident_key) == "decided"


class LosingItsClaim:
    """A real ledger whose delivery's lease runs out just before its first decision with a signal
    is recorded: another worker (a second ledger on the same tables) takes the claim over, then
    settles it or gives it back, so the decision's last transaction finds the claim's rows gone."""

    def __init__(self, ledger, other, then):
        self._ledger, self._other, self._then, self.decided = ledger, other, then, 0
        self.signal = None

    def __getattr__(self, name):
        return getattr(self._ledger, name)

    def record_decision(self, signal_id, incident_id, decision, at):
        if signal_id is not None:
            self.decided += 1
            if self.decided == 1:
                key, incident_key = self.signal.delivery_key, self.signal.incident_key
                later = datetime.now(UTC) + LEASE + timedelta(minutes=1)
                assert self._other.claim_delivery(key, later, LEASE, incident_key) == "claimed", "the lease ran out"
                getattr(self._other, self._then)(key, *([later] if self._then == "settle_delivery" else []), incident_key)
        return self._ledger.record_decision(signal_id, incident_id, decision, at)


# (what the later attempt did with the claim it took over, what the sender's retry is answered)
LATER = [
    pytest.param("release_delivery", "redeploy", id="given back: the retry decides it"),
    pytest.param("settle_delivery", "duplicate", id="settled: the retry is a duplicate"),
]


@pytest.mark.parametrize(("then", "retried"), LATER)
def test_a_decision_whose_claim_is_gone_on_table_storage_is_answered_as_a_retry_once(azurite, caplog, then, retried):
    settings = {"table_connection_string": azurite, "table_prefix": fresh_prefix()}
    ledger, other = open_ledger("table", settings), open_ledger("table", settings)
    try:
        losing = LosingItsClaim(ledger, other, then)
        pipeline = build_pipeline(Settings(), ledger=losing)
        body = b.body(b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=b.vm_id("vm1")))
        delivery = parse_delivery(body, "first")
        losing.signal = delivery.signals[0]
        with caplog.at_level(logging.WARNING, logger="responder"):
            (lost,) = pipeline.process(delivery)
        assert lost.status == DEFERRED and "lost its claim" in lost.reason, lost
        assert losing.decided == 1, "decided once, not again and again as a lost race would be"
        assert [r for r in caplog.records if r.getMessage().startswith("claim lost")], "the log says what happened"
        logged = list(ledger._table("log").list_entities())
        assert not [row for row in logged if row["RowKey"].startswith("dec|")], "nothing of the decision was kept"

        (again,) = pipeline.process(parse_delivery(body, "again"))
        assert (again.action if retried == "redeploy" else again.status) == retried, again
        logged = list(ledger._table("log").list_entities())
        signals = [row for row in logged if row["RowKey"].startswith("sig|")]
        decided = [row for row in ledger.history() if row["signal_id"] is not None]
        assert [row["signal_id"] for row in decided] == [int(row["id"]) for row in signals][:len(decided)]
        assert len(decided) == (1 if retried == "redeploy" else 0)
        assert not [row for row in logged if row["RowKey"].startswith("lease|")], "no claim left held"
    finally:
        ledger.close()
        other.close()
        drop_tables(azurite, ledger)


class LosingAClaimBeforeSettling:
    """A notifications listener that, as the delivery's notices are recorded, sees the first
    event's claim taken over by a later attempt (its lease ran out) and given back by it: the
    settling that follows finds that claim gone."""

    records_notices = True

    def __init__(self, ledger, other):
        self._ledger, self._other, self.keys = ledger, other, []

    def __call__(self, step) -> None:
        pass

    def batch_done(self) -> None:
        key, incident_key = self.keys[0]
        later = datetime.now(UTC) + LEASE + timedelta(minutes=1)
        assert self._other.claim_delivery(key, later, LEASE, incident_key) == "claimed", "the lease ran out"
        self._other.release_delivery(key, incident_key)


def test_a_claim_lost_while_the_notices_are_recorded_leaves_the_delivery_standing_and_settles_the_others(azurite, caplog):
    settings = {"table_connection_string": azurite, "table_prefix": fresh_prefix()}
    ledger, other = open_ledger("table", settings), open_ledger("table", settings)
    try:
        pipeline = build_pipeline(Settings(), ledger=ledger, notifier=False)
        listener = LosingAClaimBeforeSettling(ledger, other)
        pipeline.listeners.append(listener)
        body = b.body([b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=b.vm_id(name))
                       for name in ("vm1", "vm2")])
        delivery = parse_delivery(body, "first")
        listener.keys = [(s.delivery_key, s.incident_key) for s in delivery.signals]
        with caplog.at_level(logging.WARNING, logger="responder"):
            outcomes = pipeline.process(delivery)
        assert [o.action for o in outcomes] == ["redeploy", "redeploy"], "both decided, the delivery stands"
        assert [r for r in caplog.records if r.getMessage().startswith("claim lost")], "the log says what happened"
        (lost_key, lost_incident), (kept_key, kept_incident) = listener.keys
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert ledger.claim_delivery(kept_key, later, LEASE, kept_incident) == "decided", \
            "the other event's claim is settled although the first one's was lost"
        assert other.claim_delivery(lost_key, later, LEASE, lost_incident) == "claimed", \
            "the lost claim stays gone: this attempt's settling wrote nothing of it back"
    finally:
        ledger.close()
        other.close()
        drop_tables(azurite, ledger)
