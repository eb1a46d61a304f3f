"""A VM's auto-shutdown schedule: the portal's "Auto-shutdown" and DevTest Labs both keep it as
`Microsoft.DevTestLab/schedules/shutdown-computevm-<vm>` in the VM's resource group, a daily
`ComputeVmShutdownTask`. A VM shut down every night is not one to start maintenance on by hand
(it may be off when its turn comes, and Azure maintains it in its own window anyway), so
perform-maintenance reads it before enrolling the VM.

No SDK in the app's requirements covers DevTest Labs; the schedule is read with the compute
client's own pipeline (`send_request`: the same credential, retries and TLS settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arm import ResourceId

from .lro import azure_errors

API_VERSION = "2018-09-15"
READ_SCHEDULES = "Microsoft.DevTestLab/schedules/read"


@dataclass(frozen=True)
class AutoShutdown:
    name: str
    time: str  # "19:00"
    time_zone: str

    def describe(self) -> str:
        return f"every day at {self.time} ({self.time_zone}) by its auto-shutdown schedule {self.name}"


def read_auto_shutdown(clients: Any, ref: ResourceId) -> AutoShutdown | None:
    """The VM's enabled auto-shutdown schedule, or None (none, or disabled)."""
    from azure.core.rest import HttpRequest

    name = f"shutdown-computevm-{ref.name}"
    path = (f"/subscriptions/{ref.subscription}/resourceGroups/{ref.resource_group}"
            f"/providers/Microsoft.DevTestLab/schedules/{name}")
    compute = clients.compute(ref.subscription)
    with azure_errors(f"reading the auto-shutdown schedule of {ref.id}", write=False):
        response = compute.send_request(HttpRequest("GET", path, params={"api-version": API_VERSION}))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        props = (response.json() or {}).get("properties") or {}
    if str(props.get("status", "")).lower() != "enabled" or str(props.get("taskType", "")).lower() != "computevmshutdowntask":
        return None
    raw = str((props.get("dailyRecurrence") or {}).get("time") or "")
    time = f"{raw[:2]}:{raw[-2:]}" if len(raw.replace(":", "")) == 4 else raw or "an unstated time"
    return AutoShutdown(name, time, str(props.get("timeZoneId") or "UTC"))
