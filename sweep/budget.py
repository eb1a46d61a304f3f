"""The time a timer run may spend sweeping, well under the function's timeout.

The sweep works in batches of subscriptions and keeps its cursor after each one, so a run that
stops early loses nothing. It starts a batch only when the longest batch of this run would still
end inside the budget; the first batch of a run always starts (a run that swept nothing would
never move the cursor). A batch that overruns the budget still ends before the function's
timeout as long as one batch takes less than the margin between the two (3 minutes by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pipeline.settings import SweepSettings

DEFAULT_SECONDS = SweepSettings.budget_seconds  # 7 of the 10 minutes host.json gives a function


class Budget:
    def __init__(self, seconds: float = DEFAULT_SECONDS, timer: Callable[[], float] = time.monotonic):
        if seconds <= 0:
            raise ValueError(f"the sweep's time budget must be positive, not {seconds}")
        self.seconds = float(seconds)
        self.timer = timer
        self.began = timer()
        self.longest = 0.0  # the longest batch of this run, seconds
        self._batch_began: float | None = None
        self.batches = 0

    def elapsed(self) -> float:
        return self.timer() - self.began

    def batch_started(self) -> None:
        self._batch_began = self.timer()

    def batch_done(self) -> None:
        if self._batch_began is not None:
            self.longest = max(self.longest, self.timer() - self._batch_began)
        self._batch_began = None
        self.batches += 1

    def allows_another(self) -> bool:
        """Whether a batch as long as the longest so far still ends inside the budget."""
        return self.batches == 0 or self.elapsed() + self.longest <= self.seconds
