"""`python -m responder sim --fleet FILE [--port N] [--operation-delay S]`: serve the simulated Azure."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

DEMO_FLEET = Path(__file__).resolve().parent.parent / "responder" / "demo" / "fleet.json"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m responder sim",
        description="Serve the simulated Azure (ARM Compute and Resource Health) over HTTPS on loopback.",
    )
    p.add_argument("--fleet", default=str(DEMO_FLEET), metavar="FILE", help="fleet file (default: the demo fleet)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default: 127.0.0.1)")
    p.add_argument(
        "--operation-delay", type=float, default=2.0, metavar="S", help="seconds an operation runs (default: 2)"
    )
    p.add_argument("--retry-after", type=int, default=1, metavar="S", help="Retry-After on 202s and polls (default: 1)")
    p.add_argument("--page-size", type=int, default=1000, metavar="N", help="items per list page (default: 1000)")
    p.add_argument("--log", action="store_true", help="print each request as it is answered")
    p.add_argument("--notifications", action="store_true",
                   help="also serve a Teams Workflows webhook and a Graph mailbox (sendMail, Sent Items)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from . import SimulatedAzure
    from .fleet import FleetError

    if not args.host.startswith("127.") and args.host not in ("::1", "localhost"):
        print("error: the simulated Azure only listens on loopback", file=sys.stderr)
        return 2
    try:
        sim = SimulatedAzure(
            fleet=args.fleet,
            operation_delay=args.operation_delay,
            port=args.port,
            host=args.host,
            page_size=args.page_size,
            retry_after=args.retry_after,
        )
    except (OSError, FleetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    # Ctrl-C and SIGTERM both stop it: set here, since a shell that starts the simulator in the
    # background hands it SIGINT ignored, and Python then never raises KeyboardInterrupt.
    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, lambda *_: stop.set())
    with sim:
        print(f"simulated Azure: {sim.base_url}", flush=True)
        print(f"CA bundle:       {sim.ca_bundle}", flush=True)
        if args.notifications:
            from . import graph, teams

            webhook = teams.install(sim).url("ops")
            graph.install(sim)
            print(f"Teams webhook:   {webhook}", flush=True)
            print(f"Graph:           {sim.base_url}/v1.0", flush=True)
        print(f"fleet:           {os.path.abspath(args.fleet)} ({len(sim.fleet.vms)} VMs, {len(sim.fleet.scale_sets)} scale sets)")
        print("Ctrl-C to stop.", flush=True)
        seen = 0
        while not stop.wait(0.2):
            if args.log:
                seen = print_requests(sim.requests, seen)
        print(f"stopped; counters {sim.counters}", flush=True)
    return 0


def print_requests(requests: list, seen: int, out=None) -> int:
    """Print the requests logged since `seen`; how many are printed now. Counted from what was
    printed, not from the log's length after: one logged while printing comes next round."""
    fresh = requests[seen:]
    for r in fresh:
        print(f"{r.status or 'drop'} {r.method} {r.path} {r.fault or ''}".rstrip(), file=out or sys.stdout, flush=True)
    return seen + len(fresh)
