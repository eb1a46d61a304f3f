"""A scale set's automatic repairs, read from its model, its instance view and its instances.

Findings, in the order they are made:
- AllInstancesUnhealthy: every instance reports unhealthy. The health probe or the application
  is wrong, not the machines; it wins over RepairsSuspended and RepairsNotEnabled, because
  resuming or enabling repairs would only have the platform replace healthy machines and
  suspend again.
- RepairsHeld: Suspended, and a person's suspension holds the scale set (sweep/holds.py): told,
  with who and when, never resumed.
- RepairsSuspended: the AutomaticRepairs service is Suspended.
- RepairsNotEnabled: no policy, or a disabled one.
- RepairsNotRunning: the policy is enabled but its service is NotRunning, or the instance view
  lists no AutomaticRepairs service: enabling it again is not the step, finding why it does not
  run is.
- RepairsResumed: Running again on a held scale set: a person resumed it; the hold ends.
- RepairsOverdue: repairs Running, yet instances unhealthy for longer than the grace period
  (Azure's "instance not getting repaired" symptom), with when each should have been repaired.
- InstanceProvisioningFailed: instances in ProvisioningState failed (repairs skip them), on the
  scale set, with the failed instance ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arm import SCALE_SET
from rules import RulesError, Signal
from rules.durations import parse_duration

from .finding import day, finding, iso

KIND = "repair-state"
DEFAULT_GRACE = timedelta(minutes=10)  # Azure's default gracePeriod


@dataclass
class ScaleSetHealth:
    """What the sweep learnt of one scale set; instance counts are filled while its instances are listed."""

    resource_id: str
    policy_enabled: bool  # automaticRepairsPolicy.enabled (absent: False)
    grace_period: str | None = None
    service_state: str | None = None  # AutomaticRepairs serviceState: Running | Suspended | NotRunning
    service_changed: datetime | None = None  # its lastStatusChangeTime
    instances: int = 0
    unhealthy: int = 0
    latest_unhealthy: datetime | None = None  # the last instance to turn unhealthy
    failed_ids: list[str] = field(default_factory=list)
    latest_failure: datetime | None = None
    unhealthy_since: dict[str, datetime] = field(default_factory=dict)  # instance id -> when it turned unhealthy
    # A Flexible set has no orchestration services to read: whether repairs run is not known.
    flexible: bool = False

    def count_instance(self, instance_id: str, health: str | None, health_time: datetime | None,
                       failed: bool, failed_time: datetime | None) -> None:  # fmt: skip
        self.instances += 1
        if health == "unhealthy":
            self.unhealthy += 1
            if health_time is not None:
                self.unhealthy_since[instance_id] = health_time
            if health_time and (self.latest_unhealthy is None or health_time > self.latest_unhealthy):
                self.latest_unhealthy = health_time
        if failed:
            self.failed_ids.append(instance_id)
            if failed_time and (self.latest_failure is None or failed_time > self.latest_failure):
                self.latest_failure = failed_time

    @property
    def grace(self) -> timedelta:
        try:
            return parse_duration(self.grace_period, "gracePeriod") if self.grace_period else DEFAULT_GRACE
        except RulesError:  # a period Azure would not accept: its default
            return DEFAULT_GRACE

    def overdue(self, now: datetime) -> dict[str, datetime]:
        """Unhealthy instances past the grace period: instance id -> when repairs were due."""
        due = {iid: since + self.grace for iid, since in self.unhealthy_since.items()}
        return {iid: at for iid, at in due.items() if at <= now}

    @property
    def all_unhealthy(self) -> bool:
        return self.instances > 0 and self.unhealthy == self.instances

    def facts(self) -> dict:
        return {
            "repairs_policy_enabled": self.policy_enabled,
            "grace_period": self.grace_period,
            "repairs_state": self.service_state,
            "repairs_state_changed": iso(self.service_changed),
            "instances": self.instances,
            "unhealthy": self.unhealthy,
        }


def repair_signals(health: ScaleSetHealth, now: datetime, hold=None) -> list[Signal]:
    """`hold`: the scale set's sweep.holds.Hold, when a person's suspension holds it."""
    found: list[Signal] = []
    state = (health.service_state or "").lower()
    service_mark = iso(health.service_changed) or "no-service"
    if health.all_unhealthy:
        # No time marks "all unhealthy" reliably (health times move with probes), so the day does:
        # one finding a day while it lasts.
        found.append(_signal(health, "AllInstancesUnhealthy", day(now), health.latest_unhealthy or now,
                             f"All {health.instances} instances report unhealthy; repairs would not help"))  # fmt: skip
    elif health.policy_enabled and state == "suspended" and hold is not None:
        found.append(_signal(health, "RepairsHeld", service_mark, health.service_changed or now,
                             f"Automatic repairs suspended by {hold.by} at {hold.since}; held: the app does not resume "
                             f"them until a person does", held_by=hold.by, held_since=hold.since))  # fmt: skip
    elif health.policy_enabled and state == "suspended":
        found.append(_signal(health, "RepairsSuspended", service_mark, health.service_changed or now,
                             f"Automatic repairs suspended; {health.unhealthy} of {health.instances} instances unhealthy"))  # fmt: skip
    elif not health.policy_enabled:
        found.append(_signal(health, "RepairsNotEnabled", service_mark, health.service_changed or now, "No automatic repairs policy enabled"))
    elif state != "running" and not health.flexible:
        why = ("its service is NotRunning" if state == "notrunning"
               else "the instance view lists no AutomaticRepairs service" if not state else f"its service is {health.service_state}")
        found.append(_signal(health, "RepairsNotRunning", service_mark, health.service_changed or now,
                             f"Automatic repairs policy enabled but {why}: nothing is being repaired"))  # fmt: skip
    elif hold is not None:
        found.append(_signal(health, "RepairsResumed", service_mark, health.service_changed or now,
                             f"Automatic repairs are running again; the hold by {hold.by} since {hold.since} is lifted",
                             resolved=True, held_by=hold.by, held_since=hold.since))  # fmt: skip
    if health.policy_enabled and state == "running" and not health.all_unhealthy:
        overdue = health.overdue(now)
        if overdue:
            ids = sorted(overdue, key=lambda i: (len(i), i))
            due = {iid: iso(overdue[iid]) for iid in ids}
            found.append(_signal(health, "RepairsOverdue", ",".join(ids), min(overdue.values()),
                                 f"{len(ids)} instance(s) still unhealthy past the {health.grace_period or 'PT10M'} grace period "
                                 f"while repairs run; should have been repaired at "
                                 + ", ".join(f"{iid}: {at}" for iid, at in due.items()),
                                 instance_ids=ids, repair_due=due))  # fmt: skip
    if health.failed_ids:
        ids = sorted(health.failed_ids, key=lambda i: (len(i), i))
        found.append(
            _signal(health, "InstanceProvisioningFailed", ",".join(ids), health.latest_failure or now,
                    f"{len(ids)} instance(s) failed provisioning: {', '.join(ids)}", instance_ids=ids)  # fmt: skip
        )
    return found


def _signal(health: ScaleSetHealth, name: str, mark: str, occurred: datetime, summary: str, resolved: bool = False, **extra) -> Signal:
    return finding(
        KIND, name, health.resource_id, SCALE_SET, mark=mark, occurred=occurred, summary=summary,
        details={**health.facts(), **extra}, resolved=resolved,
    )  # fmt: skip
