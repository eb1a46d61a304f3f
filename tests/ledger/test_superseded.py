"""A decision that lost its incident to another worker is decided again (`Superseded`): the retry
must not leave a second signal row, a second decision or a lost one behind.

A Service Health notice is about its tracking id (the incident's IncidentLog partition) and is
recorded in its subscription's partition, so its decision's writes span two partitions, which no
one transaction can hold. The race is driven by hand: two ledgers on the same Azurite tables, the
second worker deciding the notice's next stage between the first one's reads and its commit.
"""

from __future__ import annotations

import pytest

from intake.deliveries import parse_delivery
from ledger import open_ledger
from pipeline import Settings
from tests import builders as b
from tests.ledger.conftest import drop_tables, fresh_prefix
from wiring import build_pipeline

pytestmark = pytest.mark.usefixtures("fresh_events")

# (what the stages are, the notice that loses the race, the one decided meanwhile)
STAGES = [
    pytest.param("Planned", "Active", id="service-health: decision spans two partitions"),
]


class Interrupted:
    """A real ledger whose first decision waits for another worker's whole delivery: that worker
    moves the incident's pointer after this one read it, so this one's commit is superseded."""

    def __init__(self, ledger, meanwhile):
        self._ledger, self._meanwhile = ledger, meanwhile

    def __getattr__(self, name):
        return getattr(self._ledger, name)

    def record_decision(self, signal_id, incident_id, decision, at):
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None and signal_id is not None:
            meanwhile()
        return self._ledger.record_decision(signal_id, incident_id, decision, at)


@pytest.mark.parametrize(("losing", "winning"), STAGES)
def test_a_superseded_decision_leaves_one_signal_and_one_decision_per_delivery(azurite, losing, winning):
    prefix = fresh_prefix()
    settings = {"table_connection_string": azurite, "table_prefix": prefix}
    first, second = open_ledger("table", settings), open_ledger("table", settings)
    try:
        other = build_pipeline(Settings(), ledger=second)
        winner = parse_delivery(b.body(b.service_health("Maintenance", winning, tracking_id="T-9")), "winner")
        loser = parse_delivery(b.body(b.service_health("Maintenance", losing, tracking_id="T-9")), "loser")
        interrupted = Interrupted(first, lambda: other.process(winner))
        (outcome,) = build_pipeline(Settings(), ledger=interrupted).process(loser)

        logged = list(first._table("log").list_entities())
        signals = [row for row in logged if row["RowKey"].startswith("sig|")]
        decided = [row for row in first.history() if row["signal_id"] is not None]
        assert sorted(row["event_id"] for row in signals) == sorted([outcome.event_id, winner.signals[0].event_id])
        assert sorted(row["signal_id"] for row in decided) == sorted(int(row["id"]) for row in signals)
        assert len({row["incident_id"] for row in decided}) == 1, "one notice, one incident"
        by_id = {int(row["id"]): row for row in signals}
        assert all(by_id[row["signal_id"]]["incident_id"] == row["incident_id"] for row in decided), \
            "each signal row names the incident its decision is about"
        assert not [row for row in logged if row["RowKey"].startswith("lease|")], "every claim settled"
    finally:
        first.close()
        second.close()
        drop_tables(azurite, first)


class FailingOnce:
    """A real ledger whose store fails once when the first decision is recorded: after the hold
    was taken, so the incident, its pointer and the signal row are stored already."""

    def __init__(self, ledger):
        self._ledger, self.failed = ledger, False

    def __getattr__(self, name):
        return getattr(self._ledger, name)

    def record_decision(self, signal_id, incident_id, decision, at):
        if signal_id is not None and not self.failed:
            from ledger.errors import LedgerUnavailableError

            self.failed = True
            raise LedgerUnavailableError("Table Storage could not be reached while recording a decision")
        return self._ledger.record_decision(signal_id, incident_id, decision, at)


def test_a_delivery_decided_again_after_its_attempt_failed_keeps_one_signal_row(azurite):
    """The failed attempt gives its claim back; the sender's retry decides the delivery again and
    writes the signal row the first attempt left over, so history holds one signal and one decision."""
    prefix = fresh_prefix()
    ledger = open_ledger("table", {"table_connection_string": azurite, "table_prefix": prefix})
    try:
        failing = FailingOnce(ledger)
        pipeline = build_pipeline(Settings(), ledger=failing)
        body = b.body(b.annotated("VirtualMachinePossiblyDegradedDueToHardwareFailure", target=b.vm_id("vm1")))
        with pytest.raises(Exception, match="could not be reached"):
            pipeline.process(parse_delivery(body, "first"))
        assert failing.failed
        (outcome,) = pipeline.process(parse_delivery(body, "again"))

        logged = list(ledger._table("log").list_entities())
        signals = [row for row in logged if row["RowKey"].startswith("sig|")]
        decided = [row for row in ledger.history() if row["signal_id"] is not None]
        assert [row["event_id"] for row in signals] == [outcome.event_id]
        assert [row["signal_id"] for row in decided] == [int(signals[0]["id"])]
        assert signals[0]["incident_id"] == decided[0]["incident_id"] == outcome.incident_id
        assert outcome.action == "redeploy" and outcome.status not in ("duplicate", "skipped"), outcome
    finally:
        ledger.close()
        drop_tables(azurite, ledger)
