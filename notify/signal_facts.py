"""The facts of a signal a person needs, read from `Notice.signal_facts` in human form.

The pipeline copies the signal's details it has (notify never sees a Signal); this module says
which of them matter for which kind of signal, and how they read: a scheduled event's NotBefore
and instances, a Service Health notice's tracking id, impact window and its Service Health link,
the deadline by which Azure acts on its own, a maintenance window, the availability set.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .humane import parse_time, when, window

# The details the pipeline copies into a notice (Signal.details keys); anything else stays in the ledger.
KEPT = (
    "not_before", "scheduled_event_id", "resources", "duration_seconds", "event_status",
    "tracking_id", "incident_type", "stage", "service", "region", "regions", "impacted_services",
    "impact_start", "impact_mitigation", "level",
    "deadline", "redeploy_deadline", "window_start", "window_end", "azure_window_start", "azure_window_end",
    "availability_set", "update_domain", "fault_domain", "previous_state",
    "location",  # the resource's region as the brakes read it (pipeline/notifications.py adds it)
)
# Where a signal says by when Azure acts on its own (the same keys approvals/requests.py reads).
DEADLINES = ("deadline", "redeploy_deadline", "not_before", "window_end")
SERVICE_HEALTH = "https://portal.azure.com/#view/Microsoft_Azure_Health/AzureHealthBrowseBlade/~/serviceIssues"


def kept(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """What of a signal's details travels with its notice: JSON values, short lists."""
    out: dict[str, Any] = {}
    for key in KEPT:
        value = (details or {}).get(key)
        if value in (None, "", [], ()):
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, (list, tuple)):
            value = [str(v) for v in list(value)[:20]]
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out[key] = value
    return out


def service_health_link(tracking_id: str | None, subscription: str | None) -> str:
    """Azure's own short link to a Service Health event (its tracking id and the first three and
    last three characters of the subscription id); the Service Health issues blade otherwise."""
    if tracking_id and subscription and len(subscription) >= 6:
        return f"https://app.azure.com/h/{tracking_id}/{subscription[:3]}{subscription[-3:]}"
    return SERVICE_HEALTH


def deadline(facts: Mapping[str, Any]) -> datetime | None:
    for key in DEADLINES:
        found = parse_time(facts.get(key))
        if found is not None:
            return found
    return None


def facts_of(kind: str, facts: Mapping[str, Any], now: datetime | None) -> list[tuple[str, str]]:
    """(label, value) pairs for a card's and an email's "What Azure said"."""
    out: list[tuple[str, str]] = []
    if kind == "scheduled-event":
        not_before = parse_time(facts.get("not_before"))
        if not_before:
            out.append(("Not before", when(not_before, now)))
        elif facts.get("not_before") == "" or "not_before" not in facts:
            out.append(("Not before", "not given: the event is under way"))
        if facts.get("resources"):
            out.append(("Instances", ", ".join(facts["resources"])))
        if facts.get("duration_seconds") not in (None, "", -1, "-1"):
            out.append(("Expected duration", f"{facts['duration_seconds']} s"))
        if facts.get("event_status"):
            out.append(("Event status", str(facts["event_status"])))
        if facts.get("scheduled_event_id"):
            out.append(("Event id", str(facts["scheduled_event_id"])))
    if kind == "service-health":
        if facts.get("tracking_id"):
            out.append(("Tracking id", str(facts["tracking_id"])))
        if facts.get("incident_type") or facts.get("stage"):
            out.append(("Type", " / ".join(str(facts[k]) for k in ("incident_type", "stage") if facts.get(k))))
        start, end = parse_time(facts.get("impact_start")), parse_time(facts.get("impact_mitigation"))
        if start or end:
            out.append(("Impact window", window(start, end, now)))
        services = facts.get("impacted_services") or ([facts["service"]] if facts.get("service") else [])
        if services:
            out.append(("Services", ", ".join(services)))
        regions = facts.get("regions") or ([facts["region"]] if facts.get("region") else [])
        if regions:
            out.append(("Regions", ", ".join(regions)))
    if kind != "scheduled-event":
        due = parse_time(facts.get("deadline") or facts.get("redeploy_deadline"))
        if due:
            out.append(("Azure acts on its own by", when(due, now)))
    start, end = parse_time(facts.get("window_start")), parse_time(facts.get("window_end"))
    if start or end:
        out.append(("Self-service window", window(start, end, now)))
    start, end = parse_time(facts.get("azure_window_start")), parse_time(facts.get("azure_window_end"))
    if start or end:
        out.append(("Azure's maintenance window", window(start, end, now)))
    if facts.get("availability_set"):
        out.append(("Availability set", str(facts["availability_set"])))
    return out
