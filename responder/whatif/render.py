"""The what-if report as a person reads it: the decisions that change, per rule, then the totals."""

from __future__ import annotations

from collections import defaultdict

from arm import short_name

from .compare import Change, Report


def table(report: Report) -> str:
    lines = [f"{report.signals} signals re-decided; {len(report.changes)} decided differently"
             + (f" ({report.unknown} not replayable from what was recorded)" if report.unknown else "")]
    by_rule: dict[str, list[Change]] = defaultdict(list)
    for change in report.changes:
        by_rule[change.rule].append(change)
    for rule, changes in sorted(by_rule.items()):
        lines.append("")
        lines.append(f"rule {rule or '(none)'}: {len(changes)} changed")
        lines.append(f"  {'RECEIVED':<17} {'RESOURCE':<22} {'SIGNAL':<26} {'CHANGE':<16} {'RECORDED':<40} WOULD")
        for c in changes:
            after = c.after.text() + (f" [{', '.join(c.after.brakes)}]" if c.after.brakes else "")
            before = c.before.text() + (f" [{', '.join(c.before.brakes)}]" if c.before.brakes else "")
            lines.append(f"  {c.received:%Y-%m-%d %H:%M}  {short_name(c.resource_id)[:22]:<22} {c.signal[:26]:<26} "
                         f"{c.kind:<16} {before[:40]:<40} {after}")
            if c.kind == "unknown":
                lines.append(f"  {'':<17} {c.after.reason}")
    sections = (
        ("brakes (refusals)", [(brake, counts) for brake, counts in sorted(report.brakes.items())]),
        ("storms opened", [(scope, counts) for scope, counts in sorted(report.storms.items())]),
        (f"ARM writes per subscription and hour (cap {report.hourly_cap})",
         [(f"{subscription} {hour}", counts) for (subscription, hour), counts in sorted(report.writes.items())]),
        ("messages", [(event, counts) for event, counts in sorted(report.messages.items())]),
    )
    for title, rows in sections:
        changed = [(name, before, after) for name, (before, after) in rows if before != after]
        if not changed:
            continue
        lines.append("")
        lines.append(f"{title}: recorded -> would")
        lines += [f"  {name:<60} {before:>4} -> {after}" for name, before, after in changed]
    lines.append("")
    lines.append("nothing would act differently" if not report.acts_differently else "something would act differently (exit 3)")
    return "\n".join(lines) + "\n"
