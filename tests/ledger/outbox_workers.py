"""A Function instance flushing the shared outbox, as a process (spawn imports this module, not
the test's, so pytest's collection does not come along)."""

from __future__ import annotations

import time
import traceback

STOP_AFTER_SECONDS = 60


class RecordingTeams:
    """A Teams channel that records what it accepted. Messages whose label ends in 0 are throttled
    the first time this worker tries them, so retries move between workers."""

    channel = "teams"
    resend_when_unsure = True

    def __init__(self) -> None:
        self.accepted: list[tuple[str, str]] = []
        self._throttled: set[tuple[str, str]] = set()

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        from notify.errors import ThrottledError

        if label.endswith("0") and (target, label) not in self._throttled:
            self._throttled.add((target, label))
            raise ThrottledError("429 Too Many Requests", status=429, retry_after=0.05)
        self.accepted.append((target, label))
        return "202"

    def confirm(self, target: str, payload: dict) -> bool | None:
        return False

    def close(self) -> None:
        pass


def flush_outbox(connection: str, prefix: str, seed: int, start, results) -> None:
    """Flush until nothing is pending; report (seed, accepted sends, error)."""
    try:
        from ledger.table.outbox import TableOutbox
        from notify.notifier import Notifier, SystemClock
        from notify.retry import RateLimit

        outbox = TableOutbox.from_settings({"table_connection_string": connection, "table_prefix": prefix})
        teams = RecordingTeams()
        # A limit high enough not to slow the test, low enough that every send takes a shared slot.
        notifier = Notifier(router=None, store=outbox, clock=SystemClock(), channels={"teams": teams},
                            rate_limits={"teams": RateLimit(500, 60.0)}, batch=20)
        start.wait(timeout=120)  # every worker begins at once, so they collide
        deadline = time.monotonic() + STOP_AFTER_SECONDS
        while outbox.next_due() is not None and time.monotonic() < deadline:
            summary = notifier.flush()
            if summary.errors:
                raise RuntimeError("; ".join(summary.errors))
            time.sleep(0.02)
        outbox.close()
        results.put((seed, teams.accepted, None))
    except BaseException:  # noqa: BLE001 - the parent reports whatever went wrong in the child
        results.put((seed, [], traceback.format_exc()))
