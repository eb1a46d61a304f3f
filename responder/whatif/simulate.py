"""Re-deciding a ledger's history: each recorded signal, in the order it arrived, through the pure
engine under a policy, the real brakes (pipeline/safety.py) and the real gate (pipeline/gate.py),
on a history kept in memory (a fresh SQLite ledger) that grows as the simulated decisions would
have made it: storm marks, operations (cooldowns, attempt caps), slots (in-flight and hourly caps),
the one action held per incident.

The clock is each signal's recorded arrival. The live state is the one recorded with the signal's
decision (responder/whatif/recorded.py); scope and the pause switch are as the recorded decision
met them. What happened later than a signal is not replayed: approvals count as pending, and an
operation's slot in flight is freed when the recorded operation of the same incident and action
ended (one that never ran holds it for the slot's time to live).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pipeline.core import HOLDING_STATUSES, Recent
from pipeline.gate import Gate, platform_owner_of, request_for
from pipeline.remediation import NOT_ACTING
from pipeline.safety import Safety
from pipeline.settings import Settings
from rules import Decision, Engine
from rules.ports import IncidentRef
from rules.signals import signal_from_record

from .recorded import NotRecorded, RecordedNotActing, RecordedReadFailure, RecordedReads, RecordedRegistry

UNKNOWN = "unknown"  # the status of a decision the recorded live state cannot settle
# How a recorded start ended, as the operation it leaves.
OPERATION_STATE = {"started": "running", "failed": "failed", "skipped": "skipped"}
FINAL_STATES = ("succeeded", "failed", "skipped")


@dataclass(frozen=True)
class Replayed:
    """One signal re-decided: the decision, and what it did to the simulated history."""

    signal_id: int
    resource_id: str
    received: datetime
    decision: Decision
    incident_id: str
    opened: bool = False  # the first signal of its incident
    storm_tripped: str | None = None  # the storm scope this decision's brakes opened
    writes: int = 0  # ARM writes it made (a start)
    facts: Mapping[str, Any] = field(default_factory=dict)


def brake_names(brakes: Any) -> tuple[str, ...]:
    """The brakes' names without their sentences ("cooldown", "storm breaker", "scope", ...)."""
    return tuple(str(brake).split(":", 1)[0].strip() for brake in brakes or ())


