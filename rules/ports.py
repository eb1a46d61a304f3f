"""The ports every room sees the state through; ledger/ (each of its backends) implements them all.

One Protocol per need, named by what it keeps: the pipeline's (`Ledger`, `OperationStore`,
`SafetyStore`), and those of the rooms above it (`ApprovalStore` for approvals/, `WaveStore` for
waves/, `SweepCursorStore`, `Switches` and `Occurrences` for sweep/, `AuditTrail` for the command
line). `Store` is all of them: what the composition root (wiring/) opens and hands round, so a room
asks for its own port by type and never probes a store for a method (tests/test_architecture.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from .engine import Decision
from .records import (
    Approval,
    HeldAction,
    HistoryRow,
    IncidentRow,
    LastOperation,
    NewApproval,
    NewWaveMember,
    Operation,
    PurgeCounts,
    SignalRow,
    Storm,
    SweepCursor,
    Switch,
    Wave,
    WaveMember,
    WaveOperation,
)
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


class Retention(Protocol):
    """What the daily purge (pipeline/retention.py) asks of the ledger."""

    def purge(self, before: datetime) -> PurgeCounts:
        """Remove what was recorded before a time and is finished (pipeline/retention.py says
        what); how many of each kind went."""


class Occurrences(Protocol):
    """Recorded signals counted: the repeat rules, and the sweep's datapath check (sweep/datapath.py)."""

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int:
        """Distinct occurrences (occurred times) of recorded signals with this name on this
        resource, occurred between two times (both included)."""


class Ledger(Retention, Occurrences, Protocol):
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

    def hold_action(
        self, incident_id: str, action: str, decision_ref: str, at: datetime, status: str = "held"
    ) -> HeldAction | None:
        """Take the incident's one action: None if this caller now holds it, else the holder
        ({action, status, decision_ref, at}). A conditional insert, so exactly one of many
        workers asking at once gets None. `decision_ref` says who holds it (a delivery key)."""

    def update_hold(self, incident_id: str, status: str) -> None:
        """The held action moved on (started, succeeded...); a no-op when nothing is held."""

    def release_action(self, incident_id: str) -> None:
        """Give the incident's action back (refused or failed), so a later signal may act."""

    def record_decision(self, signal_id: int | None, incident_id: str | None, decision: Decision, at: datetime) -> int: ...

    def record_rejection(self, input_name: str, where: str, problem: str, excerpt: str, at: datetime) -> int: ...

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[HistoryRow]:
        """Decisions joined with their signals, oldest first: the audit trail."""

    def signal(self, signal_id: int, resource_id: str | None = None) -> SignalRow | None:
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

    def operation(self, operation_id: int) -> Operation | None: ...

    def open_operations(self) -> list[Operation]:
        """Operations still verifying, recorded as intent, or running; oldest first."""

    def operations(self, incident_id: str | None = None) -> list[Operation]: ...

    def signal(self, signal_id: int, resource_id: str | None = None) -> SignalRow | None: ...


class SafetyStore(Protocol):
    """What the brakes and switches (pipeline/safety.py) keep: operations made, storm marks and
    breakers, the caps' slots, the pause switch, and repeat rules' occurrences."""

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int: ...

    def count_operations(self, resource: str, since: datetime | None = None, states: tuple[str, ...] = ...) -> int:
        """Operations in `states` created since a time, on one resource or under a prefix ending in "/"."""

    def last_operation(self, resource_key: str, states: tuple[str, ...] = ...) -> LastOperation | None: ...

    def mark_unhealthy(self, scope: str, resource_key: str, at: datetime) -> None: ...

    def unmark_unhealthy(self, scope: str, resource_key: str, since: datetime) -> None: ...

    def count_unhealthy(self, scope: str, since: datetime) -> int: ...

    def marked(self, scope: str, resource_key: str, since: datetime) -> bool:
        """The resource has a mark in this scope made since a time."""

    def storm(self, scope: str) -> Storm | None: ...

    def open_storm(self, scope: str, at: datetime, reason: str) -> bool:
        """True when this call tripped the breaker (the storm was not open yet)."""

    def close_storm(self, scope: str) -> bool: ...

    def claim_slot(self, scope: str, capacity: int, holder: str, at: datetime, ttl: timedelta) -> bool:
        """One of `capacity` slots of a scope for `holder`; a conditional write."""

    def release_slot(self, scope: str, holder: str) -> None: ...

    def set_switch(self, name: str, value: str, by: str, at: datetime) -> None: ...

    def switch(self, name: str) -> Switch | None: ...


class Switches(Protocol):
    """Named switches with who set them and when: the pause (pipeline/safety.py) and a person's
    hold on a scale set's repairs (sweep/holds.py)."""

    def set_switch(self, name: str, value: str, by: str, at: datetime) -> None: ...

    def switch(self, name: str) -> Switch | None:
        """The switch's row (value, set_by, set_at), or None for a switch never set."""


