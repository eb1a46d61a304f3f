"""Azure Resource Graph in the simulated Azure: the HealthResources, MaintenanceResources and
Resources tables the app queries, from the live fleet.

`POST /providers/Microsoft.ResourceGraph/resources` with a `QueryRequest` (subscriptions or
managementGroups, query, options). The query language is a small, strict part of KQL, enough for
the app's queries and refused (400 naming the part) beyond it, so a new query in the app cannot
pass against a simulator that does not really answer it:

    <HealthResources | MaintenanceResources | Resources>
    | where <column> <op> <value> [and <column> <op> <value> ...]
          column: type, id, name, subscriptionId, resourceGroup, location, or a property path
                  (properties.a.b, tostring(properties.a.b), tolower(tostring(properties.a.b)))
          op: == =~ != !~ (a 'string') and in in~ !in !in~ (a ('list', ...))
    | project <column>, ...                 (top-level columns only)
    | order by <column> [asc|desc]
    | summarize count() by <column>         (rows {<column>, count_})

Rows are shaped as Resource Graph returns them: lower-cased `type` and `resourceGroup`, the
resource's ARM properties in `properties`; HealthResources holds `availabilitystatuses` (one
row per VM: targetResourceId, targetResourceType, occurredTime, availabilityState,
previousAvailabilityState) and `resourceannotations` (one per annotated resource) as Azure's "VM
availability information in Azure Resource Graph" lists them; MaintenanceResources holds
`microsoft.maintenance/updates` for each VM and scale-set VM with maintenance planned (the
Maintenance `Update` model: resourceId, maintenanceScope, impactType, status, notBefore,
impactDurationInSec). A management group in `managementGroups` covers every subscription of the
fleet (the fleet has no hierarchy).

Paging: `options.$top` rows a page (at most 1000, and at most the simulator's page size),
`$skipToken` in the answer while rows remain. Throttling: every answer carries
`x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` (hh:mm:ss); past the quota (15
queries in 5 s per caller, as Azure's published limit) the answer is 429 RateLimiting.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .fleet import Fleet
from .server import Request, Response, SimServer, arm_error

PATH = r"/providers/Microsoft\.ResourceGraph/resources"
ANNOTATIONS = "microsoft.resourcehealth/resourceannotations"
AVAILABILITY = "microsoft.resourcehealth/availabilitystatuses"
UPDATES = "microsoft.maintenance/updates"
VMS = "microsoft.compute/virtualmachines"
SCALE_SETS = "microsoft.compute/virtualmachinescalesets"
TABLES = {
    "healthresources": (AVAILABILITY, ANNOTATIONS),
    "maintenanceresources": (UPDATES,),
    "resources": (VMS, SCALE_SETS),
}
MAX_PAGE = 1000
TENANT = "00000000-0000-0000-0000-00000000c0de"
COLUMNS = ("id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId", "managedBy",
           "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation")  # fmt: skip

_COLUMN = r"(?:type|id|name|subscriptionId|resourceGroup|location|tolower\s*\(\s*tostring\s*\(\s*properties(?:\.\w+)+\s*\)\s*\)|tostring\s*\(\s*properties(?:\.\w+)+\s*\)|properties(?:\.\w+)+)"
_CONDITION = re.compile(
    rf"^\s*(?P<column>{_COLUMN})\s*(?P<op>==|=~|!=|!~|!in~|!in|in~|in)\s*(?:'(?P<one>[^']*)'|\((?P<many>[^)]*)\))\s*$",
    re.IGNORECASE,
)
_PROJECT = re.compile(r"^\s*project\s+(?P<names>\w+(?:\s*,\s*\w+)*)\s*$", re.IGNORECASE)
_ORDER = re.compile(r"^\s*order\s+by\s+(?P<column>\w+)(?:\s+(?P<way>asc|desc))?\s*$", re.IGNORECASE)
_SUMMARIZE = re.compile(r"^\s*summarize\s+count\s*\(\s*\)\s+by\s+(?P<column>\w+)\s*$", re.IGNORECASE)
_WHERE = re.compile(r"^\s*where\s+(?P<body>.+)$", re.IGNORECASE | re.DOTALL)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class GraphQueryError(ValueError):
    pass


class Query:
    """A parsed query: its table, conditions, and the project / order / summarize it ends with."""

    def __init__(self, text: str) -> None:
        stages = str(text or "").split("|")
        self.table = stages[0].strip().lower()
        if self.table not in TABLES:
            raise GraphQueryError(f"the simulated Resource Graph answers the tables {', '.join(TABLES)}, not {stages[0].strip()!r}")
        self.conditions: list[tuple[str, str, tuple[str, ...]]] = []
        self.project: tuple[str, ...] | None = None
        self.order: tuple[str, bool] | None = None
        self.summarize: str | None = None
        for stage in stages[1:]:
            if m := _WHERE.match(stage):
                for part in _AND.split(m["body"].strip()):
                    self.conditions.append(_condition(part))
            elif m := _PROJECT.match(stage):
                self.project = tuple(n.strip() for n in m["names"].split(","))
                unknown = [n for n in self.project if n not in COLUMNS]
                if unknown:
                    raise GraphQueryError(f"the simulated Resource Graph projects only top-level columns, not {', '.join(unknown)}")
            elif m := _ORDER.match(stage):
                self.order = (m["column"], (m["way"] or "asc").lower() == "desc")
            elif m := _SUMMARIZE.match(stage):
                self.summarize = m["column"]
            else:
                raise GraphQueryError(f"the simulated Resource Graph does not understand {stage.strip()!r}")

    def types(self) -> tuple[str, ...]:
        """The row types the conditions on `type` allow (all of the table's when none narrows them)."""
        allowed = TABLES[self.table]
        for column, op, values in self.conditions:
            if column == "type" and op in ("==", "=~", "in", "in~"):
                allowed = tuple(t for t in allowed if t in {v.lower() for v in values})
        return allowed

    def matches(self, row: dict[str, Any]) -> bool:
        return all(_holds(_value(row, column), op, values) for column, op, values in self.conditions)

    def answer(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [row for row in rows if self.matches(row)]
        if self.summarize:
            counts: dict[str, int] = {}
            for row in kept:
                key = str(row.get(self.summarize) or "")
                counts[key] = counts.get(key, 0) + 1
            kept = [{self.summarize: key, "count_": n} for key, n in counts.items()]
        if self.order:
            column, descending = self.order
            kept.sort(key=lambda row: str(row.get(column) or ""), reverse=descending)
        if self.project:
            kept = [{name: row.get(name) for name in self.project} for row in kept]
        return kept


def _condition(text: str) -> tuple[str, str, tuple[str, ...]]:
    m = _CONDITION.match(text)
    if not m:
        raise GraphQueryError(f"the simulated Resource Graph does not understand the condition {text.strip()!r}")
    column = re.sub(r"\s+", "", m["column"])
    op = m["op"].lower()
    if m["one"] is not None:
        if op.lstrip("!").startswith("in"):
            raise GraphQueryError(f"{op} takes a list in parentheses: {text.strip()!r}")
        values: tuple[str, ...] = (m["one"],)
    else:
        if not op.lstrip("!").startswith("in"):
            raise GraphQueryError(f"{op} takes one 'string': {text.strip()!r}")
        values = tuple(v.strip().strip("'") for v in m["many"].split(",") if v.strip())
    return column, op, values


def _value(row: dict[str, Any], column: str) -> str:
    """A column's value as KQL's tostring() gives it ('' for a missing one); tolower() applied."""
    lower = column.lower().startswith("tolower(")
    path = re.sub(r"^(?:tolower\()?(?:tostring\()?", "", column, flags=re.IGNORECASE).rstrip(")")
    value: Any = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    return text.lower() if lower else text


def _holds(value: str, op: str, values: tuple[str, ...]) -> bool:
    folded = op.endswith("~")
    negated = op.startswith("!")
    if folded:
        found = value.lower() in {v.lower() for v in values}
    else:
        found = value in values
    return found != negated


# -- rows ---------------------------------------------------------------------------------------


def _row(res: Any, row_id: str, row_type: str, properties: dict[str, Any], *, name: str, tenant: str = TENANT,
         model: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    model = model or {}
    return {
        "id": row_id,
        "name": name,
        "type": row_type,
        "tenantId": tenant,
        "kind": "",
        "location": res.location,
        "resourceGroup": res.resource_group.lower(),
        "subscriptionId": res.subscription_id,
        "managedBy": model.get("managedBy", ""),
        "sku": model.get("sku"),
        "plan": None,
        "properties": properties,
        "tags": model.get("tags"),
        "identity": None,
        "zones": model.get("zones"),
        "extendedLocation": None,
    }


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
    return _row(res, f"{res.id}/providers/Microsoft.ResourceHealth/resourceAnnotations/current", ANNOTATIONS, props,
                name="current", tenant=tenant)  # fmt: skip


def availability_row(res: Any, tenant: str = TENANT) -> dict[str, Any]:
    """One HealthResources row of type microsoft.resourcehealth/availabilitystatuses: the VM's
    latest availability, timed as its Resource Health status is (the annotation's time, if any)."""
    note = res.annotation or {}
    props: dict[str, Any] = {
        "targetResourceType": res.type,
        "targetResourceId": res.id,
        "occurredTime": note.get("occurredTime") or res.state_changed,
        "availabilityState": res.availability_state,
    }
    if res.availability_state != "Available":
        props["previousAvailabilityState"] = "Available"
    return _row(res, f"{res.id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current", AVAILABILITY, props,
                name="current", tenant=tenant)  # fmt: skip


UPDATE_STATUS = {  # maintenanceRedeployStatus.lastOperationResultCode -> the Maintenance update's status
    "maintenancecompleted": "Completed",
    "retrylater": "RetryLater",
    "maintenanceaborted": "Pending",  # Azure sends a new schedule
}


def update_row(res: Any, tenant: str = TENANT) -> dict[str, Any]:
    """One MaintenanceResources row of type microsoft.maintenance/updates: the platform
    maintenance planned for a VM or scale-set VM (a host update that redeploys it)."""
    m = res.maintenance or {}
    name = str(uuid.uuid5(uuid.NAMESPACE_URL, res.id.lower()))
    props = {
        "resourceId": res.id,
        "maintenanceScope": "Host",
        "impactType": "Redeploy",
        "status": UPDATE_STATUS.get(str(m.get("lastOperationResultCode") or "").lower(), "Pending"),
        "impactDurationInSec": 0,
    }
    not_before = m.get("maintenanceWindowStartTime") or m.get("preMaintenanceWindowEndTime")
    if not_before:  # when Azure starts the update itself; a finished one has none
        props["notBefore"] = not_before
    return _row(res, f"{res.id}/providers/Microsoft.Maintenance/updates/{name}", UPDATES, props, name=name, tenant=tenant)


def resource_row(res: Any, model: dict[str, Any], tenant: str = TENANT) -> dict[str, Any]:
    """One Resources row: the resource's ARM model, as Resource Graph indexes it."""
    props = {k: v for k, v in model["properties"].items() if k != "instanceView"}
    return _row(res, res.id, res.type.lower(), props, name=res.name, tenant=tenant, model=model)


def rows_of(fleet: Fleet, subscriptions: Iterable[str], types: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Every row of `types` in `subscriptions`, built only for the types asked for."""
    from .shapes import scale_set_model, vm_model

    for sub in subscriptions:
        vms: list[Any] = fleet.vms_in(sub)
        sets: list[Any] = fleet.scale_sets_in(sub)
        instances: list[Any] = [inst for ss in sets for inst in ss.instances.values()]
        if AVAILABILITY in types:
            yield from (availability_row(vm) for vm in vms)
        if ANNOTATIONS in types:  # VMs, scale sets and scale-set VMs alike
            yield from (annotation_row(r) for r in [*vms, *sets, *instances] if r.annotation is not None)
        if UPDATES in types:
            yield from (update_row(r) for r in [*vms, *instances] if r.maintenance)
        if VMS in types:
            yield from (resource_row(vm, vm_model(vm)) for vm in vms)
        if SCALE_SETS in types:
            yield from (resource_row(ss, scale_set_model(ss)) for ss in sets)


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
        self.queries: list[dict[str, Any]] = []  # what was asked, in order: {query, subscriptions, skip_token}

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
            query = Query(body.get("query", ""))
        except GraphQueryError as exc:
            return arm_error(400, "BadRequest", str(exc), headers)
        options = body.get("options") or {}
        try:
            offset = int(base64.urlsafe_b64decode(options["$skipToken"]).decode()) if options.get("$skipToken") else 0
        except (ValueError, UnicodeDecodeError):
            return arm_error(400, "InvalidSkipToken", "The $skipToken is not valid.", headers)
        offset += int(options.get("$skip") or 0) if not options.get("$skipToken") else 0
        size = min(MAX_PAGE, int(options.get("$top") or MAX_PAGE), max(1, self.page_size()))
        with self.fleet.lock:
            scope = self._scope(body)
            self.queries.append({"query": body.get("query", ""), "subscriptions": scope, "skip_token": options.get("$skipToken")})
            rows = query.answer(rows_of(self.fleet, scope, query.types()))
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

    def _scope(self, body: dict[str, Any]) -> list[str]:
        """The subscriptions a query reads: those named, else (a management group, or none) the fleet's."""
        named = [str(s).lower() for s in body.get("subscriptions") or []]
        if named:
            return list(dict.fromkeys(named))
        return sorted({*self.fleet.subscriptions, *self.fleet._vms_by_sub, *self.fleet._sets_by_sub})
