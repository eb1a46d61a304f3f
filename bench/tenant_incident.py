"""Messages per route for a regional incident over a large tenant.

    .venv/bin/python -m bench.tenant_incident [--subscriptions 1000] [--vms 30] [--json]

A regional incident makes `vms` VMs of each of `subscriptions` subscriptions unhealthy within ten
minutes (30,000 VMs at the defaults), in deliveries of 50 events, one every second, interleaved
across subscriptions; the timer's tick flushes every minute, then every window closes. The
notices are the pipeline's, in observe mode: each scope's first ten VMs are decided one by one,
the eleventh trips the storm breaker in its scope (the default threshold), the rest are held by it.
Two routes, a Teams webhook and a mailbox, rate limits lifted (counted, not waited for); the
notifier and its SQLite outbox as the timer runs them.

Figures: messages per route with the tenant-wide digest (the default), against the same run with
it turned off (each scope's own digest and storm message, as before), and what the largest
tenant-wide digest says.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .report import Figure, table

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
PER_DELIVERY = 50
BRAKE = ("storm breaker: holding since 08:01Z (11 VMs turned unhealthy within 15 min)",)


class Recorded:
    """A channel that keeps what it was given: the bench counts messages, it does not post them."""

    resend_when_unsure = True

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        self.sent.append((target, payload))
        return "202"

    def confirm(self, target: str, payload: dict) -> bool | None:
        return False

    def close(self) -> None:
        pass


def notices(subscriptions: int, vms: int) -> list[Any]:
    from notify import Notice

    out = []
    for number in range(vms):
        for s in range(subscriptions):
            sub = f"{s:08d}-0000-4000-8000-0000000be4c0"
            rid = f"/subscriptions/{sub}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-{number:03d}"
            base = dict(incident_id=f"INC-{s:05d}{number:03d}", event="opened", resource_id=rid, signal_kind="annotation",
                        signal_name="VirtualMachinePossiblyDegradedDueToHardwareFailure",
                        meaning="The host of this VM may be failing; Azure plans to move it.", occurred=T0,
                        category="degraded-hardware", initiator="platform", impact="degraded", action="redeploy", mode="observe",
                        status="planned", reason="Observe mode: the redeploy the policy names is not done.",
                        location="westeurope", routes=("ops-teams", "ops-email"))
            if number == 10:
                base.update(event="storm", status="skipped", action="none", brakes=BRAKE,
                            reason="Automation paused: 11 VMs turned unhealthy within 15 min")
            elif number > 10:
                base.update(status="skipped", brakes=BRAKE, reason="Held by the storm breaker: automation is paused in this scope")
            out.append(Notice(**base))
    return out


def run(subscriptions: int, vms: int, tenant: bool) -> dict[str, Any]:
    from ledger.sqlite.outbox import SqliteOutbox
    from notify.digest import DigestPolicy
    from notify.notifier import Notifier
    from notify.routes import Router, parse_routes

    clock = {"now": T0}
    channels = {"teams": Recorded(), "email": Recorded()}
    digest = DigestPolicy() if tenant else replace(DigestPolicy(), tenant_scopes=10**9, tenant_storms=10**9)
    router = Router(parse_routes({}), webhooks={"ops": "https://teams.example/ops"}, mail_sender="responder@contoso.example",
                    mail_to=("ops@contoso.example",))
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteOutbox(str(Path(folder) / "ledger.sqlite"))
        notifier = Notifier(router=router, store=store, clock=lambda: clock["now"], channels=channels, digest=digest,
                            rate_limits={}, batch=100_000)
        made = notices(subscriptions, vms)
        began = time.perf_counter()
        for number, start in enumerate(range(0, len(made), PER_DELIVERY)):
            notifier.record_many(made[start:start + PER_DELIVERY])
            clock["now"] = T0 + timedelta(seconds=number + 1)
            if (number + 1) % 60 == 0:
                notifier.flush(clock["now"])
        for _ in range(6):
            clock["now"] += timedelta(minutes=5)
            notifier.flush(clock["now"])
        seconds = time.perf_counter() - began
        left = store.counts()
        store.close()
    teams = [json.dumps(p) for _, p in channels["teams"].sent]
    mails = [p["subject"] for _, p in channels["email"].sent]
    covers = [int(m.group(1)) for t in teams if (m := re.search(r"This digest covers (\d+) incidents", t))]
    largest = max((t for t in teams if "This digest covers" in t), key=lambda t: int(re.search(r"covers (\d+)", t).group(1)),
                  default="")
    headline = re.search(r'"text": "([\d,]+ resources in [^"]*)"', largest)
    return {
        "subscriptions": subscriptions, "vms": subscriptions * vms, "notices": len(made), "tenant": tenant,
        "teams": len(teams), "email": len(mails), "pending_after": left.get("pending", 0),
        "digest_covers": sum(covers), "kinds": dict(Counter("digest" if "This digest covers" in t else "other" for t in teams)),
        "largest_says": headline.group(1) if headline else "", "subjects": sorted(set(mails))[:3], "seconds": seconds,
    }


def figures(with_tenant: dict[str, Any], without: dict[str, Any]) -> list[Figure]:
    where = f"{with_tenant['subscriptions']:,} subscriptions, {with_tenant['vms']:,} VMs in ten minutes"
    most = max(with_tenant["teams"], with_tenant["email"])
    return [Figure(
        "outbox: messages per route, regional incident", f"Teams {with_tenant['teams']}, email {with_tenant['email']}",
        f"Teams {without['teams']:,}, email {without['email']:,} (per-scope digests only)",
        f"{without['teams'] / max(1, with_tenant['teams']):.0f}x fewer", "a handful per window", most <= 12 and with_tenant["pending_after"] == 0,
        notes=[where, f"the largest tenant digest: {with_tenant['largest_says']}",
               f"email subjects: {'; '.join(with_tenant['subjects'])}",
               f"wall {with_tenant['seconds']:.1f} s with, {without['seconds']:.1f} s without"],
    )]


def measure(subscriptions: int = 1000, vms: int = 30) -> list[Figure]:
    return figures(run(subscriptions, vms, True), run(subscriptions, vms, False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tenant_incident", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--vms", type=int, default=30, help="per subscription")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with_tenant, without = run(args.subscriptions, args.vms, True), run(args.subscriptions, args.vms, False)
    print(json.dumps([with_tenant, without], indent=2) if args.json else table(figures(with_tenant, without)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
