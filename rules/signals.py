"""The one shape every input takes: a `Signal`.

Parsers (in handlers/) turn Event Grid events, alerts and sweep findings into signals; the rest
of the app only ever sees this type. Resource ids keep ARM's casing for display and are compared
case-insensitively through `resource_key` (ids are taken apart by arm/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arm import ResourceId, resource_key


@dataclass(frozen=True, slots=True)
class Signal:
    source: str  # event-grid | cloud-event | common-alert | legacy-alert | sweep
    event_id: str  # the id as delivered (namespaced by `dedupe_key`)
    kind: str  # one of vocabulary.KINDS
    name: str  # annotation name, availability state, notice type, repair state...
    resource_id: str  # ARM id of the resource concerned (a subscription for Service Health)
    occurred: datetime  # when Azure says it happened (UTC, aware)
    resource_type: str = ""  # e.g. Microsoft.Compute/virtualMachines
    initiator: str = ""  # platform | customer | vm | unknown, normalised from `context`/`cause`
    azure_category: str = ""  # planned | unplanned | not-applicable | unknown (Azure's own)
    impact_type: str = ""  # from the event when Azure sends it
    summary: str = ""
    resolved: bool = False  # this signal says the condition is over
    details: Mapping[str, Any] = field(default_factory=dict)
    input: str = ""  # where the signal came from, for reports: a file name or a delivery
    delivery_key: str = ""  # the namespace + id that makes a second delivery a duplicate

    @property
    def resource_key(self) -> str:
        """ARM ids are case-insensitive; Azure itself sends them in mixed and lower case."""
        return resource_key(self.resource_id)

    @property
    def subscription_id(self) -> str:
        """The subscription (lower case), or "" when the id names none."""
        rid = ResourceId.try_parse(self.resource_id)
        return rid.subscription.lower() if rid is not None else ""

    @property
    def incident_key(self) -> str:
        """What makes two signals one incident.

        Service Health notices are about a tracking id, not a resource; everything else is one
        resource until it is healthy again, so an annotation event and an alert about the same
        occurrence land in the same incident.
        """
        if self.kind == "service-health":
            return "notice:" + str(self.details.get("tracking_id") or self.event_id).lower()
        return "resource:" + self.resource_key


# What a recorded signal keeps beyond its columns (kind, name, resource, times, summary), so a
# decision made later (an approval, an operation's end, a wave's turn) is told with everything
# the first one knew: deadlines, NotBefore, the initiator, the impact.
FACT_FIELDS = ("resource_type", "initiator", "azure_category", "impact_type", "resolved", "details")
# A Table Storage string holds 32K UTF-16 characters; a scale set's scheduled event may list 1,000 VMs.
FACTS_LIMIT = 30_000


def recorded_facts(signal: Signal) -> str:
    """The signal's facts as the ledger stores them (JSON). A scale set's machine list is left
    out when it would not fit; the rest is always kept."""
    import json

    facts = {name: getattr(signal, name) for name in FACT_FIELDS}
    text = json.dumps(facts, default=str, sort_keys=True)
    if len(text) > FACTS_LIMIT:
        facts["details"] = {k: v for k, v in signal.details.items() if k != "resources"}
        text = json.dumps(facts, default=str, sort_keys=True)
    return text if len(text) <= FACTS_LIMIT else json.dumps({name: facts[name] for name in FACT_FIELDS if name != "details"})


def signal_from_record(row: Mapping[str, Any]) -> Signal:
    """A recorded signal as the pipeline first saw it (the facts a ledger written before they
    were kept lacks are left empty)."""
    import json

    facts = json.loads(row.get("facts") or "{}")
    return Signal(source=row["source"], event_id=row["event_id"], kind=row["kind"], name=row["name"],
                  resource_id=row["resource_id"], occurred=datetime.fromisoformat(row["occurred"]),
                  summary=row.get("summary") or "", input=row.get("input") or "", delivery_key=row["delivery_key"],
                  **{name: facts[name] for name in FACT_FIELDS if name in facts})
