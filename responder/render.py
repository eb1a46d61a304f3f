"""How outcomes are shown: one JSON object per line, or a table a person reads."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from typing import TextIO

from arm import ResourceId, short_name
from pipeline import Outcome

JSON_KEYS = ("input", "event_id", "source", "kind", "resource_id", "name", "category", "action", "mode", "status", "reason", "incident_id", "rule")


def json_line(outcome: Outcome) -> str:
    return json.dumps({key: getattr(outcome, key) for key in JSON_KEYS}, ensure_ascii=False)


def short_resource(resource_id: str) -> str:
    rid = ResourceId.try_parse(resource_id)
    if rid is not None and rid.is_subscription:
        return "subscription " + rid.subscription[:8]
    return short_name(resource_id)


def table(outcomes: Iterable[Outcome], out: TextIO) -> None:
    rows = [
        (
            o.input.rsplit("/", 1)[-1][:34],
            short_resource(o.resource_id)[:22],
            (o.name or o.kind)[:38],
            o.action,
            o.status,
            o.reason,
        )
        for o in outcomes
    ]
    header = ("INPUT", "RESOURCE", "SIGNAL", "ACTION", "STATUS", "REASON")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(5)]
    total = shutil.get_terminal_size((160, 20)).columns
    reason_width = max(60, total - sum(widths) - 2 * 5)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    out.write(fmt.format(*header) + "\n")
    for row in rows:
        reason = row[5] if len(row[5]) <= reason_width else row[5][: reason_width - 1] + "…"
        out.write(fmt.format(*row[:5], reason) + "\n")


def line(outcome: Outcome) -> str:
    """One outcome as it happens, for a person watching."""
    where = short_resource(outcome.resource_id) or outcome.input.rsplit("/", 1)[-1]
    what = outcome.name or outcome.kind or "input"
    doing = f" -> {outcome.action}" if outcome.action != "none" else ""
    return f"{outcome.status.upper():<18} {where:<18} {what}{doing}: {outcome.reason}"


def summary_text(totals: dict) -> str:
    statuses = ", ".join(f"{count} {status}" for status, count in sorted(totals["statuses"].items()))
    actions = ", ".join(f"{count} {action}" for action, count in sorted(totals["actions"].items())) or "none"
    lines = [f"signals: {totals['signals']}   outcomes: {statuses}", f"actions taken: {actions}"]
    if "arm_reads" in totals:
        lines.append(f"ARM reads: {totals['arm_reads']}   ARM writes: {totals['arm_writes']}")
    if "notifications" in totals:
        lines.append("messages sent: " + ", ".join(f"{count} {channel}" for channel, count in totals["notifications"].items()))
    return "\n".join(lines)
