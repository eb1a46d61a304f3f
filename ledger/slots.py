"""The brakes' capped slots (in-flight and hourly caps), claimed by one algorithm on both backends.

A scope has `capacity` numbered slots. A holder that already holds a live one has it (a retried
start is the same claim); otherwise the first slot that is free or whose holder never gave it
back (its worker died, so it expired) is taken by a conditional write: an insert of a free slot,
a replace of an expired one only as it was read. Two workers never take the same slot, and a
full scope answers False. Each backend keeps only the rows (`_read_slots`, `_insert_slot`,
`_take_slot`, `release_slot`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any


@dataclass(frozen=True, slots=True)
class StoredSlot:
    """A slot as read; `version` is what a conditional replace is made against."""

    holder: str
    expires_at: datetime
    version: Any = None


class SlotClaims:
    """rules.ports' claim_slot over a backend's slot rows (mixed into the backends' safety)."""

    if TYPE_CHECKING:

        def _slot_claiming(self) -> AbstractContextManager[None]:
            """Around a claim's reads and writes: the backend's transaction, if it has one."""

        def _read_slots(self, scope: str) -> dict[int, StoredSlot]:
            """The scope's slots by number."""

        def _insert_slot(self, scope: str, slot: int, holder: str, until: datetime) -> bool:
            """Take a free slot: True unless another holder inserted it first."""

        def _take_slot(self, scope: str, slot: int, read: StoredSlot, holder: str, until: datetime) -> bool:
            """Take an expired slot only as it was read: True unless another holder moved it first."""

    def claim_slot(self, scope: str, capacity: int, holder: str, at: datetime, ttl: timedelta) -> bool:
        """One of `capacity` slots of a scope for `holder` (already holding one counts). A slot
        whose holder never released it is free again once it expired (a worker died)."""
        with self._slot_claiming():
            slots = self._read_slots(scope)
            if any(slot.holder == holder and slot.expires_at > at for slot in slots.values()):
                return True
            for number in range(capacity):
                current = slots.get(number)
                if current is None:
                    if self._insert_slot(scope, number, holder, at + ttl):
                        return True
                elif current.expires_at <= at and self._take_slot(scope, number, current, holder, at + ttl):
                    return True
        return False
