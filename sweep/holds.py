"""A person's suspension of a scale set's automatic repairs, remembered as a hold.

Azure's guidance alerts on the Succeeded `setOrchestrationServiceState` Administrative event,
whose `requestbody` is empty, and the sweep later sees the scale set Suspended either way: left
alone, a person's deliberate Suspend would be read as the platform's and resumed at once. So a
repair-state signal a person caused (or whose author cannot be told) holds the scale set, with
who and when, in the ledger's switches; the sweep reads the hold before it reports Suspended
(`RepairsHeld`, never resumed), and the hold ends when repairs run again: a resume alert, or the
sweep finding the service Running.

The ledger's switches are the store (one small row per held scale set, on both backends).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arm import resource_key
from rules.ports import Switches

PREFIX = "repairs-hold:"
HELD, RELEASED = "held", "released"

# Repair-state signals that start a hold: a person's Suspend, a person's change Azure did not
# describe, and a change whose author cannot be told (the app does not resume on a guess).
HOLDING = frozenset({"RepairsSuspendedByUser", "RepairsChangedByUser", "RepairsSuspendedByUnknown"})
NOT_DECIDED = frozenset({"duplicate", "rejected", "deferred"})


@dataclass(frozen=True)
class Hold:
    scale_set: str
    by: str  # the caller that suspended (a UPN or object id), or "an unknown caller"
    since: str  # ISO 8601: when it was suspended


class RepairHolds:
    """Read and keep holds; also a pipeline listener that records them from repair-state signals."""

    def __init__(self, ledger: Switches):
        self.ledger = ledger

    def held(self, scale_set_id: str) -> Hold | None:
        row = self.ledger.switch(PREFIX + resource_key(scale_set_id))
        if not row or row.get("value") != HELD:
            return None
        since = row.get("set_at")
        return Hold(scale_set_id, str(row.get("set_by") or "an unknown caller"), since.isoformat() if isinstance(since, datetime) else str(since or ""))

    def hold(self, scale_set_id: str, by: str, since: datetime) -> None:
        self.ledger.set_switch(PREFIX + resource_key(scale_set_id), HELD, by or "an unknown caller", since)

    def release(self, scale_set_id: str, by: str, at: datetime) -> None:
        if self.held(scale_set_id) is not None:
            self.ledger.set_switch(PREFIX + resource_key(scale_set_id), RELEASED, by or "unknown", at)

    def __call__(self, step: Any) -> None:
        """Listener: a person's Suspend (or an unattributable change) holds; a resume releases."""
        signal = step.signal
        if signal is None or signal.kind != "repair-state" or step.outcome.status in NOT_DECIDED:
            return
        caller = str(signal.details.get("caller") or "")
        if signal.name in HOLDING:
            self.hold(signal.resource_id, caller, signal.occurred)
            _log("repairs held", signal.resource_id, caller)
        elif signal.name == "RepairsResumed":
            self.release(signal.resource_id, caller or "the sweep (repairs running again)", signal.occurred)


def _log(message: str, scale_set: str, by: str) -> None:
    from telemetry.logs import log

    log(message, level=logging.INFO, scale_set=scale_set, by=by or "unknown")