class ReplayedSafety(Safety):
    """The brakes as they run, with scope and the pause switch as the recorded decision met them
    (neither is policy: both are settings and a person's switch at the time)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded_brakes: tuple[str, ...] = ()

    def _recorded(self, name: str) -> str | None:
        for brake in self.recorded_brakes:
            if brake.startswith(name + ":"):
                return brake.split(":", 1)[1].strip()
        return None

    def out_of_scope(self, resource_id: Any) -> str | None:
        return self._recorded("scope")

    def paused(self) -> str | None:
        return self._recorded("pause")


class Simulation:
    """A history re-decided under `engine`'s policy. `ended`: the recorded operations' ends, by
    (incident, action), when each freed its slots."""

    def __init__(self, engine: Engine, mode: str | None = None,
                 ended: Mapping[tuple[str, str], tuple[datetime, str]] | None = None, waves: bool = False) -> None:
        from ledger import SqliteLedger

        self.engine = engine
        self.ledger = SqliteLedger(":memory:")
        self.now = datetime.min
        self.safety = ReplayedSafety(Settings(mode=mode), engine.policy, self.ledger, lambda: self.now)
        self.reads = RecordedReads()
        self.gate = Gate(self.safety, RecordedRegistry(self.reads), self.reads, lambda: self.now,  # type: ignore[arg-type]
                         owner_of=platform_owner_of(engine.policy), ceiling=mode,
                         temp_disk_tags=engine.policy.temp_disk_tags)
        self.ended = dict(ended or {})
        self.waves = waves  # the recorded run enrolled maintenance in waves
        self._releases: list[tuple[datetime, int, str, str, str | None, str]] = []
        self._incidents: set[str] = set()

    def close(self) -> None:
        self.ledger.close()

    def replay(self, row: Mapping[str, Any], recorded: Mapping[str, Any] | None) -> Replayed:
        """One recorded signal (a ledger's signal row) and the decision recorded for it."""
        signal = signal_from_record(row)
        now = datetime.fromisoformat(str(row["received"]))
        self.now = now
        self._free_slots(now)
        reading = _reading(recorded)
        self.safety.recorded_brakes = tuple(json.loads(recorded["brakes"] or "[]")) if recorded else ()
        self.reads.reading = reading
        self.gate.approvals_configured = bool(reading.get("approvals_configured", True))
        incident_id = row.get("incident_id") or f"signal-{row['id']}"
        opened = incident_id not in self._incidents
        self._incidents.add(incident_id)
        incident = IncidentRef(incident_id, signal.incident_key, signal.resource_id, now, opened)
        classification = self.engine.classify(signal)
        signal_id = self.ledger.record_signal(signal, incident.id, now)
        decision = self.engine.decide(signal, classification, Recent(self.ledger, now))
        self.safety.observe(signal, classification)
        done = Replayed(int(row["id"]), signal.resource_id, now, decision, incident_id, opened)
        if not signal.resolved:
            refused = self.gate.admit(request_for(signal, decision, incident.id, signal_id, now, classification.category))
            if refused is not None:
                decision = decision.but(status="skipped", reason=refused.reason, brakes=refused.brakes)
        if signal.resolved or decision.action == "none" or decision.status == "skipped":
            return replace(done, decision=decision)
        held = self.ledger.hold_action(incident.id, decision.action, signal.delivery_key, now, status=decision.status)
        if held is not None:
            same = held["action"] == decision.action
            return replace(done, decision=decision.but(
                status="duplicate" if same else "skipped",
                reason=f"incident {incident.id} already has {held['action']} {held['status']}; one action per incident"))
        if reading.get("azure") is False:  # recorded without Azure: nothing was read or started then either
            self._move_hold(incident.id, decision)
            return replace(done, decision=decision)
        done = self._carry_out(done, signal, decision, incident, signal_id, classification.category, reading)
        self._move_hold(incident.id, done.decision)
        return done

    def _carry_out(self, done: Replayed, signal: Any, decision: Decision, incident: IncidentRef, signal_id: int,
                   category: str, recorded: Mapping[str, Any]) -> Replayed:
        """pipeline/remediation.Remediation.carry_out, with the recorded live state and no write."""
        request = request_for(signal, decision, incident.id, signal_id, self.now, category)
        waves = self.waves and decision.action == "perform-maintenance"
        try:
            clearance = self.gate.clear(request, self.reads.clients(), issue=not waves)
        except (RecordedNotActing, *NOT_ACTING) as exc:
            reason = str(exc) if isinstance(exc, RecordedNotActing) else f"not acting: {exc}"
            return replace(done, decision=decision.but(status="skipped", reason=reason))
        except RecordedReadFailure as exc:
            return replace(done, decision=decision.but(reason=f"{decision.reason} (the live state could not be read: {exc})"))
        except NotRecorded as exc:
            return replace(done, decision=decision.but(status=UNKNOWN, reason=f"not replayable: {exc}"))
        self.gate.unused(clearance)
        tripped = clearance.reading.get("brakes", {}).get("storm_tripped") and clearance.reading["brakes"].get("storm", {}).get("scope")
        decision = decision.but(mode=clearance.mode, brakes=clearance.brakes, facts={**decision.facts, **clearance.facts},
                                reading=clearance.reading)
        done = replace(done, storm_tripped=tripped or None, facts=dict(clearance.facts))
        if clearance.status == "skipped":
            return replace(done, decision=decision.but(status="skipped", reason=clearance.reason))
        if clearance.status in ("planned", "awaiting-approval"):
            return replace(done, decision=decision.but(status=clearance.status, reason=clearance.reason))
        same = recorded.get("action") == decision.action
        if waves:
            status = str(recorded.get("wave") or "planned") if same else "planned"
            return replace(done, decision=decision.but(status=status, reason=f"{clearance.reason}; joins a maintenance wave"))
        status = str(recorded.get("start") or "started") if same else "started"
        state = OPERATION_STATE.get(status, "running")
        operation = self.ledger.record_intent(incident.id, signal_id, decision.action, signal.resource_id, clearance.mode,
                                              {}, dict(clearance.facts), self.now, state=state)
        holder = f"{incident.id}:{decision.action}"
        scale_set = clearance.facts.get("scale_set_id")
        if state in FINAL_STATES:  # ended at its start: its slots are free at once, as the remediation frees them
            self.safety.release(signal.resource_id, holder, scale_set)
        else:
            end = self.ended.get((incident.id, decision.action))
            if end is not None:
                self._releases.append((end[0], operation, signal.resource_id, holder, scale_set, end[1]))
        return replace(done, decision=decision.but(status=status, reason=clearance.reason), writes=1)

    def _free_slots(self, now: datetime) -> None:
        """The operations whose recorded counterpart ended by now free their slots, as the tick did."""
        due = [item for item in self._releases if item[0] <= now]
        self._releases = [item for item in self._releases if item[0] > now]
        for at, operation, resource_id, holder, scale_set, state in due:
            self.ledger.update_operation(operation, at, state=state)
            self.safety.release(resource_id, holder, scale_set)

    def _move_hold(self, incident_id: str, decision: Decision) -> None:
        if decision.status in HOLDING_STATUSES:
            self.ledger.update_hold(incident_id, decision.status)
        else:
            self.ledger.release_action(incident_id)


def _reading(recorded: Mapping[str, Any] | None) -> dict[str, Any]:
    if not recorded:
        return {}
    value = recorded.get("reading") or "{}"
    found = json.loads(value) if isinstance(value, str) else dict(value)
    return found if isinstance(found, dict) else {}
