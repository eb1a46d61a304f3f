"""The network datapath issue after a live migration, found by what the VM's users see.

After a live migration a VM can lose connectivity from outside its virtual network while Resource
Health still shows it Available, and Azure publishes no annotation for it. What shows it is the
VM's own application health: the Application Health extension's `HealthState` (`vmHealth` in the
instance view) turning unhealthy soon after a `LiveMigrationSucceeded`. The sweep reads that
health from the VM list it already makes and, only for a VM reported unhealthy, asks the ledger
whether a live migration was recorded on it within the window: one small query per unhealthy VM.

The finding (`availability` `UnhealthyAfterLiveMigration`) is redeployed by the default policy,
verified by the same health signal (`verify_by: application-health`), not by Resource Health.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arm import VM, resource_key
from rules import Signal
from rules.ports import Occurrences

from .finding import finding, iso

KIND = "availability"
NAME = "UnhealthyAfterLiveMigration"
LIVE_MIGRATED = "LiveMigrationSucceeded"
WINDOW = timedelta(hours=1)  # how soon after the live migration the application must turn unhealthy


class Datapath:
    """`check(vm_id, health, since, now)`: the finding, or None. `ledger` counts the live migrations."""

    def __init__(self, ledger: Occurrences, window: timedelta = WINDOW):
        self.ledger = ledger
        self.window = window

    def check(self, vm_id: str, health: str | None, since: datetime | None, now: datetime) -> Signal | None:
        if health != "unhealthy" or since is None:
            return None
        # A live migration in the window before the application turned unhealthy.
        if self.ledger.count_occurrences(resource_key(vm_id), LIVE_MIGRATED, since - self.window, since) < 1:
            return None
        return finding(
            KIND, NAME, vm_id, VM, mark=iso(since) or "", occurred=since,
            summary=(f"Application health Unhealthy since {iso(since)}, within {int(self.window.total_seconds() // 60)} "
                     "minutes of a live migration: the network datapath issue (Resource Health may still show it Available)"),
            initiator="platform",
            details={"application_health": health, "unhealthy_since": iso(since), "window_minutes": int(self.window.total_seconds() // 60)},
        )
