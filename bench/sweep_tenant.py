"""The timer's sweep of a large tenant: 1,000 subscriptions of 100 VMs in the simulated Azure,
through Resource Graph, run after run from the cursor in the ledger, until a cycle is done.

    .venv/bin/python -m bench.sweep_tenant [--subscriptions 1000] [--vms 100] [--batch 100]
                                           [--budget 420] [--json] [--arm]

Each subscription's VMs: one Degraded, one Unavailable, one with a self-service window open
(3%); one subscription in a hundred also has a scale set of 10 instances with automatic repairs
enabled. Each run is one timer invocation (`sweep.sweep_run`'s sweep through the pipeline, observe
mode, a SQLite ledger on disk), with the time budget given (default 7 minutes, of the 10-minute
function timeout). Reported per run and for the cycle: Resource Graph queries (pages), ARM reads,
waits for the caller's quota, findings, and wall time against the budget and the timeout.

The simulated Azure answers in microseconds where Azure takes a fraction of a second, so an
estimate at Azure's latencies is added (LATENCY: seconds per Resource Graph page and per ARM
GET, from Azure's published guidance being "under a second" for a page and ~100 ms for a GET;
an assumption, stated as such). `--arm` also runs the ARM list sweep of the whole tenant once,
for its call count (the issue's 25-80 minutes came from those calls).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

TIMEOUT = 600.0  # host.json functionTimeout
LATENCY = {"graph": 1.0, "arm": 0.1}  # assumed seconds per Resource Graph page and per ARM GET in Azure
SCHEDULE_MINUTES = 15  # RESPONDER_SWEEP_SCHEDULE's default


def subscription(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def build_fleet(subscriptions: int, vms: int):
    from simulator import Fleet

    fleet = Fleet()
    for n in range(subscriptions):
        sub = subscription(n)
        fleet.add_subscription(sub)
        fleet.add_generated(vms, subscriptionId=sub, resourceGroup="rg-tenant", prefix=f"vm-{n:04d}-",
                            degraded=1, unavailable=1, maintenance=1, seed=n)  # fmt: skip
        if n % 100 == 0:
            fleet.add_scale_set_spec({"name": f"ss-{n:04d}", "subscriptionId": sub, "resourceGroup": "rg-tenant",
                                      "capacity": 10, "automaticRepairsPolicy": {"enabled": True}})  # fmt: skip
    return fleet


def run_cycle(subscriptions: int, vms: int, batch: int, budget: float, workdir: Path, max_runs: int = 50) -> dict:
    from actions import AzureClients
    from ledger import SqliteLedger
    from pipeline import Settings
    from pipeline.azure import LocalToken
    from pipeline.settings import SweepSettings
    from simulator import SimulatedAzure
    from sweep import sweep_run
    from wiring import build_pipeline

    built = time.perf_counter()
    fleet = build_fleet(subscriptions, vms)
    build_seconds = time.perf_counter() - built
    scope = tuple(subscription(n) for n in range(subscriptions))
    credential = LocalToken()
    runs = []
    with SimulatedAzure(fleet=fleet) as sim:
        connect = lambda sub: AzureClients.build(sub, base_url=sim.base_url, connection_verify=sim.ca_bundle, credential=credential)  # noqa: E731
        ledger = SqliteLedger(workdir / f"tenant-{subscriptions}.sqlite")
        settings = Settings(mode="observe", subscriptions=scope)
        for _ in range(max_runs):
            pipeline = build_pipeline(settings, ledger=ledger)  # a new invocation, the same ledger
            before = dict(sim.counters)
            began = time.perf_counter()
            report = sweep_run(pipeline, settings, connect, sweep=SweepSettings(budget_seconds=budget, batch_size=batch))
            wall = time.perf_counter() - began
            stats, run = report.stats, report.run
            queries = sum(n for api, n in stats.reads.items() if api.startswith("graph-"))
            arm = stats.arm_reads - queries
            runs.append({
                "run": len(runs) + 1, "cycle": run.cycle, "batches": run.batches, "subscriptions": len(run.swept),
                "remaining": run.remaining, "cycle_complete": run.cycle_complete, "stopped_by_budget": run.stopped_by_budget,
                "graph_pages": queries, "arm_reads": arm, "server_reads": sim.counters["reads"] - before.get("reads", 0),
                "throttle_waits": stats.throttle_waits, "throttle_seconds": round(stats.throttle_seconds, 1),
                "throttled": stats.throttled, "findings": sum(stats.findings.values()), "machines": stats.machines,
                "wall_seconds": round(wall, 1),
                "azure_estimate_seconds": round(queries * LATENCY["graph"] + arm * LATENCY["arm"] + stats.throttle_seconds, 1),
                "problems": stats.problem_count + len(report.failures),
            })  # fmt: skip
            if run.cycle_complete:
                break
        ledger.close()
    total = {key: sum(r[key] for r in runs) for key in ("graph_pages", "arm_reads", "server_reads", "throttle_waits",
                                                         "throttle_seconds", "findings", "subscriptions", "machines")}  # fmt: skip
    return {
        "subscriptions": subscriptions, "vms_per_subscription": vms, "batch": batch, "budget_seconds": budget,
        "fleet_build_seconds": round(build_seconds, 1), "runs": runs, "cycle_runs": len(runs),
        "cycle_complete": bool(runs and runs[-1]["cycle_complete"]),
        "longest_run_seconds": max(r["wall_seconds"] for r in runs),
        "longest_run_azure_estimate_seconds": max(r["azure_estimate_seconds"] for r in runs),
        "cycle_minutes_at_schedule": len(runs) * SCHEDULE_MINUTES,
        **{f"cycle_{k}": round(v, 1) if isinstance(v, float) else v for k, v in total.items()},
        "problems": sum(r["problems"] for r in runs),
    }  # fmt: skip


def arm_calls(subscriptions: int, vms: int, workdir: Path) -> dict:
    """The ARM list sweep of the whole tenant, once: its reads and wall time."""
    from actions import AzureClients
    from pipeline.azure import LocalToken
    from simulator import SimulatedAzure
    from sweep import Scope, Sweeper

    credential = LocalToken()
    with SimulatedAzure(fleet=build_fleet(subscriptions, vms)) as sim:
        connect = lambda sub: AzureClients.build(sub, base_url=sim.base_url, connection_verify=sim.ca_bundle, credential=credential)  # noqa: E731
        sweeper = Sweeper(connect, Scope(tuple(subscription(n) for n in range(subscriptions))))
        began = time.perf_counter()
        findings = sum(1 for _ in sweeper.signals())
        wall = time.perf_counter() - began
    return {"arm_reads": sweeper.stats.arm_reads, "wall_seconds": round(wall, 1), "findings": findings,
            "azure_estimate_seconds": round(sweeper.stats.arm_reads * LATENCY["arm"], 1)}  # fmt: skip


def text(result: dict, arm: dict | None) -> str:
    lines = [
        f"Sweep of {result['subscriptions']:,} subscriptions x {result['vms_per_subscription']} VMs through Resource Graph,"
        f" batches of {result['batch']}, budget {result['budget_seconds']:.0f} s of a {TIMEOUT:.0f} s timeout",
        "",
        f"{'run':>3} {'cycle':>5} {'batches':>7} {'subs':>5} {'left':>5} {'graph pages':>11} {'ARM reads':>9}"
        f" {'quota waits (s)':>15} {'findings':>8} {'wall s':>7} {'at Azure latency s':>18}",
    ]
    for r in result["runs"]:
        lines.append(f"{r['run']:>3} {r['cycle']:>5} {r['batches']:>7} {r['subscriptions']:>5} {r['remaining']:>5} {r['graph_pages']:>11}"
                     f" {r['arm_reads']:>9} {r['throttle_waits']:>5} ({r['throttle_seconds']:>6.1f}) {r['findings']:>8}"
                     f" {r['wall_seconds']:>7.1f} {r['azure_estimate_seconds']:>18.1f}")  # fmt: skip
    lines += [
        "",
        f"cycle: {result['cycle_runs']} run(s) = {result['cycle_minutes_at_schedule']} minutes at a {SCHEDULE_MINUTES}-minute schedule;"
        f" {result['cycle_graph_pages']} Resource Graph pages, {result['cycle_arm_reads']} ARM reads for {result['cycle_machines']:,} machines;"
        f" longest run {result['longest_run_seconds']:.1f} s here, about {result['longest_run_azure_estimate_seconds']:.0f} s at Azure's"
        f" latencies ({'within' if result['longest_run_azure_estimate_seconds'] < TIMEOUT else 'BEYOND'} the {TIMEOUT:.0f} s timeout)",
    ]  # fmt: skip
    if arm:
        lines.append(f"ARM list sweep of the same tenant, once: {arm['arm_reads']} reads, {arm['wall_seconds']:.1f} s here,"
                     f" about {arm['azure_estimate_seconds']:.0f} s at {LATENCY['arm'] * 1000:.0f} ms a read")  # fmt: skip
    return "\n".join(lines)


def figure(subscriptions: int, vms: int = 100, batch: int = 100, budget: float = 420.0):
    """The cycle as one row of the benchmark table (bench/__main__.py)."""
    from .report import Figure

    with tempfile.TemporaryDirectory(prefix="bench-tenant-") as workdir:
        r = run_cycle(subscriptions, vms, batch, budget, Path(workdir))
    estimate = r["longest_run_azure_estimate_seconds"]
    return Figure(
        name=f"4 sweep cycle {subscriptions:,} subscriptions",
        value=f"{r['cycle_runs']} run(s), {r['cycle_graph_pages']} graph pages + {r['cycle_arm_reads']} ARM reads",
        baseline=f"ARM lists: {3 * subscriptions:,}+ reads",
        ratio=f"{(r['cycle_graph_pages'] + r['cycle_arm_reads']) / (3 * subscriptions):.2f}x",
        target=f"longest run < {budget:.0f} s budget at Azure latency",
        met=r["cycle_complete"] and estimate <= budget,
        notes=[f"{r['cycle_machines']:,} machines, {r['cycle_findings']:,} findings; longest run {r['longest_run_seconds']:.1f} s here,"
               f" ~{estimate:.0f} s at Azure latency; {r['cycle_throttle_waits']} quota waits ({r['cycle_throttle_seconds']:.1f} s)"],
        broken=bool(r["problems"]) or not r["cycle_complete"],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep_tenant", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--vms", type=int, default=100, help="VMs per subscription")
    parser.add_argument("--batch", type=int, default=100, help="subscriptions per Resource Graph query")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds a run may sweep (RESPONDER_SWEEP_BUDGET)")
    parser.add_argument("--arm", action="store_true", help="also run the ARM list sweep of the tenant once")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sweep-tenant-") as workdir:
        result = run_cycle(args.subscriptions, args.vms, args.batch, args.budget, Path(workdir))
        arm = arm_calls(args.subscriptions, args.vms, Path(workdir)) if args.arm else None
    if args.json:
        print(json.dumps({**result, **({"arm": arm} if arm else {})}))
    else:
        print(text(result, arm))
    return 1 if result["problems"] or not result["cycle_complete"] else 0


if __name__ == "__main__":
    sys.exit(main())
