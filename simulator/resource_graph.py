"""Azure Resource Graph in the simulated Azure: the HealthResources annotations the app queries.

`POST /providers/Microsoft.ResourceGraph/resources` with a `QueryRequest` (subscriptions, query,
options). Only the queries the app makes are understood, and anything else is refused with a
400 naming what is not understood, so a new query in the app cannot pass against a simulator that
does not really answer it:

    HealthResources
    | where type =~ 'microsoft.resourcehealth/resourceannotations'
    [| where tolower(tostring(properties.targetResourceId)) in~ ('<id>', ...)]   (or == / =~ '<id>')
    [| project ...]

Rows are shaped as Resource Graph returns them (lower-cased `type` and `resourceGroup`, the
annotation in `properties` with the fields Azure's "VM availability information in Azure
Resource Graph" page lists). Paging: `options.$top` rows a page (at most 1000, and at most the
simulator's page size), `$skipToken` in the answer while rows remain. Throttling: every answer
carries `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` (hh:mm:ss); past the
quota (15 queries in 5 s per caller, as Azure's published limit) the answer is 429 RateLimiting.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .fleet import Fleet
from .server import Request, Response, SimServer, arm_error

PATH = r"/providers/Microsoft\.ResourceGraph/resources"
ANNOTATIONS = "microsoft.resourcehealth/resourceannotations"
MAX_PAGE = 1000
TENANT = "00000000-0000-0000-0000-00000000c0de"

_TABLE = re.compile(r"^\s*healthresources\s*$", re.IGNORECASE)
_TYPE = re.compile(r"^\s*where\s+type\s*(?:=~|==)\s*'([^']*)'\s*$", re.IGNORECASE)
_TARGET = re.compile(
    r"^\s*where\s+(?:tolower\s*\(\s*)?tostring\s*\(\s*properties\.targetResourceId\s*\)\s*\)?\s*"
    r"(?:(?P<op>==|=~)\s*'(?P<one>[^']*)'|in~?\s*\((?P<many>[^)]*)\))\s*$",
    re.IGNORECASE,
)
_PROJECT = re.compile(r"^\s*project\s+[\w\s,.=()]+$", re.IGNORECASE)


class GraphQueryError(ValueError):
    pass


def parse_query(query: str) -> tuple[str, set[str] | None]:
    """(table type, wanted target ids lower-cased or None for all) of a query the app makes."""
    parts = [p for p in str(query or "").split("|")]
    if not parts or not _TABLE.match(parts[0]):
        raise GraphQueryError("the simulated Resource Graph answers only the HealthResources table")
    wanted_type, targets = None, None
    for part in parts[1:]:
        if m := _TYPE.match(part):
            wanted_type = m.group(1).lower()
        elif m := _TARGET.match(part):
            if m["one"] is not None:
                targets = {m["one"].lower()}
            else:
                targets = {t.strip().strip("'").lower() for t in m["many"].split(",") if t.strip()}
        elif not _PROJECT.match(part):
            raise GraphQueryError(f"the simulated Resource Graph does not understand {part.strip()!r}")
    if wanted_type != ANNOTATIONS:
        raise GraphQueryError(f"the simulated Resource Graph answers only type =~ '{ANNOTATIONS}'")
    return wanted_type, targets


def annotation_row(res: Any, tenant: str = TENANT) -> dict[str, Any]:
    """One HealthResources row of type microsoft.resourcehealth/resourceannotations."""
    note = dict(res.annotation or {})
    props: dict[str, Any] = {
        "targetResourceType": res.type,
        "targetResourceId": res.id,
        "occurredTime": note.pop("occurredTime", None),
        "annotationName": note.pop("name"),
        "reason": note.pop("reason", None) or f"{res.kind} annotated",
        "category": note.pop("category", None) or "Not Applicable",
        "context": note.pop("context", None) or "Platform Initiated",
        "summary": note.pop("summary", None) or "",
    }
    note.pop("reasonType", None)  # an availability-status field, not an annotation one
    props.update(note)  # impactType and whatever else the fleet gives the annotation
    return {
        "id": f"{res.id}/providers/Microsoft.ResourceHealth/resourceAnnotations/current",
        "name": "current",
        "type": ANNOTATIONS,
        "tenantId": tenant,
        "kind": "",
        "location": res.location,
        "resourceGroup": res.resource_group.lower(),
        "subscriptionId": res.subscription_id,
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": props,
        "tags": None,
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


class Quota:
    """Azure Resource Graph's per-caller quota: `limit` queries in a sliding `window` of seconds."""

    def __init__(self, limit: int = 15, window: float = 5.0) -> None:
        self.limit = limit
        self.window = window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> tuple[bool, int, float]:
        """(allowed, remaining after this call, seconds until the window frees a slot)."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(caller, deque())
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            allowed = len(calls) < self.limit
            if allowed:
                calls.append(now)
            resets = self.window - (now - calls[0]) if calls else 0.0
            return allowed, max(0, self.limit - len(calls)), max(0.0, resets)


def _resets_after(seconds: float) -> str:
    whole = int(-(-seconds // 1))  # rounded up: waiting that long is always enough
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class ResourceGraphApi:
    def __init__(self, fleet: Fleet, *, page_size: Callable[[], int], quota: Quota | None = None) -> None:
        self.fleet = fleet
        self.page_size = page_size
        self.quota = quota or Quota()

    def register(self, server: SimServer) -> None:
        server.add_route("POST", PATH, self.resources, counter="reads")

    def resources(self, request: Request) -> Response:
        caller = request.header("authorization") or "anonymous"
        allowed, remaining, resets = self.quota.take(caller)
        headers = {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": _resets_after(resets)}
        if not request.param("api-version"):
            return arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.", headers)
        if not allowed:
            return arm_error(
                429, "RateLimiting",
                "Client application has been throttled and should not attempt to repeat the request until an amount "
                "of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.", headers,
            )  # fmt: skip
        body = request.json() if isinstance(request.json(), dict) else {}
        try:
            _, targets = parse_query(body.get("query", ""))
        except GraphQueryError as exc:
            return arm_error(400, "BadRequest", str(exc), headers)
        options = body.get("options") or {}
        try:
            offset = int(base64.urlsafe_b64decode(options["$skipToken"]).decode()) if options.get("$skipToken") else 0
        except (ValueError, UnicodeDecodeError):
            return arm_error(400, "InvalidSkipToken", "The $skipToken is not valid.", headers)
        offset += int(options.get("$skip") or 0) if not options.get("$skipToken") else 0
        size = min(MAX_PAGE, int(options.get("$top") or MAX_PAGE), max(1, self.page_size()))
        subscriptions = {s.lower() for s in body.get("subscriptions") or []}
        with self.fleet.lock:
            rows = [annotation_row(r) for r in self._annotated(subscriptions, targets)]
        page = rows[offset : offset + size]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "data": page,
            "facets": [],
        }
        if offset + size < len(rows):
            answer["$skipToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return Response(200, answer, headers)

    def _annotated(self, subscriptions: set[str], targets: set[str] | None) -> list[Any]:
        found = []
        for res in self.fleet:  # VMs, scale sets and scale-set VMs alike
            if res.annotation is None:
                continue
            if subscriptions and res.subscription_id.lower() not in subscriptions:
                continue
            if targets is not None and res.id.lower() not in targets:
                continue
            found.append(res)
        return found
