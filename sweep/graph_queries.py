"""The Resource Graph queries of the sweep, as KQL text.

Each asks only for what can be a finding, so a page of 1,000 rows covers a large tenant:

- AVAILABILITY: HealthResources' current availability statuses of VMs that are Unavailable or
  Degraded (the rest, Available or Unknown, are not findings);
- ANNOTATIONS: the annotations of those VMs (who initiated it: a VM its owner stopped is
  Unavailable by design), by target id, a few hundred ids a query;
- MAINTENANCE: MaintenanceResources' maintenance updates of VMs and scale-set VMs: the machines
  whose instance view is read for the maintenance window;
- SCALE_SETS: Resources' scale sets with their automatic repairs policy and orchestration mode;
- VM_COUNT: Resources' VMs counted per subscription (the machines the sweep covered).

Rows are ordered by id, so pages stay stable while the sweep follows `$skipToken`. Resource
groups in scope are filtered in the query (`resourceGroup in~ (...)`), so excluded groups cost
no rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from actions.active_annotations import ANNOTATIONS_TYPE  # the same rows verification reads

AVAILABILITY_TYPE = "microsoft.resourcehealth/availabilitystatuses"
UPDATES_TYPE = "microsoft.maintenance/updates"
VM_TYPE = "microsoft.compute/virtualmachines"
SCALE_SET_TYPE = "microsoft.compute/virtualmachinescalesets"
FINDING_STATES = ("Unavailable", "Degraded")
TARGETS_PER_QUERY = 200  # ids in one annotations query: the query text stays a few tens of KB


def _quoted(text: str) -> str:
    # A KQL string literal in single quotes: ARM ids hold no quotes, but never let one end the literal.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _listed(values: Iterable[str]) -> str:
    return "(" + ", ".join(_quoted(v) for v in values) + ")"


def groups_clause(include: tuple[str, ...], exclude: tuple[str, ...]) -> str:
    """The resource-group filter of the scope, as `| where` stages ('' when every group is in)."""
    out = ""
    if include:
        out += f" | where resourceGroup in~ {_listed(include)}"
    if exclude:
        out += f" | where resourceGroup !in~ {_listed(exclude)}"
    return out


def availability(groups: str = "") -> str:
    return (
        f"HealthResources | where type =~ '{AVAILABILITY_TYPE}'"
        f" | where tostring(properties.targetResourceType) =~ '{VM_TYPE}'"
        f" | where tostring(properties.availabilityState) in~ {_listed(FINDING_STATES)}{groups}"
        " | project id, subscriptionId, resourceGroup, properties | order by id asc"
    )


def annotations_of(targets: Iterable[str]) -> str:
    return (
        f"HealthResources | where type =~ '{ANNOTATIONS_TYPE}'"
        f" | where tolower(tostring(properties.targetResourceId)) in~ {_listed(t.lower() for t in targets)}"
        " | project id, properties"
    )


def maintenance(groups: str = "") -> str:
    return (
        f"MaintenanceResources | where type =~ '{UPDATES_TYPE}'{groups}"
        " | project id, subscriptionId, resourceGroup, properties | order by id asc"
    )


def scale_sets(groups: str = "") -> str:
    return (
        f"Resources | where type =~ '{SCALE_SET_TYPE}'{groups}"
        " | project id, name, subscriptionId, resourceGroup, properties | order by id asc"
    )


def vm_count(groups: str = "") -> str:
    return f"Resources | where type =~ '{VM_TYPE}'{groups} | summarize count() by subscriptionId"
