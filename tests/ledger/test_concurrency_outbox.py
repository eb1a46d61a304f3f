"""Four Function instances flushing one outbox on Table Storage: each message is claimed by one
worker and sent exactly once, a throttled message is retried (by whichever worker finds it due)
and still sent once, and every message ends `sent`.

Workers are real processes (spawn, as the Functions host starts them), each with its own SDK
client; only Azurite is shared.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from ledger.table.outbox import TableOutbox
from notify.digest import DigestPolicy
from notify.outbox import Entry
from notify.routes import Destination
from tests.ledger.conftest import fresh_prefix
from tests.ledger.outbox_workers import flush_outbox
from tests.ledger.spawned import run_spawned
from tests.notify.conftest import notice
from tests.notify.test_outbox_sqlite import placer

WORKERS = 4
WEBHOOKS = ("ops", "dev", "sre")
INCIDENTS = 8  # per webhook: 24 messages


def test_four_workers_flushing_one_outbox_send_each_message_once(azurite):
    prefix, now = fresh_prefix(), datetime.now(UTC)
    outbox = TableOutbox.from_settings({"table_connection_string": azurite, "table_prefix": prefix})
    try:
        entries = [
            Entry(Destination(f"{hook}-teams", "teams", hook), f"sub|westeurope|{hook}", f"INC-{i:04d}",
                  notice(incident_id=f"INC-{i:04d}").to_json(), now)
            for hook in WEBHOOKS for i in range(INCIDENTS)
        ]
        ids = set(outbox.enqueue(entries, placer(DigestPolicy(individual=INCIDENTS, hold=timedelta(0)))))
        assert len(ids) == len(WEBHOOKS) * INCIDENTS

        reports = run_spawned(flush_outbox, [(azurite, prefix, seed) for seed in range(WORKERS)])

        sends = Counter(send for _, accepted, _ in reports for send in accepted)
        expected = {(hook, f"INC-{i:04d}") for hook in WEBHOOKS for i in range(INCIDENTS)}
        assert set(sends) == expected and set(sends.values()) == {1}, "every message sent exactly once"
        assert sum(1 for _, accepted, _ in reports if accepted) > 1, "the work was shared"
        messages = outbox.messages()
        assert {m.state for m in messages} == {"sent"} and {m.id for m in messages} == ids
        retried = [m for m in messages if m.incident_id.endswith("0")]
        assert retried and all(m.attempts >= 2 and m.last_error for m in retried)
    finally:
        for name in outbox.tables.values():
            outbox.service.delete_table(name)
        outbox.close()


def test_sixteen_workers_recording_notices_on_one_subscription_lose_none(azurite):
    """Sixteen instances at the end of their deliveries at once, every incident in one subscription
    and region (one storm scope: the same partitions): a delivery whose notices lost every
    conditional write is delivered again, and in the end every notice is in the outbox, once per
    destination (bench/outbox_contention.py measures the same at a larger size)."""
    from bench.outbox_contention import run

    found = run(azurite, fresh_prefix(), workers=16, deliveries=3)
    assert (found["notices_lost"], found["notices_twice"]) == (0, 0), found
    assert found["deliveries"] == 48
