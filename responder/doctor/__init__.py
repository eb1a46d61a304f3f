"""`python -m responder doctor`: a read-only check of a deployment, each check PASS or FAIL with the fix.

    azd up
    python -m responder doctor --env-file .azure/<environment>/.env
    python -m responder doctor --azure sim          # against the simulated Azure's deployment

It reads, never writes: the app settings and their Key Vault references, the ledger, the
identity's role assignments in each monitored subscription against what the actions declare,
the Event Grid system topics and subscriptions, the action group and its alerts, the Graph
permissions behind email, and the Teams routes. `--references --wait N` is the post-provision
hook's part: it waits until the Key Vault references resolve, or names those that did not.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from .checks import FAIL, Check, Context, run_all, wait_for_references
from .target import Target, TargetError, read_env_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--azure", choices=("live", "sim"), default="live",
                        help="live: the deployment azd's environment names (default); sim: a healthy simulated one")
    parser.add_argument("--env-file", metavar="PATH", help="azd's environment values (azd env get-values > PATH); default: this process's environment")
    parser.add_argument("--references", action="store_true", help="only check that the Key Vault references resolved")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="with --references: keep reading until they resolve, up to SECONDS")


def report(checks: list[Check], out: TextIO) -> int:
    for check in checks:
        print(f"{check.status}  {check.name}: {check.detail}", file=out)
        if check.fix and check.status != "PASS":
            print(f"      fix: {check.fix}", file=out)
    failed = sum(1 for c in checks if c.status == FAIL)
    print(f"{len(checks)} checks, {failed} failed", file=out)
    return 1 if failed else 0


def check(ctx: Context, references_only: bool = False, wait: float = 0.0) -> list[Check]:
    if references_only:
        return [wait_for_references(ctx, wait)]
    return run_all(ctx)


def live_context(env: dict[str, str]) -> Context:
    from azure.identity import DefaultAzureCredential

    from .reads import Reader

    # Doctor runs as a person or a pipeline (azd's or the Azure CLI's login), not as the app: no
    # managed identity probe (it would only add a timeout on a laptop).
    credential = DefaultAzureCredential(exclude_managed_identity_credential=True)
    return Context(Target.from_env(env), Reader(credential), credential=credential)


def run(args: Any, out: TextIO = sys.stdout) -> int:
    try:
        if args.azure == "sim":
            from .simulated import simulated_context

            with simulated_context() as ctx:
                return report(check(ctx, args.references, args.wait), out)
        env = dict(os.environ)
        if args.env_file:
            env.update(read_env_file(args.env_file))
        ctx = live_context(env)
        try:
            return report(check(ctx, args.references, args.wait), out)
        finally:
            ctx.reader.close()
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
