"""How a sweep is shown to a person: a line per new decision, then the summary tables."""

from __future__ import annotations

from typing import Any

from arm import short_name


def outcome_line(outcome: Any) -> str:
    """One decision as it is made: status, resource, finding, action, reason."""
    where = short_name(outcome.resource_id)
    doing = f" -> {outcome.action}" if outcome.action != "none" else ""
    return f"{outcome.status.upper():<18} {where:<18} {outcome.name}{doing}: {outcome.reason}"


def _table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> list[str]:
    if not rows:
        return [f"{title}: none"]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {:>" + str(widths[-1]) + "}"
    return [title, "  " + fmt.format(*header), *("  " + fmt.format(*row) for row in rows)]


def summary_text(summary: dict) -> str:
    findings = sorted(summary["findings"].items(), key=lambda kv: (-kv[1], kv[0]))
    decisions = summary["decisions"]
    reads = sorted(summary["reads"].items())
    lines = [""]
    lines += _table("Findings", [(name, str(n)) for name, n in findings], ("NAME", "COUNT"))
    lines += [""] + _table("Decisions", [(d["action"], d["status"], str(d["count"])) for d in decisions], ("ACTION", "STATUS", "COUNT"))
    lines += [""] + _table("ARM reads", [(api, str(n)) for api, n in reads], ("READ", "COUNT"))
    budget = f" (cost model at this page size: {summary['budget']})" if summary.get("budget") else ""
    lines.append(
        f"  {summary['arm_reads']} reads{budget} for {summary['machines']} machines"
        f" ({summary['resources'].get('vm', 0)} VMs, {summary['resources'].get('scale-set', 0)} scale sets,"
        f" {summary['resources'].get('scale-set-vm', 0)} scale-set VMs): {summary['reads_per_machine']:.4f} reads per machine;"
        f" largest page {summary['largest_page']} items; {summary['seconds']:.1f} s"
    )
    if summary.get("simulated_azure"):
        sim = summary["simulated_azure"]
        lines.append(f"  simulated Azure counted {sim['arm_reads']} reads and {sim['arm_writes']} writes in all (the pipeline's verifies included)")
    if summary.get("skipped"):
        lines.append("  not findings: " + ", ".join(f"{n} {why}" for why, n in sorted(summary["skipped"].items())))
    if summary["problem_count"] or summary["failures"]:
        lines += ["", f"Incomplete sweep: {summary['problem_count']} failed read(s), {len(summary['failures'])} finding(s) not decided"]
        lines += [f"  {p}" for p in summary["problems"] + summary["failures"]]
    return "\n".join(lines)
