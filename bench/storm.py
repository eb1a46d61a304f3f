"""The storm, and the remediation latency measured over it.

    .venv/bin/python -m bench.storm [--events 10000] [--vms 3000] [--quick] [--json]

10,000 annotation deliveries (five names the default policy has rules for) over VMs of three
subscriptions, 20% of them a second delivery of an earlier one, shuffled, one event per
delivery as the `event_grid` trigger receives them. Auto mode against the simulated Azure
(a generated fleet of degraded VMs, so verification finds the condition; operations finish at
once), the default brakes, and notifications wired as the demo wires them: the simulated Teams
webhook and Graph mailbox, digests on, the mailbox's rate limit lifted. The timer's `tick` runs
every few hundred deliveries, as the minute timer would during a storm. At the end the digests
are flushed as of their window's close, like the demo.

Figures: incidents, actions taken (decisions `started`), ARM writes (the simulated Azure's
`writes` counter), messages sent (Teams posts and mails received), wall time. Targets: ARM
writes equal actions taken; at most 30 writes per subscription (the hourly cap), 90 for three;
at most 30 messages.

Remediation latency: for each accepted ARM write, its start in the simulated Azure's request
log minus the moment the delivery that caused it was handed to the pipeline (deliveries go
through one at a time, so the cause is the last delivery handed over before the write started);
median and p99, against the simulated Azure's own answer time (the median duration of every
request it served in the run).
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from .payloads import STORM_GROUP, STORM_PREFIX, SUBSCRIPTIONS, annotation_storm
from .report import Figure, median, percentile, table

HOURLY_CAP = 30  # rules/policy.yaml brakes.hourly_writes_per_subscription
MESSAGES_TARGET = 30
LATENCY_TARGET = None  # no target: the figure is reported against the simulated Azure's answer time
TICK_EVERY = 250  # deliveries between two timer ticks
DEBUG = False


def build_fleet(vms_per_subscription: int):
    from simulator import Fleet

    fleet = Fleet()
    for n, sub in enumerate(SUBSCRIPTIONS):
        # Every VM degraded with an annotation: verification finds the condition still there.
        fleet.add_generated(vms=vms_per_subscription, prefix=STORM_PREFIX, subscriptionId=sub, resourceGroup=STORM_GROUP,
                            degraded=vms_per_subscription, seed=n)  # fmt: skip
    return fleet


def run(events: int, vms_per_subscription: int, workdir: Path) -> dict:
    from intake.deliveries import parse_delivery
    from notify.notifier import RateLimit
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from responder.azure_session import AzureSession
    from simulator import SimulatedAzure
    from wiring import build_pipeline, notifications_of, notifier_from_settings

    logging.disable(logging.CRITICAL)
    bodies = annotation_storm(events, vms_per_subscription)
    settings = Settings(mode="auto", azure="sim", ledger=f"sqlite:{workdir / 'storm.sqlite'}", subscriptions=tuple(SUBSCRIPTIONS))
    with SimulatedAzure(fleet=build_fleet(vms_per_subscription), operation_delay=0.0) as sim:
        session = AzureSession("sim", connector(settings, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=LocalToken()), sim)
        # Wired as the demo wires it: a first pipeline for its ledger and policy, the notifier
        # on the simulated Teams webhook and Graph mailbox, the mailbox's rate limit lifted.
        first = build_pipeline(settings, connect=session.connect, notifier=False)
        notifier = notifier_from_settings(settings.with_notify(session.plug_notifications()), first.engine.policy, first.ledger,
                                          first.clock, credential=LocalToken())
        notifier.rate_limits["email"] = RateLimit(20, 1.0)
        pipeline = build_pipeline(replace(settings), ledger=first.ledger, connect=session.connect, notifier=notifier)
        sim.reset_log()

        handed: list[float] = []  # wall-clock time each delivery was handed to the pipeline
        statuses: Counter = Counter()
        incidents: set[str] = set()
        ticks = 0
        began = time.perf_counter()
        for n, body in enumerate(bodies):
            handed.append(time.time())
            for outcome in pipeline.process(parse_delivery(body, f"storm-{n}")):
                statuses[outcome.status] += 1
                if outcome.incident_id:
                    incidents.add(outcome.incident_id)
            if (n + 1) % TICK_EVERY == 0:
                ended = pipeline.tick()
                ticks += 1
                statuses.update(f"tick:{o.status}" for o in ended)
        for _ in range(20):  # the closing ticks: follow what was started to its end
            statuses.update(f"tick:{o.status}" for o in pipeline.tick())
            if not pipeline.ledger.open_operations():
                break
            time.sleep(0.05)
        messages = notifications_of(pipeline)
        messages.drain(6.0)
        # As the demo does: flush as the clock will stand when the digest windows close, and a
        # window on, when what they folded into a tenant-wide digest (many scopes at once) is due.
        messages.flush_all()
        wall = time.perf_counter() - began

        requests = list(sim.requests)
        writes = [r for r in requests if r.counter == "writes"]
        accepted = [r for r in writes if r.status and 200 <= r.status < 300]
        per_subscription = Counter(r.path.split("/")[2].lower() for r in writes if r.path.startswith("/subscriptions/"))
        latencies, per_write = [], []
        for w in sorted(accepted, key=lambda r: r.time):
            i = bisect.bisect_right(handed, w.time) - 1
            if i >= 0:
                latencies.append(w.time - handed[i])
                # the reads the app made for it, between the handover and the write
                reads = [r for r in requests if r.counter == "reads" and handed[i] <= r.time < w.time]
                per_write.append({"ms": round((w.time - handed[i]) * 1000, 1), "path": w.path, "delivery": i, "reads": len(reads)})
        arm = [r.duration for r in requests if r.counter in ("reads", "writes", "polls")]
        received = session.notifications_received()
        kinds = message_kinds(notifier.store)
        if DEBUG:  # every message line, to see which notices went out on their own
            print("\n".join(messages.lines), file=sys.stderr)
        pipeline.ledger.close()
    return {
        "events": events,
        "vms": vms_per_subscription * len(SUBSCRIPTIONS),
        "incidents": len(incidents),
        "actions": statuses.get("started", 0),
        "arm_writes": sim.counters.get("writes", 0),
        "accepted_writes": len(accepted),
        "writes_per_subscription": dict(per_subscription),
        "arm_reads": sim.counters.get("reads", 0),
        "messages": received["teams"] + received["email"],
        "teams": received["teams"],
        "message_kinds": kinds,
        "email": received["email"],
        "wall_seconds": wall,
        "ticks": ticks,
        "statuses": dict(statuses.most_common()),
        "latency_median_ms": median(latencies) * 1000,
        "latency_p99_ms": percentile(latencies, 0.99) * 1000,
        "latency_samples": len(latencies),
        "latencies_ms": sorted(round(v * 1000, 1) for v in latencies),
        "writes": per_write,  # in the order they started
        "sim_answer_median_ms": median(arm) * 1000,
        "sim_requests": len(arm),
    }


def message_kinds(store) -> dict[str, int]:
    """Messages sent, by what they told: a digest, or an incident message named by its latest
    notice's event (opened, started, succeeded, storm, ...), to see where a storm's messages go;
    and, per channel, how many incidents the sent messages cover of all those queued for it, and
    how many messages were still unsent at the end (nothing may be lost)."""
    from notify.notice import Notice
    from notify.outbox import DIGEST, SENT

    kinds: Counter = Counter()
    covered: dict[str, set] = {}
    queued: dict[str, set] = {}
    for message in store.messages(None, limit=1_000_000):
        texts = store.notices(message.id)
        incidents = {Notice.from_json(t).incident_id for t in texts}
        queued.setdefault(message.channel, set()).update(incidents)
        if message.state != SENT:
            kinds[f"{message.channel}:unsent"] += 1
            continue
        covered.setdefault(message.channel, set()).update(incidents)
        event = "digest" if message.kind == DIGEST else Notice.from_json(texts[-1]).event if texts else "empty"
        kinds[f"{message.channel}:{event}"] += 1
    for channel, incidents in queued.items():
        kinds[f"{channel}:incidents covered"] = len(covered.get(channel, ()))
        kinds[f"{channel}:incidents queued"] = len(incidents)
    return dict(sorted(kinds.items()))


def figures(row: dict) -> list[Figure]:
    cap = HOURLY_CAP * len(SUBSCRIPTIONS)
    writes_ok = row["arm_writes"] == row["actions"] and row["arm_writes"] <= cap and all(
        v <= HOURLY_CAP for v in row["writes_per_subscription"].values())
    per_sub = ", ".join(f"{k[-4:]}: {v}" for k, v in sorted(row["writes_per_subscription"].items())) or "none"
    storm = Figure(
        name="3 storm: ARM writes",
        value=f"{row['arm_writes']} writes, {row['actions']} actions",
        baseline=f"cap {cap} ({HOURLY_CAP}/subscription)",
        ratio="-",
        target=f"writes == actions <= {cap}",
        met=writes_ok,
        notes=[f"{row['events']:,} deliveries over {row['vms']:,} VMs of {len(SUBSCRIPTIONS)} subscriptions: {row['incidents']:,} incidents,"
               f" {row['actions']} actions taken, {row['arm_writes']} ARM writes ({per_sub}), {row['arm_reads']:,} ARM reads,"
               f" {row['messages']} messages, wall {row['wall_seconds']:.1f} s ({row['events'] / row['wall_seconds']:,.0f} deliveries/s)",
               "outcomes: " + ", ".join(f"{k} {v:,}" for k, v in row["statuses"].items())],
        broken=row["actions"] == 0,
    )
    messages = Figure(
        name="3 storm: messages",
        value=f"{row['messages']} sent (Teams {row['teams']}, email {row['email']})",
        baseline=f"{row['incidents']:,} incidents",
        ratio="-",
        target=f"<= {MESSAGES_TARGET}",
        met=row["messages"] <= MESSAGES_TARGET,
        notes=["by kind: " + ", ".join(f"{k} {v}" for k, v in row["message_kinds"].items())],
    )
    ratio_median = row["latency_median_ms"] / row["sim_answer_median_ms"]
    latency = Figure(
        name="5 remediation latency",
        value=f"median {row['latency_median_ms']:.1f} ms, p99 {row['latency_p99_ms']:.1f} ms",
        baseline=f"sim answer {row['sim_answer_median_ms']:.2f} ms",
        ratio=f"{ratio_median:.1f}x / {row['latency_p99_ms'] / row['sim_answer_median_ms']:.1f}x",
        target="reported",
        met=None,
        notes=[f"{row['latency_samples']} accepted writes, event handed over -> ARM write started; "
               f"baseline: median duration of the simulated Azure's {row['sim_requests']:,} ARM requests in the storm"],
        broken=row["latency_samples"] == 0,
    )
    return [storm, messages, latency]


def measure(events: int = 10_000, vms_per_subscription: int = 3000) -> tuple[list[Figure], dict]:
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as workdir:
        row = run(events, vms_per_subscription, Path(workdir))
    return figures(row), row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--vms", type=int, default=3000, help="VMs per subscription in the generated fleet (default: 3000)")
    parser.add_argument("--quick", action="store_true", help="2,000 events over 1,000 VMs per subscription")
    parser.add_argument("--json", action="store_true", help="the raw figures as one JSON object")
    args = parser.parse_args(argv)
    found, row = measure(2_000, 1000) if args.quick else measure(args.events, args.vms)
    print(json.dumps(row) if args.json else table(found))
    return 1 if any(f.broken for f in found) else 0


if __name__ == "__main__":
    sys.exit(main())
