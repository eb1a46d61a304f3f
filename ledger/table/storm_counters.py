"""The storm breaker's counts as one Table Storage ledger instance holds them between writes.

Each instance (a Function worker) keeps its own counter row per scope and minute, which only it
writes, so counting never contends: a count is a read of the scope's rows of the window (one per
worker and minute, however many resources turned unhealthy). Rows are written when they changed,
at most every STORE_EVERY, so a storm's signals do not each cost a write; other workers see this
worker's marks that much later, and a worker that stops loses at most its last few seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

STORE_EVERY = 5.0  # seconds
KEPT_MINUTES = 180  # stored counts this much older than the latest are read back from the store


class Counters:
    def __init__(self) -> None:
        self.worker = uuid.uuid4().hex[:16]
        self._counts: dict[str, dict[str, int]] = defaultdict(dict)  # scope -> minute -> count
        self._changed: set[tuple[str, str]] = set()
        self._stored_at = 0.0
        self._lock = threading.Lock()

    def add(self, scope: str, at: str | None, moved_from: str | None) -> None:
        """One resource counted at `at` (a stamp), no longer at `moved_from` (its earlier mark)."""
        with self._lock:
            for stamp, step in ((at, 1), (moved_from, -1)):
                if stamp:
                    minute = stamp[:16]
                    self._counts[scope][minute] = self._counts[scope].get(minute, 0) + step
                    self._changed.add((scope, minute))

    def held(self, scope: str, first_minute: str) -> dict[str, int]:
        """This worker's counts of a scope from a minute on, as it holds them (stored or not)."""
        with self._lock:
            return {minute: count for minute, count in self._counts.get(scope, {}).items() if minute >= first_minute}

    def due(self) -> bool:
        with self._lock:
            return bool(self._changed) and time.monotonic() - self._stored_at >= STORE_EVERY

    def take(self) -> dict[str, dict[str, int]]:
        """The changed rows to store now: {scope: {minute: count}}."""
        with self._lock:
            taken: dict[str, dict[str, int]] = defaultdict(dict)
            for scope, minute in self._changed:
                taken[scope][minute] = self._counts[scope][minute]
            self._changed.clear()
            self._stored_at = time.monotonic()
            self._forget()
            return dict(taken)

    def forget_before(self, minute: str) -> None:
        """The store's rows before this minute were purged: so are this worker's counts of them."""
        with self._lock:
            for minutes in self._counts.values():
                for old in [m for m in minutes if m < minute]:
                    del minutes[old]
            self._changed = {(scope, m) for scope, m in self._changed if m >= minute}

    def _forget(self) -> None:
        """Counts stored and older than KEPT_MINUTES before the latest minute counted: the store has them."""
        latest = max((m for minutes in self._counts.values() for m in minutes), default="")
        if not latest:
            return
        cut = (datetime.fromisoformat(latest + ":00+00:00") - timedelta(minutes=KEPT_MINUTES)).isoformat()[:16]
        for minutes in self._counts.values():
            for minute in [m for m in minutes if m < cut]:
                del minutes[minute]
