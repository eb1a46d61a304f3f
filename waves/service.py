"""Waves: the stateful service that enrols VMs in maintenance waves and advances them on every tick.

    waves = Waves(ledger, remediation, policy, clock)
    status, reason = waves.enroll(incident_id=..., signal_id=..., resource_id=..., mode="auto",
                                  params={}, facts=verified_facts)        # planned | skipped | duplicate
    for ended in waves.advance(): ...                                     # on every tick, after the operations moved

Every step is a conditional update in the ledger, so any number of workers may call advance()
at once: one of them claims an update domain for the wave, one of them claims each member
(pending -> starting) and starts it through `Remediation.act`, which applies the brakes and
verifies the live state again at that moment.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from arm import resource_key, short_name
from pipeline.gate import WAVE
from pipeline.ports import TickEnd
from rules import Policy
from rules.ports import WaveStore
from rules.records import Wave, WaveMember
from telemetry.logs import bound, log

from .errors import WaveNotFoundError, WavesError
from .planning import (
    DONE,
    FAILED,
    IN_FLIGHT,
    PENDING,
    RECOVERING,
    RUNNING,
    SKIPPED,
    STARTING,
    SelfServiceWindow,
    group_name,
    group_of,
    group_order,
    next_group,
    parse_time,
    plan_reason,
    refusal_passes,
    scope_of,
)
from .policy import MaintenancePolicy, parse_maintenance

if TYPE_CHECKING:  # types only: the remediation is handed in by the composition root (wiring/)
    from pipeline.remediation import Remediation

ACTION = "perform-maintenance"
LEASE = timedelta(minutes=10)  # a member `starting` for longer than this lost its worker


@dataclass(frozen=True)
class Ended:
    """A member's turn in a wave came to an end: started, skipped or failed, with the reason a
    person reads. The pipeline reports each as an outcome of the member's incident."""

    incident_id: str
    signal_id: int | None
    resource_id: str
    status: str  # started | skipped | failed
    reason: str
    wave_id: str
    action: str = ACTION
    mode: str = "auto"

    def as_tick_end(self) -> TickEnd:
        """The shape Pipeline.tick reports an ended operation in (state, message, ...)."""
        return TickEnd(incident_id=self.incident_id, signal_id=self.signal_id, resource_id=self.resource_id,
                       action=self.action, mode=self.mode, state=self.status, message=self.reason)


def _at(value: Any) -> datetime | None:
    return parse_time(value)


def _recorded_at(value: Any) -> datetime:
    """A time the ledger keeps on every row of its kind (an operation's created_at) or that was
    checked present (a member's available_at)."""
    return cast(datetime, parse_time(value))


