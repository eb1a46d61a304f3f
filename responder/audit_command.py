"""`python -m responder audit`: the ledger read as a person would, one incident at a time.

For each incident, newest first: the resource, when it opened (and closed, and why), then each
step in order: which signal arrived (from where, when Azure says it happened), what was
decided (action, mode, rule), what became of it (status) and why. Repeated deliveries that
were recorded as duplicates before any incident are counted at the end.

    python -m responder audit --state .responder/ledger.sqlite --since 2h --resource vm-maint-1
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from arm import short_name

if TYPE_CHECKING:  # types only
    from rules.ports import Store

_SHORT_DURATION = re.compile(r"^(\d+)\s*([smhdw])$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class AuditError(ValueError):
    """A flag the audit cannot use, or a ledger it cannot read; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="ISO|DURATION", help="only decisions since a time (2026-11-22T09:00Z) or for a while back (PT2H, P1D, 90m, 2h, 7d)")
    parser.add_argument("--resource", metavar="NAME-OR-ID", help="only this resource: its ARM id or its name")
    parser.add_argument("--json", action="store_true", help="one JSON object per incident per line")
    parser.add_argument("--state", metavar="PATH", help="the ledger: a SQLite file, sqlite:PATH or table (default: RESPONDER_LEDGER)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr, now: datetime | None = None) -> int:
    try:
        since = parse_since(args.since, now or datetime.now(UTC)) if args.since else None
        ledger = _open(args.state)
    except AuditError as exc:
        err.write(f"error: {exc}\n")
        return 1
    try:
        incidents, repeats = group(ledger.history(since, args.resource), ledger.incident)
    finally:
        ledger.close()
    if args.json:
        for incident in incidents:
            out.write(json.dumps(incident.to_dict(), ensure_ascii=False) + "\n")
    else:
        out.write(render(incidents, repeats))
    return 0


# -- reading --------------------------------------------------------------------------------


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO time, an ISO 8601 duration (PT2H, P1D) or a short one (90m, 2h, 7d) back from now."""
    value = text.strip()
    short = _SHORT_DURATION.match(value)
    if short:
        return now - timedelta(**{_UNITS[short[2].lower()]: int(short[1])})
    if value.upper().startswith("P"):
        from rules import RulesError, parse_duration

        try:
            return now - parse_duration(value, "--since")
        except RulesError as exc:
            raise AuditError(str(exc)) from None
    try:
        at = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise AuditError(f"--since {text!r}: expected an ISO time (2026-11-22T09:00Z) or a duration (PT2H, 2h, 7d)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _open(state: str | None) -> Store:
    from ledger import open_ledger
    from pipeline import SettingsError

    from .ledger_choice import Need, command_settings

    try:
        settings = command_settings(state, "audit", Need.EXISTING)
    except SettingsError as exc:
        raise AuditError(str(exc)) from None
    return open_ledger(settings.ledger, settings)


# -- grouping -------------------------------------------------------------------------------


@dataclass
class Incident:
    id: str
    resource_id: str = ""
    opened_at: str = ""
    closed_at: str = ""
    close_reason: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> tuple:
        return (self.steps[-1]["at"], self.steps[-1]["order"]) if self.steps else ("", 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.id,
            "resource_id": self.resource_id,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at or None,
            "close_reason": self.close_reason or None,
            "steps": [{k: v for k, v in step.items() if k != "order"} for step in self.steps],
        }


def group(rows: Iterable[Mapping[str, Any]], read_incident=None) -> tuple[list[Incident], int]:
    """Decisions grouped by incident, newest incident first, each incident's steps oldest first."""
    incidents: dict[str, Incident] = {}
    repeats = 0
    for order, row in enumerate(rows):
        incident_id = row.get("incident_id")
        if not incident_id:
            repeats += 1  # a repeated delivery: recorded, never tied to a resource
            continue
        incident = incidents.setdefault(incident_id, Incident(incident_id))
        incident.resource_id = incident.resource_id or str(row.get("resource_id") or "")
        incident.steps.append(
            {
                "at": str(row.get("at") or ""),
                "order": order,
                "signal": {
                    "source": row.get("source"),
                    "kind": row.get("kind"),
                    "name": row.get("name"),
                    "occurred": row.get("occurred"),
                    "event_id": row.get("event_id"),
                    "input": row.get("input"),
                },
                "action": row.get("action"),
                "mode": row.get("mode"),
                "rule": row.get("rule"),
                "status": row.get("status"),
                "reason": row.get("reason"),
            }
        )
    for incident in incidents.values():
        record = read_incident(incident.id) if read_incident else None
        if record:
            incident.opened_at = str(record.get("opened_at") or "")
            incident.closed_at = str(record.get("closed_at") or "")
            incident.close_reason = str(record.get("close_reason") or "")
        incident.opened_at = incident.opened_at or incident.steps[0]["at"]
    return sorted(incidents.values(), key=lambda i: i.last, reverse=True), repeats


# -- showing --------------------------------------------------------------------------------


def _name(resource_id: str) -> str:
    return short_name(resource_id)


def _time(text: str | None) -> str:
    if not text:
        return "?"
    try:
        return datetime.fromisoformat(str(text)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return str(text)


def render(incidents: list[Incident], repeats: int) -> str:
    if not incidents:
        lines = ["No incidents in the ledger for this selection."]
    else:
        lines = []
    for incident in incidents:
        state = f"closed {_time(incident.closed_at)}: {incident.close_reason}" if incident.closed_at else "open"
        lines.append(f"{incident.id}  {_name(incident.resource_id)}  opened {_time(incident.opened_at)}, {state}")
        lines.append(f"  {incident.resource_id}")
        for step in incident.steps:
            signal = step["signal"]
            doing = step["action"] if step["action"] != "none" else "no action"
            lines.append(
                f"  {_time(step['at'])}  {signal['name'] or signal['kind']} ({signal['kind']}, from {signal['source']},"
                f" occurred {_time(signal['occurred'])})"
            )
            lines.append(f"      -> {doing} [{step['mode']}, rule {step['rule']}] {step['status'].upper()}: {step['reason']}")
        lines.append("")
    if repeats:
        lines.append(f"{repeats} repeated deliveries were recorded as duplicates (no incident: nothing was decided on them).")
    return "\n".join(lines).rstrip("\n") + "\n"
