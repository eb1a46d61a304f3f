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

`DeliveryClaims` is the claim's algorithm, written once for every backend: what a stored claim
means (decided, in flight, lapsed, this instance's own), when it is taken over, and what the book
remembers. A backend gives it five small primitives on its own rows: insert a claim, read it,
replace it only as it was read, settle it, give it back.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import OrderedDict
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rules.ports import CLAIMED, DECIDED, IN_FLIGHT, ClaimLost

from .errors import LedgerContentionError

__all__ = ["CLAIMED", "DECIDED", "EXISTS", "IN_FLIGHT", "ClaimBook", "ClaimLost", "DeliveryClaims", "StoredClaim"]

# What inserting a claim answers besides CLAIMED (this call inserted it) and DECIDED (the store
# said so without a read): a claim is stored, read it to know whose it is.
EXISTS = "exists"

# How often a claim may vanish between its insert and its read (settled or given back meanwhile).
VANISHING = 25

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


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """A delivery's claim as read: who holds it, until when, and whether it is decided.
    `version` is what a conditional replace is made against (an ETag, or the row as read)."""

    holder: str | None
    lease_until: datetime | None
    decided: bool
    version: Any = None


class DeliveryClaims:
    """rules.ports.Ledger's claim_delivery, settle_delivery and release_delivery over a backend's
    primitives (mixed into SqliteLedger and TableLedger)."""

    _claims: ClaimBook

    if TYPE_CHECKING:  # what each backend provides

        def _insert_claim(self, key: str, incident_key: str, holder: str, at: datetime, until: datetime) -> str:
            """Insert the claim if the key has none: CLAIMED, DECIDED or EXISTS."""

        def _read_claim(self, key: str, incident_key: str) -> StoredClaim | None:
            """The claim as stored, or None when it is gone."""

        def _take_claim(self, key: str, incident_key: str, read: StoredClaim, holder: str, until: datetime) -> bool:
            """Make `holder` the claim's holder only if nobody wrote it since `read`."""

        def _settle_claim(self, key: str, incident_key: str, holder: str | None, at: datetime) -> None:
            """Mark the claim decided; raise ClaimLost when it is gone (`holder`: this instance's,
            None when the book does not know it)."""

        def _release_claim(self, key: str, incident_key: str, holder: str) -> None:
            """Delete the claim if `holder` still holds it undecided."""

        def _claiming(self) -> AbstractContextManager[None]:
            """Around a claim's reads and writes: the backend's transaction, if it has one."""

    def claim_delivery(self, key: str, at: datetime, lease: timedelta, incident_key: str = "") -> str:
        holder = self._claims.new_holder()
        try:
            with self._claiming():
                answer = self._claim(key, incident_key, holder, at, at + lease)
        except Exception:
            self._claims.unsure(key, holder)  # the store may hold this claim: this instance may retake it
            raise
        if answer == CLAIMED:
            self._claims.held(key, holder)
        return answer

    def _claim(self, key: str, incident_key: str, holder: str, at: datetime, until: datetime) -> str:
        for _ in range(VANISHING):
            inserted = self._insert_claim(key, incident_key, holder, at, until)
            if inserted != EXISTS:
                return inserted
            stored = self._read_claim(key, incident_key)
            if stored is None:  # settled or given back between the two calls: ask again
                continue
            if stored.decided:
                return DECIDED
            ours = stored.holder == holder  # the store retried an insert whose answer was lost
            lapsed = stored.lease_until is not None and stored.lease_until < at
            if not (ours or lapsed or self._claims.may_retake(key, stored.holder)):
                return IN_FLIGHT
            if ours or self._take_claim(key, incident_key, stored, holder, until):
                return CLAIMED
            # Lost to another worker, or the store retried a takeover whose answer was lost and the
            # retry found its own write: the holder tells which.
            now_held = self._read_claim(key, incident_key)
            return CLAIMED if now_held is not None and now_held.holder == holder else IN_FLIGHT
        raise LedgerContentionError(f"the claim of delivery {key!r} kept vanishing between its insert and its read")

    def settle_delivery(self, key: str, at: datetime, incident_key: str = "") -> None:
        try:
            self._settle_claim(key, incident_key, self._claims.holder(key), at)
        except ClaimLost:
            self._claims.done(key)  # nothing of it is this instance's any more
            raise
        self._claims.done(key)

    def release_delivery(self, key: str, incident_key: str = "") -> None:
        holder = self._claims.holder(key)
        if holder is None:
            return
        try:
            self._release_claim(key, incident_key, holder)
        except Exception:
            self._claims.unsure(key, holder)  # the claim's lease frees it later; this instance may retake it sooner
            raise
        self._claims.done(key)