class ApprovalStore(Protocol):
    """Decisions that wait for a person (approvals/): each approval moves pending -> approved or
    rejected or expired, then approved -> consumed (carried out) once; every move is a conditional
    write, so of many workers (or clicks) one wins."""

    def add_approval(self, approval: NewApproval) -> Approval:
        """Record a pending approval; if one is already pending for its incident and action, that one."""

    def decide_approval(self, approval_id: str, state: str, by: str, at: datetime,
                        by_id: str | None = None, via: str | None = None) -> bool:
        """pending -> approved | rejected, only while pending and not yet expired: the claim. `by` the
        person's name, `by_id` their Entra object id, `via` link, page or command line."""

    def expire_approvals(self, at: datetime) -> Sequence[Approval]:
        """pending -> expired for every approval whose time is up; those it moved (each once)."""

    def consume_approval(self, approval_id: str, at: datetime) -> bool:
        """approved -> consumed: the one worker that gets True carries the action out."""

    def settle_approval(self, approval_id: str, status: str, reason: str, at: datetime) -> None: ...

    def approval(self, approval_id: str) -> Approval | None: ...

    def approvals(self, state: str | None = None) -> Sequence[Approval]: ...

    def approval_signal_id(self, incident_id: str, delivery_key: str) -> int | None:
        """The recorded signal a pending approval is asked for (the delivery's)."""


class WaveStore(Protocol):
    """Maintenance waves (waves/): one wave per scope at a time, one update domain of it claimed at
    once, each member claimed by one worker; ledger/sqlite/waves.py is the reference."""

    def live_wave(self, scope: str, new_id: str, at: datetime) -> Wave:
        """The scope's open or stopped wave, or a new open one with `new_id`."""

    def wave(self, wave_id: str) -> Wave | None: ...

    def waves(self, states: Iterable[str] | None = None) -> Sequence[Wave]: ...

    def waves_in_progress(self) -> Sequence[Wave]:
        """Open waves, and waves of any state with a member still starting, running or recovering."""

    def claim_group(self, wave_id: str, group: str, at: datetime, rested_since: datetime | None = None) -> bool:
        """Make `group` the wave's update domain in progress: only if none is, the wave is open,
        nothing of the scope is starting, running or recovering, and (given `rested_since`) no
        other update domain of the scope became Available again after it. A conditional write."""

    def resting_groups(self, scope: str, rested_since: datetime) -> dict[str, str]:
        """Update domains of a scope with a member Available again after `rested_since`: group -> latest time."""

    def release_group(self, wave_id: str, group: str, at: datetime, rest_until: datetime | None = None) -> bool: ...

    def stop_wave(self, wave_id: str, at: datetime, reason: str) -> bool: ...

    def close_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        """A stopped wave a person has looked at: the scope's next enrolment opens a new wave; False
        for a wave that is not stopped."""

    def finish_wave(self, wave_id: str, at: datetime) -> bool: ...

    def add_wave_member(self, member: NewWaveMember) -> bool:
        """Add a member to a wave that is still open; False when the resource is already in it or the
        wave is no longer open."""

    def wave_member(self, wave_id: str, resource_key: str) -> WaveMember | None: ...

    def wave_members(self, wave_id: str) -> Sequence[WaveMember]: ...

    def live_membership(self, resource_key: str) -> WaveMember | None: ...

    def update_wave_member(self, wave_id: str, resource_key: str, at: datetime, *, expect_state: str | None = None,
                           **changes: Any) -> bool:
        """With `expect_state`, a conditional write: False when another worker moved it first."""

    def claim_wave_member(self, wave_id: str, resource_key: str, at: datetime) -> bool:
        """pending -> starting, only while the wave is open with the member's update domain in progress."""

    def last_operation_of(self, incident_id: str, resource_key: str, action: str) -> WaveOperation | None: ...

    def operation(self, operation_id: int) -> Operation | None: ...


class SweepCursorStore(Protocol):
    """Where a sweep stands in its cycle, between timer runs (sweep/cursor.py)."""

    def sweep_cursor(self, name: str) -> SweepCursor | None:
        """The sweep's row (cycle, after, cycle_started), or None for a sweep never saved."""

    def save_sweep_cursor(self, name: str, cycle: int, after: str, cycle_started: datetime, at: datetime) -> None: ...


class AuditTrail(Protocol):
    """What the command line reads and then lets go of (`responder audit`, `whatif`, `waves`)."""

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[HistoryRow]: ...

    def recorded_signals(self, since: datetime | None = None, until: datetime | None = None) -> Sequence[SignalRow]:
        """The signals received in a period (both ends included), in the order they arrived:
        what `responder whatif` decides again."""

    def incident(self, incident_id: str) -> IncidentRow | None:
        """An incident's row (opened, closed, why), None for an unknown id."""

    def close(self) -> None:
        """Let go of files and clients; safe to call twice."""


class Store(Ledger, OperationStore, SafetyStore, Switches, ApprovalStore, WaveStore, SweepCursorStore, AuditTrail,
            Protocol):
    """One backend behind every port above (ledger/: SQLite or Table Storage), as the composition
    root (wiring/) opens it and hands it to the pipeline, the remediation, the safety and the
    rooms above them. Every backend has all of it (ledger/conformance.py), so nobody probes."""
