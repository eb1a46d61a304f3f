"""How the outbox records a notice and folds a window: the algorithm, once, above the backends.

A backend gives a `Scope`: one transaction's view of the records of a destination and scope (its
digest window, its messages, their notices), with the storage primitives below and nothing of the
digest rule. SQLite's is a `BEGIN IMMEDIATE` transaction over the whole batch; Table Storage's is
one entity-group transaction of a partition, read as it goes and committed with the ETags read
(ledger/table/outbox_rows.py `Work`), redone from fresh reads when another worker wrote first.

    record_entry(scope, entry, place)     a notice to its message: the incident's own, the
                                          window's digest, or one alone (the storm notice)
    fold_incident(scope, entry, incident, keep)
                                          one incident message held in the window moved into the
                                          window's digest (the storm's fold), notices and all

SQLite folds every incident of the window inside the recording's transaction; Table Storage after
the recording commits, one transaction per incident message (a partition's transaction holds at
most 100 entities).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol, cast

from .outbox import DIGEST, INCIDENT, Entry, Placement, Window
from .routes import Destination


class Scope(Protocol):
    """One transaction's records of a destination and scope (a backend's storage primitives)."""

    def seen(self, key: str) -> int | None:
        """The message a notice of this key went to, if one was recorded (0 when unknown)."""

    def window(self, destination: str, cause: str) -> Window | None:
        """The digest window as stored (or as written earlier in this transaction)."""

    def is_open(self, message_id: int) -> bool:
        """The message still takes notices: pending and never claimed."""

    def open_message(self, destination: str, incident_id: str) -> int | None:
        """The incident's message to this destination that still takes its follow-ups."""

    def new_message(self, entry: Entry, kind: str, incident_id: str | None, *, created: datetime, due: datetime,
                    follows: bool) -> int:
        """A pending message; `follows`: the incident's follow-ups join it (`open_message` finds it)."""

    def save_window(self, window: Window) -> None: ...

    def attach(self, message_id: int, entry: Entry) -> None:
        """The notice recorded under the message (its count up by one), with its key when it has one."""

    def held(self, destination: str, cause: str, incident_id: str, keep: int) -> int | None:
        """The incident's message of this scope not yet claimed, but `keep` (the one just recorded)."""

    def move(self, message_id: int, digest_id: int) -> bool:
        """Move a held message's notices under the digest and remove the message; False when it
        cannot be done in this transaction (left to go out alone)."""


def digest_of(scope: Scope, entry: Entry, window: Window) -> tuple[int, Window]:
    """The window's digest message while it still takes notices, else a new one (the window then names it)."""
    if window.digest_message is not None and scope.is_open(window.digest_message):
        return window.digest_message, window
    made = scope.new_message(entry, DIGEST, None, created=window.opened_at, due=window.closes_at, follows=False)
    return made, replace(window, digest_message=made)


def record_entry(scope: Scope, entry: Entry, place: Callable[[Entry, Window | None], Placement]) -> tuple[int, bool]:
    """Record one routed entry: (the message it went to, whether its window's held incident
    messages are to be folded into the digest now). A key recorded before adds nothing."""
    if entry.key is not None:
        seen = scope.seen(entry.key)
        if seen is not None:
            return seen, False
    dest = cast(Destination, entry.destination)  # only routed entries are recorded here; record() keeps the others
    placement = place(entry, scope.window(dest.key, entry.cause))
    window = placement.window
    if placement.kind == DIGEST:
        message, window = digest_of(scope, entry, window)
    else:
        joined = None if placement.alone else scope.open_message(dest.key, entry.incident_id)
        now = entry.submitted_at
        message = joined if joined is not None else scope.new_message(
            entry, INCIDENT, entry.incident_id, created=now, due=placement.due_at or now,
            follows=not placement.alone)  # the storm notice: a message of its own, which no follow-up joins
    scope.save_window(window)
    scope.attach(message, entry)
    return message, placement.fold


def fold_incident(scope: Scope, entry: Entry, incident_id: str, keep: int) -> bool:
    """Move the incident's held message of the entry's window into the window's digest; False
    when there is nothing to move (told already, claimed, or the one kept) or it cannot move."""
    dest = cast(Destination, entry.destination)
    window = scope.window(dest.key, entry.cause)
    held = scope.held(dest.key, entry.cause, incident_id, keep)
    if window is None or held is None:
        return False
    digest, window = digest_of(scope, entry, window)
    if not scope.move(held, digest):
        return False
    scope.save_window(window)
    return True


def fold_window(scope: Scope, entry: Entry, keep: int) -> None:
    """Every incident the window told one by one, folded in this one transaction (SQLite)."""
    dest = cast(Destination, entry.destination)
    window = scope.window(dest.key, entry.cause)
    for incident in window.individual if window is not None else ():
        fold_incident(scope, entry, incident, keep)
