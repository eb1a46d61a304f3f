"""`python -m responder sweep`: one sweep of the scope through the pipeline, from a shell.

With `--azure sim` the simulated Azure is started in-process with a fleet file (the demo fleet
by default); with `--azure live` the sweep reads Azure through DefaultAzureCredential. The
scope is RESPONDER_SUBSCRIPTIONS (or `--subscription`) and the resource-group settings; with
the simulated Azure and no subscription named, the fleet's first subscription.

Exit status: 0 when every read succeeded and every finding was decided, 3 when some read
failed (the report names it; the rest of the scope was swept), 1 when nothing could be swept.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO, cast

from rules import MODES

from .notices import add_outbox_argument

if TYPE_CHECKING:
    from pipeline.azure import Connect

PARTIAL = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--azure", choices=("sim", "live"), help="the simulated Azure (default) or the live one")
    parser.add_argument("--fleet", metavar="FILE", help="fleet file for --azure sim (default: the demo fleet)")
    parser.add_argument("--subscription", action="append", metavar="ID", help="subscription to sweep (repeatable; default: RESPONDER_SUBSCRIPTIONS)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per finding, then a last line {\"sweep\": summary}")
    parser.add_argument("--mode", choices=MODES, help="override every policy rule's mode")
    parser.add_argument("--state", metavar="PATH", help="the ledger: a SQLite file, sqlite:PATH or table (default: RESPONDER_LEDGER, else a temporary one); "
                        "a second sweep against it sees duplicates")
    add_outbox_argument(parser)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from ledger import LedgerError
    from pipeline import Settings, SettingsError
    from responder.azure_session import azure_session
    from responder.ledger_choice import Need, command_settings
    from responder.notices import build_told_pipeline, tell
    from rules import RulesError
    from sweep import ProgressBar, Scope, ScopeError, Sweeper, sweep_into
    from sweep.summary import outcome_line, summary_text

    try:
        settings = command_settings(args.state, "sweep", Need.SCRATCH, args.mode, Settings.from_env(), err)
        kind = args.azure or (settings.azure if settings.azure in ("sim", "live") else "sim")
        if args.fleet and kind != "sim":
            raise SettingsError("--fleet is for --azure sim")
        with azure_session(kind, replace(settings, azure=kind), args.fleet) as session:
            scope = Scope.from_settings(settings, tuple(args.subscription or ()) or _default_subscriptions(settings, session))
            pipeline = build_told_pipeline(session.scoped(settings), session.connect, args.outbox)
            bar = ProgressBar.for_stream(err)
            page_size = session.sim.page_size if session.sim is not None else None
            connect = cast("Connect", session.connect)  # sim or live: a session of either has a connector
            sweeper = Sweeper(connect, scope, pipeline.clock, page_size=page_size, progress=bar)

            def show(outcome) -> None:
                if args.json:
                    out.write(json.dumps(outcome.to_dict(), ensure_ascii=False) + "\n")
                elif outcome.status != "duplicate":
                    out.write(outcome_line(outcome) + "\n")

            try:
                report = sweep_into(pipeline, sweeper, on_outcome=show, keep_outcomes=False)
            finally:
                if bar is not None:
                    bar.done()
            told = tell(pipeline)  # what the sweep found goes to people, as the timer's sweep does
            arm = session.arm_counts() if session.sim is not None else None
    except (SettingsError, RulesError, ScopeError, LedgerError) as exc:
        err.write(f"error: {exc}\n")
        return 1
    summary = {**report.to_dict(), "scope": {"subscriptions": list(scope.subscriptions),
               "resource_groups_include": list(scope.resource_groups_include),
               "resource_groups_exclude": list(scope.resource_groups_exclude)}}  # fmt: skip
    if arm is not None:
        summary["simulated_azure"] = arm
    summary["notifications"] = told
    if args.json:
        out.write(json.dumps({"sweep": summary}, ensure_ascii=False) + "\n")
    else:
        out.write(summary_text(summary) + "\n")
        for line in told:
            err.write(f"notification: {line}\n")
    return 0 if report.complete else PARTIAL


def _default_subscriptions(settings, session) -> tuple[str, ...]:
    if settings.subscriptions:
        return tuple(settings.subscriptions)
    if settings.default_subscription:
        return (settings.default_subscription,)
    if session.sim is not None and session.sim.fleet.subscriptions:
        # The fleet file's first subscription is its home one (the demo's "in scope" subscription).
        return (next(iter(session.sim.fleet.subscriptions.values()))["subscriptionId"],)
    return ()
