"""What one ledger instance knows about the delivery claims it made.

A claim is `decided` once the pipeline has recorded the delivery's decision. Until then it is
held by one worker under a lease; a claim nobody settled (the worker was killed, or the store
lost the answer to the claim's write) is taken again once its lease has run out.

Each claim carries a holder token. The ledger remembers the tokens of the claims it made and
of those whose fate it does not know: the claim's write raised (the store may or may not have
it), or giving a claim back failed. Only those unsure claims may be retaken by this same
instance before their lease ends: the earlier attempt is known to be over, so nobody else is
deciding that delivery. A claim this instance holds and is still deciding is never retaken,
so a duplicate delivery racing on another thread waits for the first like any other worker.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import OrderedDict

from rules.ports import CLAIMED, DECIDED, IN_FLIGHT

__all__ = ["CLAIMED", "DECIDED", "IN_FLIGHT", "ClaimBook"]

# Enough for every delivery a busy worker has in hand; the oldest are forgotten first.
REMEMBERED = 4096


class ClaimBook:
    def __init__(self) -> None:
        self._held: OrderedDict[str, str] = OrderedDict()
        self._unsure: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        # Unique across workers by the random part, across this worker's claims by the count.
        self._worker = uuid.uuid4().hex[:16]
        self._count = itertools.count(1)

    def new_holder(self) -> str:
        return f"{self._worker}-{next(self._count)}"

    def may_retake(self, key: str, holder: str | None) -> bool:
        """The stored claim is one of this instance's earlier, finished attempts."""
        with self._lock:
            return holder is not None and self._unsure.get(key) == holder

    def held(self, key: str, holder: str) -> None:
        with self._lock:
            self._unsure.pop(key, None)
            self._remember(self._held, key, holder)

    def unsure(self, key: str, holder: str) -> None:
        """The claim's write (or its release) failed: the store may hold `holder`'s claim."""
        with self._lock:
            self._held.pop(key, None)
            self._remember(self._unsure, key, holder)

    def holder(self, key: str) -> str | None:
        with self._lock:
            return self._held.get(key)

    def done(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)
            self._unsure.pop(key, None)

    @staticmethod
    def _remember(book: OrderedDict[str, str], key: str, holder: str) -> None:
        book[key] = holder
        book.move_to_end(key)
        while len(book) > REMEMBERED:
            book.popitem(last=False)
