"""VMs Unavailable or Degraded, from Resource Health's list of current availability statuses.

The VM list's statuses say only power and provisioning state, not availability, so they cannot
tell Degraded from Available; a GET of availabilityStatuses/current per VM would cost a read
per machine. Resource Health's list by subscription returns every status in pages: one read a
page, like the VM list.

A VM its owner stopped or deallocated is Unavailable by design; Resource Health says so with a
customer- or user-initiated context, and the sweep leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arm import VM, ResourceId
from rules import Signal

from .finding import day, finding, iso, text

KIND = "availability"
FINDINGS = ("Unavailable", "Degraded")
STATUS_TYPE = "microsoft.resourcehealth/availabilitystatuses"  # the extension, named "current"


@dataclass(frozen=True)
class AvailabilityStatus:
    resource_id: str
    state: str  # Available | Unavailable | Degraded | Unknown
    occurred: datetime | None
    summary: str = ""
    title: str = ""
    context: str = ""
    reason_type: str = ""
    category: str = ""

    @classmethod
    def from_model(cls, status: Any) -> AvailabilityStatus | None:
        """From the SDK's AvailabilityStatus; None when its id names no resource."""
        status_id = ResourceId.try_parse(str(status.id or ""))
        if (status_id is None or status_id.scope is None or status_id.provider_type.lower() != STATUS_TYPE
                or status_id.name.lower() != "current"):
            return None
        props = status.properties
        if props is None:
            return None
        return cls(
            resource_id=status_id.scope.text,
            state=text(props.availability_state) or "Unknown",
            occurred=props.occured_time,
            summary=text(props.summary),
            title=text(getattr(props, "title", None)),
            context=text(props.context),
            reason_type=text(props.reason_type),
            category=text(props.category),
        )

    @property
    def is_vm(self) -> bool:
        rid = ResourceId.try_parse(self.resource_id)
        return rid is not None and rid.is_vm

    @property
    def owner_initiated(self) -> bool:
        folded = self.context.lower().replace("-", "").replace(" ", "")
        return folded in ("customerinitiated", "userinitiated")


def availability_signal(status: AvailabilityStatus, now: datetime) -> Signal | None:
    state = next((f for f in FINDINGS if f.lower() == status.state.lower()), None)
    if state is None:
        return None
    # The state's own change time marks a new occurrence; the day re-announces a lasting one.
    mark = f"{iso(status.occurred) or 'no-time'}:{day(now)}"
    return finding(
        KIND,
        state,
        status.resource_id,
        VM,
        mark=mark,
        occurred=status.occurred or now,
        summary=status.summary or f"Resource Health reports the VM {state.lower()}",
        details={
            "title": status.title,
            "context": status.context,
            "reason_type": status.reason_type,
            "category": status.category,
        },
    )
