"""The Resource Health annotations still active on a resource, read where Azure publishes them.

Resource Health's availability status does not name the annotation behind it (its `title` is the
state, "Available" or "Unavailable"), so "does the VM still carry <annotation>?" is answered by
Azure Resource Graph's `HealthResources` table, rows of type
`microsoft.resourcehealth/resourceannotations`: one row per resource, its latest annotation
(Azure's "VM availability information in Azure Resource Graph" page).

    active_annotations(clients, resource_id) -> list[ActiveAnnotation]
    annotation_active(clients, resource_id, name) -> ActiveAnnotation | None   (the one named, if active)

One Resource Graph query (followed through `$skipToken` when Azure pages it), scoped to the
resource's subscription; an empty list when Resource Graph has no annotation for it. Resource
Graph allows about 15 queries per 5 s per caller: a refusal (429) is waited out once, for the
`x-ms-user-quota-resets-after` it names (a few seconds at most), then raised as AzureCallError.
RBAC: `Microsoft.ResourceGraph/resources/read` (READ_RESOURCE_GRAPH), plus read access to the
resource itself, which the executors already hold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arm import ResourceId

from .errors import AzureCallError
from .lro import azure_errors
from .targets import target

READ_RESOURCE_GRAPH = "Microsoft.ResourceGraph/resources/read"
ANNOTATIONS_TYPE = "microsoft.resourcehealth/resourceannotations"
MAX_QUOTA_WAIT = 5.0  # seconds: Resource Graph's quota window
# Field names a degraded-hardware annotation may carry its window and deadline under; Azure's
# payloads are not uniform, so each is read from the first name present.
_IMPACT_START = ("impactStartTime", "impactWindowStartTime", "maintenanceWindowStartTime")
_IMPACT_END = ("impactEndTime", "impactWindowEndTime", "maintenanceWindowEndTime")
_DEADLINE = ("redeployDeadline", "redeployDeadlineTime", "deadline")


@dataclass(frozen=True)
class ActiveAnnotation:
    """One annotation Resource Graph still holds for a resource."""

    name: str  # annotationName, as Azure spells it
    resource_id: str  # targetResourceId
    occurred: datetime | None  # occurredTime
    reason: str = ""
    summary: str = ""
    context: str = ""  # Platform Initiated | User Initiated | VM Initiated | ...
    category: str = ""  # Planned | Unplanned | Not Applicable
    impact_type: str | None = None  # Downtime Reboot | Downtime Freeze | Degraded | Informational
    impact_start: datetime | None = None
    impact_end: datetime | None = None
    redeploy_deadline: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)  # the row's properties as Azure sent them

    def is_named(self, annotation: str) -> bool:
        return self.name.strip().lower() == str(annotation or "").strip().lower()


def active_annotations(clients: Any, resource_id: ResourceId | str) -> list[ActiveAnnotation]:
    """The annotations Resource Graph holds for `resource_id` (a VM, scale set or scale-set VM)."""
    from .live_state import parse_time

    ref = target(resource_id)
    query = (
        "HealthResources"
        f" | where type =~ '{ANNOTATIONS_TYPE}'"
        f" | where tolower(tostring(properties.targetResourceId)) == '{_quoted(ref.key)}'"
        " | project id, properties"
    )
    rows = _query(clients, ref, query)
    found = []
    for row in rows:
        props = dict((row or {}).get("properties") or {})
        name = props.get("annotationName")
        if not name:
            continue
        found.append(
            ActiveAnnotation(
                name=str(name),
                resource_id=str(props.get("targetResourceId") or ref.id),
                occurred=parse_time(props.get("occurredTime")),
                reason=str(props.get("reason") or ""),
                summary=str(props.get("summary") or ""),
                context=str(props.get("context") or ""),
                category=str(props.get("category") or ""),
                impact_type=props.get("impactType"),
                impact_start=parse_time(_first(props, _IMPACT_START)),
                impact_end=parse_time(_first(props, _IMPACT_END)),
                redeploy_deadline=parse_time(_first(props, _DEADLINE)),
                properties=props,
            )
        )
    return found


def annotation_active(clients: Any, resource_id: ResourceId | str, annotation: str) -> ActiveAnnotation | None:
    """The annotation named `annotation` (any casing) if Resource Graph still holds it for the
    resource, else None: the "does it still carry <annotation>?" of verification."""
    return next((a for a in active_annotations(clients, resource_id) if a.is_named(annotation)), None)


def _query(clients: Any, ref: ResourceId, query: str) -> list[dict[str, Any]]:
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    graph = clients.graph()
    rows: list[dict[str, Any]] = []
    skip_token = None
    while True:
        request = QueryRequest(
            subscriptions=[ref.subscription], query=query,
            options=QueryRequestOptions(skip_token=skip_token, result_format="objectArray"),
        )  # fmt: skip
        answer = _within_quota(graph, request, ref)
        rows.extend(answer.data or [])
        skip_token = answer.skip_token
        if not skip_token:
            return rows


def _within_quota(graph: Any, request: Any, ref: ResourceId) -> Any:
    """One query; refused for the caller's quota (429), waited out once when the wait is short."""
    what = f"reading the annotations of {ref.id} in Resource Graph"
    try:
        with azure_errors(what, write=False):
            return graph.resources(request)
    except AzureCallError as exc:
        wait = _quota_wait(exc) if exc.status == 429 else None
        if wait is None:
            raise
    time.sleep(wait)
    with azure_errors(what, write=False):
        return graph.resources(request)


def _quota_wait(exc: AzureCallError) -> float | None:
    """Seconds Resource Graph said to wait (x-ms-user-quota-resets-after, hh:mm:ss), when short."""
    response = getattr(exc.__cause__, "response", None)
    wait = quota_resets_after(getattr(response, "headers", None))
    return wait if wait is not None and wait <= MAX_QUOTA_WAIT else None


def quota_resets_after(headers: Any) -> float | None:
    """Seconds until the caller's Resource Graph quota resets (`x-ms-user-quota-resets-after`,
    hh:mm:ss, on every answer); None when absent or unreadable. The sweep paces on it too."""
    text = (headers or {}).get("x-ms-user-quota-resets-after")
    if not text:
        return None
    try:
        hours, minutes, seconds = (float(p) for p in str(text).split(":"))
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


def quota_remaining(headers: Any) -> int | None:
    """Queries the caller may still make in this window (`x-ms-user-quota-remaining`); None when absent."""
    text = (headers or {}).get("x-ms-user-quota-remaining")
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _first(props: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((props[n] for n in names if props.get(n)), None)


def _quoted(text: str) -> str:
    # KQL string literal in single quotes: ARM ids hold no quotes, but never let one end the literal.
    return text.replace("\\", "\\\\").replace("'", "\\'")
