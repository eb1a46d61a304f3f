"""A Function instance, as a process: the pipeline on a Table Storage ledger, given deliveries.

Lives in its own module so a `spawn` child can import it (a test module's functions would drag
pytest's collection along).
"""

from __future__ import annotations

import random
import traceback


def process_deliveries(connection: str, prefix: str, bodies: list[bytes], seed: int, start, results) -> None:
    """Replay every body in an order of its own; report (index, status, incident, action) per signal."""
    try:
        from handlers.deliveries import parse_delivery
        from ledger import open_ledger
        from pipeline import Settings, build_pipeline

        ledger = open_ledger("table", {"table_connection_string": connection, "table_prefix": prefix})
        pipeline = build_pipeline(Settings(), ledger=ledger)  # the wall clock, as in Azure
        order = list(range(len(bodies)))
        random.Random(seed).shuffle(order)
        start.wait(timeout=120)  # every worker begins at once, so they collide
        seen = []
        for index in order:
            for outcome in pipeline.process(parse_delivery(bodies[index], f"delivery-{index}")):
                seen.append((index, outcome.event_id, outcome.status, outcome.incident_id, outcome.action, outcome.rule))
        ledger.close()
        results.put((seed, seen, None))
    except BaseException:  # noqa: BLE001 - the parent reports whatever went wrong in the child
        results.put((seed, [], traceback.format_exc()))
