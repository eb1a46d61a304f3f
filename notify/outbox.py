"""The outbox: every message is recorded before it is sent, and stays recorded after.

This module is the port (what notify/ needs from storage) and the records it speaks in. The
SQLite backend is `ledger.sqlite.outbox.SqliteOutbox`; a Table Storage backend implements the
same methods with ETag-conditional writes. Both record notices by one algorithm
(notify/recording.py) over storage primitives of their own.

Life of a message:

    pending --claim--> sending --accepted--> sent
       ^                  |--throttled/unavailable/uncertain--> pending (next_attempt_at later)
       |                  '--rejected, or last attempt--------> failed (kept, visible)
       '-- lease expired (a worker died mid-send): back to pending, marked uncertain

The claim (a conditional update from pending to sending) is the lock between workers. Once a
message has been claimed it is sealed: its rendered payload is stored before the first send
and reused on every retry, so a retry sends the very same message (same internetMessageId).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .routes import Destination

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATES = (PENDING, SENDING, SENT, FAILED)
INCIDENT, DIGEST = "incident", "digest"


@dataclass(frozen=True)
class Window:
    """A digest window of one destination and one cause: the storm scope (notify/digest.py)."""

    destination: str
    cause: str
    opened_at: datetime
    closes_at: datetime
    individual: tuple[str, ...] = ()  # incidents told one by one in this window
    digest_message: int | None = None
    storm: bool = False  # the storm breaker tripped in the scope: everything goes into the digest


@dataclass(frozen=True)
class Placement:
    """Where the digest rule puts a notice: its own incident message, or the window's digest."""

    window: Window
    kind: str  # INCIDENT | DIGEST
    due_at: datetime | None = None  # when a new incident message becomes due (after the hold)
    alone: bool = False  # a message of its own, joining no open one (the storm notice)
    fold: bool = False  # fold the window's held incident messages into its digest


@dataclass(frozen=True)
class Entry:
    """A notice on its way into the outbox, for one destination."""

    destination: Destination | None  # None for a notice recorded but not sent (routine, unrouted)
    cause: str
    incident_id: str
    notice_json: str
    submitted_at: datetime
    trips_storm: bool = False  # the storm notice: told alone, at once, and the scope turns stormy
    # The notice's identity at this destination (`entry_key`): an entry whose key the outbox holds
    # already is not recorded again, so a redelivery that records a delivery's notices a second
    # time (its first recording failed part way, or after it was done) adds nothing. None: no identity.
    key: str | None = None


def entry_key(notice_key: str, destination: str, *, alone: bool = False) -> str | None:
    """An entry's identity from its notice's (`Notice.key`: the delivery and the step it tells)
    and where it goes; the storm notice told alone and its copy in the digest are two entries."""
    if not notice_key:
        return None
    import hashlib

    return hashlib.sha256(f"{notice_key}\n{destination}\n{'alone' if alone else ''}".encode()).hexdigest()


@dataclass
class Message:
    id: int
    destination: str  # Destination.key, e.g. "teams:ops", "email:a@x.com,b@x.com"
    route: str
    channel: str
    target: str
    kind: str
    incident_id: str | None
    cause: str
    state: str
    created_at: datetime
    due_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    uncertain: bool = False  # the last attempt may have been delivered
    last_error: str | None = None
    payload: dict[str, Any] | None = None
    sent_at: datetime | None = None
    note: str | None = None
    notices: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Allowance(Protocol):
    """How many more messages a flush may send now to a destination (its channel's rate limit),
    so that `due` reads no more than can go: asked before a destination's messages are read,
    and told of each message listed."""

    def left(self, channel: str, target: str) -> int: ...

    def take(self, channel: str, target: str) -> None: ...


class OutboxStore(Protocol):
    def enqueue(self, entries: Sequence[Entry], place: Callable[[Entry, Window | None], Placement]) -> list[int]:
        """Record notices and attach each to a message, atomically (one transaction for the
        batch); `place` is the digest rule, given the entry and its window as stored. A placement
        that folds moves the window's incident messages not yet claimed (but the one it made)
        into the window's digest, notices and all. An entry whose `key` is recorded already is
        not recorded again: its id is that of the message it went to then (or 0 when unknown)."""

    def record(self, unsent: Sequence[tuple[Entry, str, str]]) -> None:
        """Record notices that are not sent, each with a state ("routine", "unrouted") and why;
        once per `key`, as `enqueue`."""

    def due(self, now: datetime, limit: int = 100, allowance: Allowance | None = None) -> list[Message]:
        """Pending messages whose time has come, oldest first (per destination and scope on Table
        Storage), at most as many per destination as `allowance` lets go now."""

    def next_due(self) -> datetime | None:
        """When the next pending message becomes due, if any."""

    def claim(self, message_id: int, now: datetime, lease_until: datetime) -> Message | None:
        """pending -> sending, if still pending and due; None when another worker got it."""

    def told(self, incident_id: str) -> list[tuple[str, str]]:
        """(destination key, route) of every message that carries a notice of the incident:
        who was told about it, so its follow-ups and its end go there too."""

    def notices(self, message_id: int) -> list[str]:
        """The notice JSON texts attached to a message, in submission order."""

    def save_payload(self, message_id: int, payload: dict[str, Any]) -> None: ...

    def mark_sent(self, message_id: int, now: datetime, note: str | None = None) -> None:
        """Sent, or (with a note saying where) told inside another message: the tenant-wide digest."""

    def active_scopes(self) -> dict[str, dict[str, bool]]:
        """Per destination key, the causes (storm scopes) of its messages on their way (pending or
        sending), each True when one of them is a digest: how many scopes a destination hears from
        at once, and how many of those are in storm or flood."""

    def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str, *, uncertain: bool) -> None: ...

    def mark_failed(self, message_id: int, now: datetime, error: str) -> None: ...

    def reserve(self, key: str, now: datetime, limit: int, period_seconds: float) -> float:
        """Take a send slot for a channel key: 0 when granted, else seconds to wait."""

    def available(self, key: str, now: datetime, limit: int, period_seconds: float) -> int:
        """How many send slots of a channel key are free now (taking none)."""

    def recover(self, now: datetime) -> int:
        """Hand back messages whose sending lease expired (marked uncertain); returns how many."""

    def purge(self, before: datetime) -> int:
        """Forget what was sent before `before` (failed and pending messages stay); returns how many."""

    def counts(self) -> dict[str, int]:
        """Messages per state, and recorded-but-not-sent notices per reason."""

    def messages(self, state: str | None = None, limit: int = 1000) -> list[Message]: ...
