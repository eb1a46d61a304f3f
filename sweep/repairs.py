"""A scale set's automatic repairs, read from its model, its instance view and its instances.

Findings, in the order they are made:
- AllInstancesUnhealthy: every instance reports unhealthy. The health probe or the application
  is wrong, not the machines; it wins over RepairsSuspended and RepairsNotEnabled, because
  resuming or enabling repairs would only have the platform replace healthy machines and
  suspend again.
- RepairsSuspended: the AutomaticRepairs service is Suspended.
- RepairsNotEnabled: no policy, a disabled one, or an enabled one whose service is NotRunning.
- InstanceProvisioningFailed: instances in ProvisioningState failed (repairs skip them), on the
  scale set, with the failed instance ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rules import Signal

from .finding import SCALE_SET, day, finding, iso

KIND = "repair-state"


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

    def count_instance(self, instance_id: str, health: str | None, health_time: datetime | None,
                       failed: bool, failed_time: datetime | None) -> None:  # fmt: skip
        self.instances += 1
        if health == "unhealthy":
            self.unhealthy += 1
            if health_time and (self.latest_unhealthy is None or health_time > self.latest_unhealthy):
                self.latest_unhealthy = health_time
        if failed:
            self.failed_ids.append(instance_id)
            if failed_time and (self.latest_failure is None or failed_time > self.latest_failure):
                self.latest_failure = failed_time

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


def repair_signals(health: ScaleSetHealth, now: datetime) -> list[Signal]:
    found: list[Signal] = []
    state = (health.service_state or "").lower()
    service_mark = iso(health.service_changed) or "no-service"
    if health.all_unhealthy:
        # No time marks "all unhealthy" reliably (health times move with probes), so the day does:
        # one finding a day while it lasts.
        found.append(_signal(health, "AllInstancesUnhealthy", day(now), health.latest_unhealthy or now,
                             f"All {health.instances} instances report unhealthy; repairs would not help"))  # fmt: skip
    elif health.policy_enabled and state == "suspended":
        found.append(_signal(health, "RepairsSuspended", service_mark, health.service_changed or now,
                             f"Automatic repairs suspended; {health.unhealthy} of {health.instances} instances unhealthy"))  # fmt: skip
    elif not health.policy_enabled or state == "notrunning":
        why = "Automatic repairs policy enabled but its service is not running" if health.policy_enabled else "No automatic repairs policy enabled"
        found.append(_signal(health, "RepairsNotEnabled", service_mark, health.service_changed or now, why))
    if health.failed_ids:
        ids = sorted(health.failed_ids, key=lambda i: (len(i), i))
        found.append(
            _signal(health, "InstanceProvisioningFailed", ",".join(ids), health.latest_failure or now,
                    f"{len(ids)} instance(s) failed provisioning: {', '.join(ids)}", instance_ids=ids)  # fmt: skip
        )
    return found


def _signal(health: ScaleSetHealth, name: str, mark: str, occurred: datetime, summary: str, **extra) -> Signal:
    return finding(
        KIND, name, health.resource_id, SCALE_SET, mark=mark, occurred=occurred, summary=summary,
        details={**health.facts(), **extra},
    )  # fmt: skip
