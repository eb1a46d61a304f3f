"""A one-line progress bar for long sweeps: resources seen and pages read, redrawn in place.

Drawn on a terminal only (a log file or a pipe gets nothing), and at most a few times a second,
so a fast sweep does not spend its time drawing.
"""

from __future__ import annotations

import time
from typing import TextIO

from .stats import SweepStats


class ProgressBar:
    def __init__(self, stream: TextIO, interval: float = 0.2, width: int = 24):
        self.stream = stream
        self.interval = interval
        self.width = width
        self._last = 0.0
        self._spin = 0
        self._drawn = False

    @classmethod
    def for_stream(cls, stream: TextIO) -> ProgressBar | None:
        """A bar when `stream` is a terminal, else None."""
        try:
            return cls(stream) if stream.isatty() else None
        except (AttributeError, ValueError):
            return None

    def __call__(self, stats: SweepStats) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self._spin = (self._spin + 1) % self.width
        bar = "".join("=" if i == self._spin else "-" for i in range(self.width))
        line = (
            f"\rsweeping [{bar}] {stats.machines:,} machines, {stats.resources['scale-set']:,} scale sets,"
            f" {stats.pages:,} pages, {stats.arm_reads:,} reads, {sum(stats.findings.values()):,} findings"
        )
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True

    def done(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
