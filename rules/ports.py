"""The ports the decision pipeline needs; ledger/ (and later backends) implement them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from .engine import Decision
from .signals import Signal


@dataclass(frozen=True, slots=True)
class IncidentRef:
    id: str
    key: str
    resource_id: str
    opened_at: datetime
    new: bool


# What claim_delivery answers.
CLAIMED = "claimed"      # the caller holds the delivery: decide it, then settle it
DECIDED = "decided"      # a duplicate: the delivery's decision is already recorded
IN_FLIGHT = "in-flight"  # another attempt holds it, undecided, within its lease: deliver it again later


class Superseded(Exception):
    """The writes of a decision lost a conditional write to another worker (the open incident
    moved): nothing of them was kept, and the decision is made again from a fresh read. Raised
    by a store that records a decision in one transaction at its end (Table Storage)."""


class ClaimLost(Exception):
    """The delivery's claim was gone when its decision was settled: purged, or given back by a
    later attempt that took it over once its lease ran out. Nothing of the decision was kept, and
    deciding again would not help: the claim is no longer this attempt's. The sender is asked to
    deliver again, and its retry claims the delivery afresh."""


class Ledger(Protocol):
    """State behind one port. Every method is safe to call from many workers at once."""

    def claim_delivery(self, key: str, at: datetime, lease: timedelta, incident_key: str = "") -> str:
        """CLAIMED for the first delivery with this key, DECIDED once its decision is recorded,
        IN_FLIGHT while another attempt holds it. A conditional write, so of many workers asking at
        once one gets CLAIMED. A claim left unsettled past its lease (its worker died) is CLAIMED
        again by the next asker, so a crash between the claim and the decision loses nothing.
        `incident_key` (the signal's) lets a store keep the claim beside the incident, so the
        decision and the claim's settling are one write; the same key must be given to settle and
        release."""

    def settle_delivery(self, key: str, at: datetime, incident_key: str = "") -> None:
        """The delivery's decision is recorded: every later delivery with this key is DECIDED."""

    def release_delivery(self, key: str, incident_key: str = "") -> None:
        """Give back a claim this caller holds and could not decide, so a redelivery can take it."""

    def atomically(self) -> AbstractContextManager[None]:
        """The writes inside as one transaction where the store has them (SQLite); otherwise each
        write stands alone (Table Storage) and the claim's lease covers a half-done decision."""

    def open_incident(self, key: str, resource_id: str, at: datetime, ttl: timedelta) -> IncidentRef:
        """The open incident for this key, or a new one; an incident quiet for `ttl` is over."""

    def close_incident(self, incident_id: str, at: datetime, reason: str) -> None: ...

    def record_signal(self, signal: Signal, incident_id: str | None, at: datetime) -> int: ...

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int:
        """Distinct occurrences (occurred times) of recorded signals with this name on this
        resource, occurred between two times (both included)."""

    def hold_action(
        self, incident_id: str, action: str, decision_ref: str, at: datetime, status: str = "held"
    ) -> Mapping[str, Any] | None:
        """Take the incident's one action: None if this caller now holds it, else the holder
        ({action, status, decision_ref, at}). A conditional insert, so exactly one of many
        workers asking at once gets None. `decision_ref` says who holds it (a delivery key)."""

    def update_hold(self, incident_id: str, status: str) -> None:
        """The held action moved on (started, succeeded...); a no-op when nothing is held."""

    def release_action(self, incident_id: str) -> None:
        """Give the incident's action back (refused or failed), so a later signal may act."""

    def record_decision(self, signal_id: int | None, incident_id: str | None, decision: Decision, at: datetime) -> int: ...

    def record_rejection(self, input_name: str, where: str, problem: str, excerpt: str, at: datetime) -> int: ...

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[Mapping[str, Any]]:
        """Decisions joined with their signals, oldest first: the audit trail."""

    def purge(self, before: datetime) -> Mapping[str, int]:
        """Remove what was recorded before a time and is finished (pipeline/retention.py says
        what); how many of each kind went."""

    def signal(self, signal_id: int, resource_id: str | None = None) -> Mapping[str, Any] | None:
        """A recorded signal's row, for the message of a decision made after it (None: unknown id);
        with the resource, one partition is read instead of the table."""


class OperationStore(Protocol):
    """Remediation operations: written before the ARM call, completed after it."""

    def record_intent(self, incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
                      params: Mapping[str, Any], facts: Mapping[str, Any], at: datetime, state: str = "intent") -> int: ...

    def update_operation(self, operation_id: int, at: datetime, *, state: str | None = None, token: str | None = None,
                         message: str | None = None, facts: Mapping[str, Any] | None = None, attempt: bool = False,
                         expect_state: str | None = None) -> bool:
        """With `expect_state`, a conditional write: False when another worker moved it first."""

    def operation(self, operation_id: int) -> Mapping[str, Any] | None: ...

    def open_operations(self) -> list[Mapping[str, Any]]:
        """Operations still verifying, recorded as intent, or running; oldest first."""

    def operations(self, incident_id: str | None = None) -> list[Mapping[str, Any]]: ...

    def signal(self, signal_id: int, resource_id: str | None = None) -> Mapping[str, Any] | None: ...


class SafetyStore(Protocol):
    """What the brakes and switches (pipeline/safety.py) keep: operations made, storm marks and
    breakers, the caps' slots, the pause switch, and repeat rules' occurrences."""

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int: ...

    def count_operations(self, resource: str, since: datetime | None = None, states: tuple[str, ...] = ...) -> int:
        """Operations in `states` created since a time, on one resource or under a prefix ending in "/"."""

    def last_operation(self, resource_key: str, states: tuple[str, ...] = ...) -> Mapping[str, Any] | None: ...

    def mark_unhealthy(self, scope: str, resource_key: str, at: datetime) -> None: ...

    def unmark_unhealthy(self, scope: str, resource_key: str, since: datetime) -> None: ...

    def count_unhealthy(self, scope: str, since: datetime) -> int: ...

    def marked(self, scope: str, resource_key: str, since: datetime) -> bool:
        """The resource has a mark in this scope made since a time."""

    def storm(self, scope: str) -> Mapping[str, Any] | None: ...

    def open_storm(self, scope: str, at: datetime, reason: str) -> bool:
        """True when this call tripped the breaker (the storm was not open yet)."""

    def close_storm(self, scope: str) -> bool: ...

    def claim_slot(self, scope: str, capacity: int, holder: str, at: datetime, ttl: timedelta) -> bool:
        """One of `capacity` slots of a scope for `holder`; a conditional write."""

    def release_slot(self, scope: str, holder: str) -> None: ...

    def set_switch(self, name: str, value: str, by: str, at: datetime) -> None: ...

    def switch(self, name: str) -> Mapping[str, Any] | None: ...


class Store(Ledger, OperationStore, SafetyStore, Protocol):
    """One backend behind every port above (ledger/: SQLite or Table Storage), as the composition
    root (wiring/) hands it to the pipeline, the remediation and the safety."""
