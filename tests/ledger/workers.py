"""A Function instance, as a process: the pipeline on a Table Storage ledger, given deliveries.

Lives in its own module so a `spawn` child can import it (a test module's functions would drag
pytest's collection along).
"""

from __future__ import annotations

import traceback


def process_deliveries(connection: str, prefix: str, bodies: list[bytes], order: list[int], seed: int, start, results) -> None:
    """Replay the bodies in the order given; report (index, event id, status, incident, action, rule) per signal."""
    try:
        from intake.deliveries import parse_delivery
        from ledger import open_ledger
        from pipeline import Settings
        from wiring import build_pipeline

        ledger = open_ledger("table", {"table_connection_string": connection, "table_prefix": prefix})
        pipeline = build_pipeline(Settings(), ledger=ledger)  # the wall clock, as in Azure
        start.wait(timeout=120)  # every worker begins at once, so they collide
        seen = []
        for index in order:
            for outcome in pipeline.process(parse_delivery(bodies[index], f"delivery-{index}")):
                seen.append((index, outcome.event_id, outcome.status, outcome.incident_id, outcome.action, outcome.rule))
        ledger.close()
        results.put((seed, seen, None))
    except BaseException:  # noqa: BLE001 - the parent reports whatever went wrong in the child
        results.put((seed, [], traceback.format_exc()))


def act_on_deliveries(connection: str, prefix: str, azure: tuple[str, str], policy_path: str, bodies: list[bytes],
                      order: list[int], seed: int, start, results) -> None:
    """As process_deliveries, in auto mode against a simulated Azure (its URL and CA bundle)."""
    try:
        from intake.deliveries import parse_delivery
        from ledger import open_ledger
        from pipeline import Settings
        from pipeline.azure import LocalToken, connector
        from wiring import build_pipeline

        ledger = open_ledger("table", {"table_connection_string": connection, "table_prefix": prefix})
        settings = Settings(mode="auto", azure="sim", policy_path=policy_path,
                            subscriptions=("00000000-0000-0000-0000-00000000d3e0",))  # the demo fleet's
        connect = connector(settings, base_url=azure[0], ca_bundle=azure[1], credential=LocalToken())
        pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
        start.wait(timeout=120)
        seen = []
        for index in order:
            for outcome in pipeline.process(parse_delivery(bodies[index], f"delivery-{index}")):
                seen.append((index, outcome.event_id, outcome.status, outcome.incident_id, outcome.action, outcome.reason))
        ledger.close()
        results.put((seed, seen, None))
    except BaseException:  # noqa: BLE001 - the parent reports whatever went wrong in the child
        results.put((seed, [], traceback.format_exc()))