class Waves:
    def __init__(self, ledger: WaveStore, remediation: Remediation, policy: Policy | MaintenancePolicy,
                 clock: Callable[[], datetime], lease: timedelta = LEASE):
        self.ledger = ledger  # every backend keeps waves (rules.ports.WaveStore; ledger/conformance.py)
        self.remediation = remediation
        # A rules.Policy (its `maintenance:` section is read here) or a MaintenancePolicy.
        self.policy = policy if isinstance(policy, MaintenancePolicy) else parse_maintenance(
            policy.sections.get("maintenance"))
        self.clock = clock
        self.lease = lease

    # -- enrolment ----------------------------------------------------------------------------

    def enroll(self, *, incident_id: str, signal_id: int | None, resource_id: str, mode: str,
               params: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[str, str]:
        """Queue a VM in its scope's wave. Returns (planned | skipped | duplicate, reason)."""
        now, key = self.clock(), resource_key(resource_id)
        existing = self.ledger.live_membership(key)
        if existing is not None:
            return "duplicate", self._already(existing)
        window = SelfServiceWindow.of(facts)
        excluded = self.policy.exclusion(facts)
        if excluded is None and window.end is None:
            excluded = "Azure gives no self-service window for it (maintenanceRedeployStatus has none)"
        elif excluded is None and window.end is not None and window.closed(now):
            excluded = f"its self-service window closed at {window.end.isoformat()}; Azure will do it in its own window"
        elif excluded is None:
            excluded = self._too_late(window, now, facts)
        group = group_of(facts.get("update_domain"))
        stored = {k: v for k, v in {**params, **self.policy.action_params}.items() if k != "now"}
        for _ in range(5):  # a wave can finish or stop between reading it and joining it
            wave = self.ledger.live_wave(scope_of(resource_id, facts), "WAVE-" + uuid.uuid4().hex[:10], now)
            if wave["state"] == "stopped":
                return "skipped", (f"wave {wave['id']} of this scope is stopped ({wave['reason']}); nothing more is "
                                   "started in this scope until a person closes that wave")
            joined = self.ledger.add_wave_member({
                "wave_id": wave["id"], "resource_key": key, "resource_id": resource_id, "incident_id": incident_id,
                "signal_id": signal_id, "mode": mode, "params": stored, "facts": dict(facts), "update_group": group,
                "window_start": window.start.isoformat() if window.start else None,
                "window_end": window.end.isoformat() if window.end else None,
                "state": SKIPPED if excluded else PENDING, "reason": excluded or "", "enrolled_at": now,
            })
            if joined:
                break
            existing = self.ledger.wave_member(wave["id"], key)
            if existing is not None:
                return "duplicate", self._already(existing)
        else:
            raise WavesError(f"could not join a wave for {resource_id}: its scope's wave kept changing")
        with bound(resource_id=resource_id, incident=incident_id):
            log("wave enrolment", wave=wave["id"], update_domain=group, state=SKIPPED if excluded else PENDING)
        if excluded:
            return "skipped", f"left to Azure: {excluded}"
        groups = {m["update_group"] for m in self.ledger.wave_members(wave["id"]) if m["state"] != SKIPPED}
        return "planned", plan_reason(wave["id"], group, groups, self.policy.window.describe(), self.policy.pause_text,
                                      window)

    def _too_late(self, window: SelfServiceWindow, now: datetime, facts: Mapping[str, Any]) -> str | None:
        """Why the owner's maintenance window cannot start it before its deadline (the end of the
        self-service window, after which Azure does it itself), or None. Said at enrolment, so a
        person can still start it by hand in time, instead of learning when the window closed."""
        end = cast(datetime, window.end)  # asked only of a window that has an end (enroll)
        earliest = max(now, window.start) if window.start else now
        opening = self.policy.window.next_opening(earliest)
        if opening is not None and opening <= end:
            return None
        when = f"next opens {opening.isoformat()}" if opening is not None else "never opens"
        azure = facts.get("azure_window_start")
        then = f" from {azure}" if azure else ""
        return (f"cannot happen before its deadline: its self-service window closes at {end.isoformat()} and "
                f"the owner's maintenance window ({self.policy.window.describe()}) {when}. A person decides: start "
                f"maintenance by hand before {end.isoformat()}, or let Azure do it in its own window{then}")

    def _already(self, member: WaveMember) -> str:
        return (f"already in wave {member['wave_id']} ({group_name(member['update_group'])}, {member['state']}); "
                "enrolling it again changes nothing")

    # -- advancing ----------------------------------------------------------------------------

    def advance(self) -> list[Ended]:
        """One pass over every open wave; returns the members whose turn ended in it."""
        ended: list[Ended] = []
        for wave in self.ledger.waves_in_progress():
            with bound(wave=wave["id"]):
                ended += self._advance(wave["id"])
        return ended

    def _advance(self, wave_id: str) -> list[Ended]:
        now, ended = self.clock(), []
        for member in self.ledger.wave_members(wave_id):
            if member["state"] == STARTING:
                self._reclaim(member, now)
            elif member["state"] == RUNNING:
                ended += self._follow(member, now)
            elif member["state"] == RECOVERING:
                self._check_available(member, now)
        wave = self.ledger.wave(wave_id)
        if wave is None or wave["state"] != "open":  # None: purged meanwhile
            return ended
        for member in self.ledger.wave_members(wave_id):
            if member["state"] == PENDING and self._window(member).closed(now):
                if self.ledger.update_wave_member(wave_id, member["resource_key"], now, expect_state=PENDING,
                                                  state=SKIPPED, reason="window closed"):
                    ended.append(self._ended(member, "skipped", "self-service window closed before its turn in wave "
                                             f"{wave_id}; Azure will do it in its own window"))
        wave = self._release_if_over(wave, now)
        ended += self._take_turn(wave, now)
        self.ledger.finish_wave(wave_id, now)
        return ended

    def _window(self, member: WaveMember) -> SelfServiceWindow:
        return SelfServiceWindow(_at(member["window_start"]), _at(member["window_end"]))

    def _release_if_over(self, wave: Wave, now: datetime) -> Wave:
        group = wave["active_group"]
        if group is None:
            return wave
        members = [m for m in self.ledger.wave_members(wave["id"]) if m["update_group"] == group]
        if any(m["state"] in IN_FLIGHT for m in members):
            return wave
        maintained = [_recorded_at(m["available_at"]) for m in members if m["state"] == DONE and m["available_at"]]
        rest_until = max(maintained) + self.policy.pause_between_update_domains if maintained else None
        if self.ledger.release_group(wave["id"], group, now, rest_until):
            log("wave update domain finished", wave=wave["id"], update_domain=group)
        return self.ledger.wave(wave["id"]) or wave

    def _take_turn(self, wave: Wave, now: datetime) -> list[Ended]:
        """Start what may start now: only inside the maintenance window, unpaused, one update
        domain at a time in the scope, and another only after the pause."""
        if wave["state"] != "open" or not self.policy.window.contains(now) or self._paused():
            return []
        startable = [m for m in self.ledger.wave_members(wave["id"])
                     if m["state"] == PENDING and self._window(m).open(now)]
        group = wave["active_group"]
        if group is None:
            rested_since = now - self.policy.pause_between_update_domains
            resting = set(self.ledger.resting_groups(wave["scope"], rested_since))
            if resting:
                # Resting after an update domain: only that same update domain (members held by
                # a brake, or enrolled late) may go on; another waits for the pause to pass.
                startable = [m for m in startable if {m["update_group"]} == resting]
            group = next_group(m["update_group"] for m in startable)
            if group is None:
                return []
            if not self.ledger.claim_group(wave["id"], group, now, rested_since):
                current = self.ledger.wave(wave["id"])
                group = current["active_group"] if current is not None else None
                if group is None:
                    return []
            else:
                log("wave update domain started", wave=wave["id"], update_domain=group)
        ended: list[Ended] = []
        for member in sorted(startable, key=lambda m: (group_order(m["update_group"]), m["resource_key"])):
            if member["update_group"] == group:
                ended += self._start(wave["id"], member, now)
        return ended

    def _start(self, wave_id: str, member: WaveMember, now: datetime) -> list[Ended]:
        key = member["resource_key"]
        if not self.ledger.claim_wave_member(wave_id, key, now):
            return []  # another worker has it, or its update domain is no longer the one in progress
        before = self.ledger.last_operation_of(member["incident_id"], key, ACTION)
        with bound(resource_id=member["resource_id"], incident=member["incident_id"]):
            try:
                # The wave's turn is a road to a write of its own: it passes the gate (pause,
                # scope, ownership, mode, brakes, the live state) now, not when it was enrolled.
                status, reason, _facts = self.remediation.act(
                    incident_id=member["incident_id"], signal_id=member["signal_id"], action=ACTION,
                    resource_id=member["resource_id"], mode=member["mode"], params=member["params"], road=WAVE,
                    approved_by="approved before it joined the wave" if member["mode"] == "approve" else None)
            except Exception as exc:  # noqa: BLE001 - left `starting`: the lease decides after reading the ledger
                log("wave start failed", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}")
                return []
        where = f"wave {wave_id}, {group_name(member['update_group'])}"
        if status == "started":
            operation = self.ledger.last_operation_of(member["incident_id"], key, ACTION)
            fresh = operation if operation and (before is None or operation["id"] != before["id"]) else None
            self.ledger.update_wave_member(wave_id, key, now, expect_state=STARTING, state=RUNNING, reason=reason,
                                           operation_id=fresh["id"] if fresh else None, started_at=now)
            return [self._ended(member, "started", f"{where}: {reason}")]
        if status == "skipped" and refusal_passes(reason):
            self.ledger.update_wave_member(wave_id, key, now, expect_state=STARTING, state=PENDING,
                                           reason=f"held: {reason}", claimed_at=None)
            log("wave member held", reason=reason)
            return []
        if status == "skipped":
            self.ledger.update_wave_member(wave_id, key, now, expect_state=STARTING, state=SKIPPED, reason=reason)
            return [self._ended(member, "skipped", f"{where}: not started: {reason}")]
        self.ledger.update_wave_member(wave_id, key, now, expect_state=STARTING, state=FAILED, reason=reason)
        return self._stop(wave_id, member, reason, now)

    def _reclaim(self, member: WaveMember, now: datetime) -> None:
        """A member left `starting` by a worker that died: adopt the operation it recorded, or
        queue it again when none was recorded (the intent comes before the write: nothing was sent)."""
        claimed = _at(member["claimed_at"])
        if claimed is None or now - claimed < self.lease:
            return
        key = member["resource_key"]
        operation = self.ledger.last_operation_of(member["incident_id"], key, ACTION)
        if operation is not None and _recorded_at(operation["created_at"]) >= claimed:
            self.ledger.update_wave_member(member["wave_id"], key, now, expect_state=STARTING, state=RUNNING,
                                           operation_id=operation["id"], started_at=_at(operation["created_at"]),
                                           reason="started by a worker that stopped before recording it")
        else:
            self.ledger.update_wave_member(member["wave_id"], key, now, expect_state=STARTING, state=PENDING,
                                           claimed_at=None, reason="queued again: its worker stopped before starting it")

    def _follow(self, member: WaveMember, now: datetime) -> list[Ended]:
        """A started member's operation, as the remediation tick left it in the ledger."""
        key, wave_id = member["resource_key"], member["wave_id"]
        operation = (self.ledger.operation(member["operation_id"]) if member["operation_id"]
                     else self.ledger.last_operation_of(member["incident_id"], key, ACTION))
        if operation is None:
            return []
        state = operation["state"]
        if state == "succeeded":
            if self.ledger.update_wave_member(wave_id, key, now, expect_state=RUNNING, state=RECOVERING,
                                              reason=operation["message"] or "maintenance completed"):
                self._check_available({**member, "state": RECOVERING}, now)
            return []
        if state == "skipped":  # the tick found nothing left to do: nothing was changed on the machine
            self.ledger.update_wave_member(wave_id, key, now, expect_state=RUNNING, state=SKIPPED,
                                           reason=operation["message"])
            return []
        if state in ("failed", "canceled"):
            if self.ledger.update_wave_member(wave_id, key, now, expect_state=RUNNING, state=FAILED,
                                              reason=operation["message"]):
                return self._stop(wave_id, member, operation["message"], now)
        return []

    def _check_available(self, member: WaveMember, now: datetime) -> None:
        """Resource Health's current status: the next update domain waits for Available."""
        from actions import ActionError
        from actions.live_state import read_availability
        from actions.targets import target

        try:
            ref = target(member["resource_id"])
            health = read_availability(self.remediation.connect(ref.subscription), ref)
        except ActionError as exc:
            log("wave availability unread", resource_id=member["resource_id"], error=str(exc))
            return
        if health.state.lower() == "available":
            self.ledger.update_wave_member(member["wave_id"], member["resource_key"], now, expect_state=RECOVERING,
                                           state=DONE, available_at=now, reason="maintained; Available again")

    def _stop(self, wave_id: str, failed: WaveMember, why: str, now: datetime) -> list[Ended]:
        """A failure stops the wave: nothing more is started in it, and a person is told what next."""
        name = short_name(failed["resource_id"])
        left = [m for m in self.ledger.wave_members(wave_id) if m["state"] == PENDING]
        not_started = (", ".join(f"{short_name(m['resource_id'])} ({group_name(m['update_group'])})" for m in left)
                       or "nothing else")
        reason = (f"maintenance of {name} failed ({why}); wave {wave_id} stopped, not started: {not_started}. "
                  f"Azure marks {name} skipped and sends it a new maintenance schedule (MaintenanceAborted: it is "
                  "not retried in this window). Next step: "
                  f"find why it failed (the operation's error above, the VM's activity log), then close wave "
                  f"{wave_id} so that new maintenance in this scope can be planned; the VMs not started are "
                  "maintained by Azure in its own window")
        self.ledger.stop_wave(wave_id, now, f"maintenance of {name} failed")
        log("wave stopped", level=logging.WARNING, wave=wave_id, resource_id=failed["resource_id"], reason=why)
        ended = [self._ended(failed, "failed", reason)]
        for member in left:
            if self.ledger.update_wave_member(wave_id, member["resource_key"], now, expect_state=PENDING,
                                              state=SKIPPED, reason=f"wave stopped after {name} failed"):
                ended.append(self._ended(member, "skipped", f"wave {wave_id} stopped after maintenance of {name} "
                                         "failed; not started: Azure will do it in its own window"))
        return ended

    def _paused(self) -> bool:
        return bool(self.remediation.safety.paused())

    @staticmethod
    def _ended(member: WaveMember, status: str, reason: str) -> Ended:
        return Ended(incident_id=member["incident_id"], signal_id=member["signal_id"],
                     resource_id=member["resource_id"], status=status, reason=reason, wave_id=member["wave_id"],
                     mode=member["mode"])

    # -- for a person -------------------------------------------------------------------------

    def close(self, wave_id: str, by: str) -> None:
        """A person looked at a stopped wave: the scope's next enrolment opens a new one."""
        from .admin import close_wave

        close_wave(self.ledger, wave_id, by, self.clock())

    def describe(self, wave_id: str) -> str:
        """The wave as a person reads it: its state, the update domain in progress, each member."""
        wave = self.ledger.wave(wave_id)
        if wave is None:
            raise WaveNotFoundError(f"no wave {wave_id}")
        lines = [f"{wave['id']}  scope {wave['scope']}  {wave['state']}"
                 + (f" ({wave['reason']})" if wave["reason"] else "")]
        if wave["active_group"] is not None and wave["state"] == "open":
            lines.append(f"  in progress: {group_name(wave['active_group'])} since {(wave['activated_at'] or '')[:16]}Z")
        rested_since = self.clock() - self.policy.pause_between_update_domains
        for group, at in sorted(self.ledger.resting_groups(wave["scope"], rested_since).items()):
            until = (_recorded_at(at) + self.policy.pause_between_update_domains).isoformat()[:16]
            lines.append(f"  {group_name(group)} finished at {at[:16]}Z: another update domain not before {until}Z")
        for member in sorted(self.ledger.wave_members(wave_id), key=lambda m: (group_order(m["update_group"]),
                                                                                 m["resource_key"])):
            lines.append(f"  {group_name(member['update_group']):<22} {short_name(member['resource_id']):<24} "
                         f"{member['state']:<10} {member['reason']}".rstrip())
        return "\n".join(lines)
