"""A delivery's notices recorded once, however its first recording failed: on Table Storage a
delivery's notices land in one transaction per destination and scope, so a recording can fail part
way (one destination's transaction committed, the next refused), or commit and lose its answer.
The delivery fails, its sender delivers it again, and the second recording finds each notice it
made before by its key (the delivery and the step) and adds nothing for it. Through a proxy in
front of Azurite that fails the chosen transaction."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tests.azurite import connection_string
from tests.ledger.conftest import azurite, fresh_prefix  # noqa: F401 - the session's Azurite
from tests.notify.conftest import notice

from .table_proxy import TableProxy

# (fault, the outbox transaction it hits: a $batch names its entities in its body)
CASES = [
    # The email destination's transaction refused (503 until its retries run out), the Teams one committed.
    ("503", r"(?s)\$batch.*email:"),
    # The Teams destination's transaction committed and its answer lost: the worker cannot know.
    ("drop-after", r"(?s)\$batch.*teams:ops"),
]


@pytest.mark.parametrize("kind, transaction", CASES, ids=[c[0] for c in CASES])
def test_a_delivery_recorded_part_way_is_recorded_once_by_its_redelivery(azurite, kind, transaction):  # noqa: F811
    from ledger.table.outbox import TableOutbox
    from ledger.table.service import service_client
    from notify import NoticesNotRecordedError
    from notify.notifier import Notifier, SystemClock
    from notify.routes import Router, parse_routes

    port = int(re.search(r":(\d+)/devstoreaccount1", azurite).group(1))
    with TableProxy(port) as proxy:
        outbox = TableOutbox(service_client(connection_string=connection_string(proxy.port)), fresh_prefix(), owns_service=True)
        router = Router(parse_routes({}), webhooks={"ops": "https://teams.example/ops"},
                        mail_sender="responder@contoso.example", mail_to=("ops@contoso.example",))
        notifier = Notifier(router=router, store=outbox, clock=SystemClock(), channels={})
        delivery = [notice(incident_id=f"INC-{n}", routes=("ops-teams", "ops-email"), key=f"event-{n}\n\nopened") for n in range(3)]
        notifier.record_many(delivery[:1])  # the tables exist, and the proxy sees only the delivery's transactions

        fault = proxy.add("POST", transaction, kind, times=1000 if kind == "503" else 1)
        attempts = 1
        while True:  # Event Grid delivers again until the delivery succeeds
            try:
                notifier.record_many(delivery)
                break
            except NoticesNotRecordedError:
                assert attempts < 3, "the outbox did not come back"
                attempts += 1
                fault.times = fault.hits  # the service answers again
        assert fault.hits, "the fault never met the transaction"

        held: Counter[tuple[str, str]] = Counter()
        for message in outbox.messages():
            for text in outbox.notices(message.id):
                held[(json.loads(text)["incident_id"], message.channel)] += 1
        assert held == {(f"INC-{n}", channel): 1 for n in range(3) for channel in ("teams", "email")}, (attempts, held)
        assert sorted(outbox.told("INC-2")) == [("email:ops@contoso.example", "ops-email"), ("teams:ops", "ops-teams")]
        for name in outbox.tables.values():
            outbox.service.delete_table(name)
        outbox.close()

