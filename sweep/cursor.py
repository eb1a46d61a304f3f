"""Where the sweep stands in its cycle, kept in the ledger between timer runs.

A cycle sweeps every subscription in scope once, in order of id, in batches; after each batch
the cursor records the last subscription swept, so the next run (or the rest of this one) starts
after it. When the last batch is done the next cycle starts from the first subscription, in the
next run. A subscription added to the scope mid-cycle is swept when the cycle reaches it (or in
the next cycle, if its id sorts before the cursor); one removed is simply not asked for.

The ledger keeps one row per sweep name (`sweep_cursor(name)`, `save_sweep_cursor(...)`); without
a ledger (None: a sweep run on its own) the cursor is kept in memory, so every run is a fresh cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rules.ports import SweepCursorStore


@dataclass
class Position:
    cycle: int
    after: str  # the last subscription swept in this cycle; "" at a cycle's start
    cycle_started: datetime


class SweepCursor:
    def __init__(self, ledger: SweepCursorStore | None, name: str, clock: Callable[[], datetime]):
        self.ledger = ledger
        self.name = name
        self.clock = clock

    def load(self) -> Position:
        row = self.ledger.sweep_cursor(self.name) if self.ledger is not None else None
        if row is None:
            return Position(1, "", self.clock())
        after = str(row["after"] or "")
        # A cycle starts when its first batch is swept, not when the last one ended.
        return Position(int(row["cycle"]), after, row["cycle_started"] if after else self.clock())

    def batch(self, position: Position, subscriptions: tuple[str, ...], size: int) -> tuple[str, ...]:
        """The next `size` subscriptions after the cursor, in order of id."""
        return tuple(s for s in sorted(subscriptions) if s > position.after)[:size]

    def advance(self, position: Position, swept: tuple[str, ...], subscriptions: tuple[str, ...]) -> bool:
        """Record `swept` done; True when that ended the cycle (the next one is saved to start)."""
        position.after = max(swept)
        ended = not any(s > position.after for s in subscriptions)
        if ended:
            position.cycle, position.after, position.cycle_started = position.cycle + 1, "", self.clock()
        self.save(position)
        return ended

    def save(self, position: Position) -> None:
        if self.ledger is not None:
            self.ledger.save_sweep_cursor(self.name, position.cycle, position.after, position.cycle_started, self.clock())
