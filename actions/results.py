"""What executors hand back: a verdict, an operation to store, its status, a recovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

OperationState = Literal["InProgress", "Succeeded", "Failed", "Canceled"]
RecoveryState = Literal["done", "in-progress", "not-started"]

IN_PROGRESS: OperationState = "InProgress"
SUCCEEDED: OperationState = "Succeeded"
FAILED: OperationState = "Failed"
CANCELED: OperationState = "Canceled"
FINAL_STATES = (SUCCEEDED, FAILED, CANCELED)


@dataclass(frozen=True)
class Verdict:
    """Whether the condition an action answers still holds in the live state.

    `reason` is for a person ("already healthy", "the VM is deallocated", ...); `facts` are
    the values read (availability state, power state, window, counts) for the audit trail.
    """

    holds: bool
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.holds


@dataclass(frozen=True)
class Operation:
    """A started operation; `token` is an opaque string for the ledger, read back by poll()."""

    action: str
    resource_id: str
    token: str
    started_at: datetime


@dataclass(frozen=True)
class OperationStatus:
    """Where an operation stands.

    `operation` is set when a multi-step action moved on to its next step: the caller stores
    it in place of the one it polled (its token carries the new step). `wants_write` says the
    next step is a write of its own (a scale set's capacity restored after deleting instances):
    the caller passes the gate again and calls `executor.proceed` with the permit it gets.
    """

    state: OperationState
    message: str = ""
    operation: Operation | None = None
    wants_write: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Recovery:
    """What the live state says of an intent whose operation was never recorded.

    done: it happened, nothing to send; in-progress: it is under way, poll `operation` (which
    watches the live state, as the original token is lost); not-started: it is safe to verify
    and start again.
    """

    state: RecoveryState
    reason: str
    operation: Operation | None = None
    facts: dict[str, Any] = field(default_factory=dict)
