"""The notice: what the pipeline tells notify/ about one step of one incident.

The pipeline builds a `Notice` per step (opened, decided, started, ...) and hands it to
`Notifier.submit`. Everything a person reads is derived from these fields; the outbox stores
them as JSON (`to_json` / `from_json`) so a message can be rendered again after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

EVENTS = (
    "opened",
    "decided",
    "awaiting-approval",
    "started",
    "succeeded",
    "failed",
    "skipped",
    "resolved",
    "storm",
)


@dataclass(frozen=True)
class Notice:
    incident_id: str  # stable per incident, e.g. "INC-3f2a9c1b"; the same on every follow-up
    event: str  # one of EVENTS
    resource_id: str  # ARM id (VM, scale set, scale-set VM) or a subscription for Service Health
    signal_kind: str  # annotation | availability | scheduled-event | service-health | ...
    signal_name: str  # e.g. "VirtualMachinePossiblyDegradedDueToHardwareFailure"
    meaning: str  # from the catalog, one line
    occurred: datetime
    category: str  # e.g. degraded-hardware, planned-maintenance, customer-initiated, unknown
    initiator: str  # platform | customer | vm | unknown
    impact: str  # downtime-reboot | freeze | degraded | informational | unknown
    action: str  # redeploy | restart | ... | none
    mode: str  # observe | approve | auto
    status: str  # planned | awaiting-approval | started | succeeded | failed | skipped | ...
    reason: str  # why, for a person
    brakes: tuple[str, ...] = ()  # brakes that applied, each a readable sentence
    next_step: str | None = None  # what a person should do, if anything
    # The pending approval a person decides (APR-...). Only the id: the signed Approve/Reject links
    # are a credential, drawn at send time (notify/links.py), never stored in the outbox.
    approval_id: str | None = None
    location: str | None = None  # Azure region when known
    routes: tuple[str, ...] = ()  # policy notification routes, e.g. ("ops-teams", "owner-email")
    owner_emails: tuple[str, ...] = ()  # from the resource's owner tag, resolved by the pipeline
    routine: bool = False  # customer-initiated routine annotation: recorded, not sent unless asked
    # Optional additions (not part of the pipeline's required contract):
    detail: str | None = None  # Azure's own words (annotation summary, Service Health title)
    temp_disk_loss: bool | None = None  # the catalog's flag, when known
    rule: str = ""  # the policy rule that decided; "tick" or "approval" for a follow-up's outcome
    # What the signal said that a person needs, in its own terms (notify/signal_facts.py reads them):
    # NotBefore and instances of a scheduled event, tracking id and impact window of a Service Health
    # notice, deadlines, maintenance windows. JSON values only.
    signal_facts: Mapping[str, Any] = field(default_factory=dict, hash=False)
    approval_expires: str | None = None  # ISO time the pending approval's links die
    follow_up: bool = False  # a later step of an incident already opened: told where the start was told
    # The notice's identity: the same step told again (a redelivery of the delivery that made it, a
    # tick or approval retried) has the same key, and the outbox records it once. "" for none.
    key: str = ""

    def to_json(self, submitted: datetime | None = None) -> str:
        """JSON for the outbox; `submitted` (when the pipeline handed it over) rides along so a
        message can show when each step happened, even when `occurred` is the signal's time."""
        data = {name: getattr(self, name) for name in _FIELDS}  # shallow: asdict's deep copy is slow in a storm
        data["signal_facts"] = dict(self.signal_facts)
        data["occurred"] = _aware(self.occurred).isoformat()
        if submitted is not None:
            data["submitted"] = _aware(submitted).isoformat()
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @staticmethod
    def submitted_of(text: str) -> datetime | None:
        value = json.loads(text).get("submitted")
        return datetime.fromisoformat(value) if value else None

    @classmethod
    def from_json(cls, text: str) -> Notice:
        data = json.loads(text)
        data = {k: v for k, v in data.items() if k in _FIELDS}
        data["occurred"] = datetime.fromisoformat(data["occurred"])
        for name in ("brakes", "routes", "owner_emails"):
            data[name] = tuple(data.get(name) or ())
        data["signal_facts"] = dict(data.get("signal_facts") or {})
        return cls(**data)

    @property
    def occurred_utc(self) -> datetime:
        return _aware(self.occurred).astimezone(UTC)


_FIELDS = tuple(f.name for f in fields(Notice))


def _aware(moment: datetime) -> datetime:
    # The pipeline hands UTC; a naive datetime is taken as UTC rather than local time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
