"""The records that cross the ledger's ports (rules/ports.py): what a store answers and what it
is given, one TypedDict per kind of row.

A record is the row as both backends (ledger/sqlite/, ledger/table/) hand it back: the same keys
and the same value types whichever store holds it, so a room indexes a row by key and the type
checker knows the key and its value. Times read from the store are ISO-8601 text as stored (each
backend's own stamp), except where a record says `datetime`; JSON a row keeps for a person or for
what-if (a signal's facts, a decision's brakes and reading) stays text, while params and facts an
action is carried out with are read back as dicts. A field is optional (`NotRequired`) only where
a caller may leave it out of what it gives; every record a store answers has all of its keys
(tests/ledger/test_records.py holds both backends to them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NotRequired, TypedDict


class SignalRow(TypedDict):
    """A recorded signal (Ledger.signal, AuditTrail.recorded_signals)."""

    id: int
    delivery_key: str
    incident_id: str | None
    source: str
    event_id: str
    kind: str
    name: str
    resource_key: str
    resource_id: str
    occurred: str
    received: str
    input: str
    summary: str
    facts: str  # JSON (rules.signals.recorded_facts); "{}" for a signal recorded before facts were kept


class HeldAction(TypedDict):
    """Who holds an incident's one action (Ledger.hold_action's answer when the caller does not)."""

    action: str
    status: str
    decision_ref: str
    at: str


class HistoryRow(TypedDict):
    """A decision joined with its signal: one line of the audit trail (Ledger.history). The
    signal's fields are None for a decision made without a recorded signal."""

    id: int
    signal_id: int | None
    incident_id: str | None
    at: str
    rule: str
    action: str
    mode: str
    status: str
    reason: str
    brakes: str  # JSON list of sentences
    reading: str  # JSON (rules.engine.recorded_reading); "{}" for a decision recorded before readings were kept
    kind: str | None
    name: str | None
    resource_id: str | None
    event_id: str | None
    source: str | None
    input: str | None
    occurred: str | None


class IncidentRow(TypedDict):
    """An incident (AuditTrail.incident)."""

    id: str
    key: str
    resource_id: str
    opened_at: str
    last_signal_at: str
    closed_at: str | None
    close_reason: str | None


class Intent(TypedDict):
    """What a remediation is about, as an operation and an approval both keep it (the intent
    columns the SQLite backend shares between them, ledger/sqlite/operations.py INTENT_COLUMNS)."""

    incident_id: str
    signal_id: int | None
    action: str
    resource_id: str
    mode: str
    params: dict[str, Any]
    facts: dict[str, Any]


class Operation(Intent):
    """A remediation operation (OperationStore): the intent written before the ARM call, completed after it."""

    id: int
    state: str
    token: str | None
    message: str
    attempts: int
    created_at: str
    updated_at: str
    finished_at: str | None


class LastOperation(TypedDict):
    """The newest operation made on a resource (SafetyStore.last_operation): the cooldown's read."""

    action: str
    state: str
    created_at: str


class WaveOperation(TypedDict):
    """The newest operation of an action on a resource in an incident (WaveStore.last_operation_of)."""

    id: int
    state: str
    message: str
    created_at: str
    finished_at: str | None


class Storm(TypedDict):
    """An open storm breaker of a scope (SafetyStore.storm)."""

    scope: str
    tripped_at: str
    last_over_at: str
    reason: str


class Switch(TypedDict):
    """A named switch and who set it (Switches.switch)."""

    name: str
    value: str
    set_by: str
    set_at: str


class NewApproval(Intent):
    """What ApprovalStore.add_approval is given: a pending approval."""

    id: str
    reason: str
    created_at: datetime
    expires_at: datetime
    approvers: NotRequired[list[str]]  # the rule's own approvers, if it names any


class Approval(Intent):
    """An approval as the store keeps it (ApprovalStore): pending, then decided, then settled."""

    id: str
    reason: str
    created_at: str
    expires_at: str
    state: str
    decided_by: str | None
    decided_at: str | None
    decided_by_id: str | None
    decided_via: str | None
    approvers: list[str]
    outcome_status: str | None
    outcome_reason: str | None
    settled_at: str | None


class Wave(TypedDict):
    """A maintenance wave of a scope (WaveStore)."""

    id: str
    scope: str
    state: str
    created_at: str
    updated_at: str
    active_group: str | None
    activated_at: str | None
    rest_until: str | None
    reason: str


class MemberFields(TypedDict):
    """What a wave member is, as given to the store and as kept by it."""

    wave_id: str
    resource_key: str
    resource_id: str
    incident_id: str
    signal_id: int | None
    mode: str
    params: dict[str, Any]
    facts: dict[str, Any]
    update_group: str
    window_start: str | None
    window_end: str | None
    state: str
    reason: str


class NewWaveMember(MemberFields):
    """What WaveStore.add_wave_member is given: a resource joining a wave."""

    enrolled_at: datetime


class WaveMember(MemberFields):
    """A member of a wave as the store keeps it (WaveStore)."""

    operation_id: int | None
    enrolled_at: str
    claimed_at: str | None
    started_at: str | None
    available_at: str | None
    updated_at: str


class SweepCursor(TypedDict):
    """Where a sweep stands in its cycle (SweepCursorStore.sweep_cursor)."""

    name: str
    cycle: int
    after: str
    cycle_started: datetime
    updated_at: datetime


# What a purge may remove (Retention.purge answers how many of each, every kind named, 0 included).
# Read by iterating, never by key, so a mapping rather than a TypedDict: its keys are sentences.
PURGED_KINDS = ("decisions", "signals", "rejections", "deliveries", "unhealthy marks", "operations", "action holds",
                "incidents")
PurgeCounts = Mapping[str, int]

