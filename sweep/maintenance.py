"""Planned maintenance read from an instance view's maintenanceRedeployStatus.

Azure announces a self-service window by state, not by event: the VM's (or scale-set VM's)
instance view carries the windows while maintenance is planned. One finding per machine, the
most telling one first: a result of the last customer-started maintenance, then the window
now open, then a window to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules import Signal

from .finding import finding, iso, text

KIND = "maintenance-status"
RESULTS = {  # lastOperationResultCode -> finding
    "maintenancecompleted": "MaintenanceCompleted",
    "retrylater": "MaintenanceRetryLater",
    "maintenanceaborted": "MaintenanceAborted",
}


@dataclass(frozen=True)
class Maintenance:
    allowed: bool  # isCustomerInitiatedMaintenanceAllowed
    window_start: datetime | None  # preMaintenanceWindowStartTime: the self-service window
    window_end: datetime | None
    azure_window_start: datetime | None  # maintenanceWindowStartTime: Azure's own window
    azure_window_end: datetime | None
    last_result: str | None  # None | RetryLater | MaintenanceAborted | MaintenanceCompleted
    last_message: str | None

    @classmethod
    def from_model(cls, status: Any) -> Maintenance | None:
        """From the SDK's MaintenanceRedeployStatus (absent when no maintenance is planned)."""
        if status is None:
            return None
        return cls(
            allowed=bool(status.is_customer_initiated_maintenance_allowed),
            window_start=status.pre_maintenance_window_start_time,
            window_end=status.pre_maintenance_window_end_time,
            azure_window_start=status.maintenance_window_start_time,
            azure_window_end=status.maintenance_window_end_time,
            last_result=text(status.last_operation_result_code) or None,
            last_message=text(status.last_operation_message) or None,
        )

    def status(self, now: datetime) -> str | None:
        """The finding's name, or None when there is nothing to say (maintenance not ours to start, nor under way)."""
        result = RESULTS.get(str(self.last_result or "").lower())
        if result:
            return result
        if self.allowed and _inside(now, self.window_start, self.window_end):
            return "SelfServiceWindowOpen"
        if _inside(now, self.azure_window_start, self.azure_window_end):
            return "PlatformWindowOpen"
        if self.allowed and self.window_start and now < self.window_start:
            return "SelfServiceWindowScheduled"
        return None


def _inside(now: datetime, start: datetime | None, end: datetime | None) -> bool:
    return bool(start and end and start <= now <= end)


SUMMARIES = {
    "SelfServiceWindowOpen": "Self-service maintenance window open until {window_end}",
    "SelfServiceWindowScheduled": "Self-service maintenance window opens at {window_start}",
    "PlatformWindowOpen": "Azure's maintenance window is open until {azure_window_end}",
    "MaintenanceCompleted": "Maintenance completed",
    "MaintenanceRetryLater": "Maintenance could not start; Azure asks to retry later",
    "MaintenanceAborted": "Maintenance was aborted: Azure marked the VM skipped and will send a new schedule",
}


def maintenance_signal(
    resource_id: str,
    resource_type: str,
    maintenance: Maintenance,
    now: datetime,
    *,
    update_domain: int | None = None,
    fault_domain: int | None = None,
    availability_set: str | None = None,
) -> Signal | None:
    name = maintenance.status(now)
    if name is None:
        return None
    details = {
        "update_domain": update_domain,
        "fault_domain": fault_domain,
        "availability_set": availability_set,
        "maintenance_allowed": maintenance.allowed,
        "window_start": iso(maintenance.window_start),
        "window_end": iso(maintenance.window_end),
        "azure_window_start": iso(maintenance.azure_window_start),
        "azure_window_end": iso(maintenance.azure_window_end),
        "last_result": maintenance.last_result,
        "last_message": maintenance.last_message,
    }
    # The window's start marks the occurrence: a new window is new maintenance, a new decision.
    if name == "PlatformWindowOpen":
        mark_at, occurred = maintenance.azure_window_start, maintenance.azure_window_start
    elif name == "SelfServiceWindowOpen":
        mark_at, occurred = maintenance.window_start, maintenance.window_start
    else:  # scheduled, or a result: Azure gives no time for these
        mark_at, occurred = maintenance.window_start or maintenance.azure_window_start, now
    return finding(
        KIND,
        name,
        resource_id,
        resource_type,
        mark=iso(mark_at) or "no-window",
        occurred=occurred or now,
        summary=SUMMARIES[name].format(**details),
        details=details,
        initiator="platform",
        resolved=name == "MaintenanceCompleted",
    )
