"""The command line: the same pipeline as the Functions triggers, run from a shell."""

from __future__ import annotations

import argparse
import logging
import sys

from pipeline import Settings, SettingsError
from rules import MODES, RulesError


def ledger_help(temporary: bool = False) -> str:
    """--state's help, the same for every command (responder/ledger_choice.py decides)."""
    default = "RESPONDER_LEDGER, else a temporary one" if temporary else "RESPONDER_LEDGER"
    return f"the ledger: a SQLite file, sqlite:PATH or table (default: {default})"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m responder", description="Resource Health Responder")
    commands = root.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("replay", help="run delivery files through the pipeline")
    replay.add_argument("files", nargs="*", metavar="FILE", help="a delivery body: Event Grid event(s) or an alert payload")
    replay.add_argument("--deadletter", metavar="CONTAINER",
                        help="also replay Event Grid's dead letters from this container: https://ACCOUNT.blob.core.windows.net/CONTAINER "
                             "or ACCOUNT/CONTAINER (DefaultAzureCredential), or CONTAINER with RESPONDER_DEADLETTER_CONNECTION_STRING")
    replay.add_argument("--deadletter-prefix", metavar="PREFIX", default="",
                        help="only the dead-letter blobs whose names start so (e.g. one day: RESOURCE-HEALTH-RESPONDER/2026/12/4/)")
    replay.add_argument("--json", action="store_true", help="one JSON object per line per signal")
    replay.add_argument("--mode", choices=MODES, help="override every policy rule's mode")
    replay.add_argument("--state", metavar="PATH", help=ledger_help(temporary=True))
    replay.add_argument("--azure", choices=("none", "sim", "live"), default="none", help="verify and act against this Azure")
    replay.add_argument("--fleet", metavar="FILE", help="fleet file for --azure sim (default: the demo fleet)")
    from .notices import add_outbox_argument

    add_outbox_argument(replay)

    tick = commands.add_parser("tick", help="follow started operations to their end")
    tick.add_argument("--azure", choices=("sim", "live"), default="live")
    tick.add_argument("--fleet", metavar="FILE", help="fleet file for --azure sim")
    tick.add_argument("--state", metavar="PATH", help=ledger_help())
    tick.add_argument("--json", action="store_true")

    demo = commands.add_parser("demo", help="the bundled scenario, end to end")
    demo.add_argument("--json", action="store_true", help="JSON lines and a last summary line")
    demo.add_argument("--mode", choices=MODES, default="auto", help="mode for every rule (default: auto)")
    demo.add_argument("--state", metavar="PATH", help="SQLite ledger file to keep")
    demo.add_argument("--outbox", metavar="DIR", default="outbox", help="folder for a copy of each card and email (default: ./outbox)")

    from responder import audit_command, sweep_command

    sweep_command.add_arguments(commands.add_parser("sweep", help="sweep the scope through ARM list APIs into the pipeline"))
    audit_command.add_arguments(commands.add_parser("audit", help="what happened to each resource, and why, from the ledger"))
    from responder import whatif

    whatif.add_arguments(commands.add_parser("whatif", help="re-decide the ledger's history under another policy: what would change"))

    for name, what in (("pause", "stop all automation (signals are still recorded and told)"), ("resume", "let automation act again")):
        switch = commands.add_parser(name, help=what)
        switch.add_argument("--state", metavar="PATH", help=ledger_help())
        switch.add_argument("--by", default=None, help="who is asking (default: the login name)")

    from . import waves_command

    waves_command.add_arguments(commands.add_parser("waves", help="list maintenance waves; `waves close ID` closes a stopped one"))

    from .approve_command import add_arguments as approval_arguments

    for name, what in (("approve", "approve a pending approval: verify the live state again, then act"),
                       ("reject", "reject a pending approval"), ("approvals", "list pending approvals with their expiry")):
        approval_arguments(commands.add_parser(name, help=what), name)

    from responder import doctor

    doctor.add_arguments(commands.add_parser("doctor", help="check a deployment, read-only: each check PASS or FAIL with the fix"))

    sim = commands.add_parser("sim", help="serve the simulated Azure", add_help=False)
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    root.add_argument("-v", "--verbose", action="store_true", help="log every decision to stderr")
    return root


def _replay(args: argparse.Namespace) -> int:
    from .deadletters import DeadLetterError, DeadLetterSource
    from .ledger_choice import Need, command_settings
    from .replay import replay

    if not args.files and not args.deadletter:
        print("error: replay needs FILE... or --deadletter CONTAINER", file=sys.stderr)
        return 2
    try:
        deadletter = None
        if args.deadletter:
            connection_string = Settings.from_env().deadletter_connection_string
            deadletter = DeadLetterSource.parse(args.deadletter, args.deadletter_prefix, connection_string)
        settings = command_settings(args.state, "replay", Need.SCRATCH, args.mode)
        return replay(args.files, settings, args.json, azure=args.azure, fleet=args.fleet, outbox=args.outbox, deadletter=deadletter)
    except DeadLetterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        from simulator.cli import main as sim_main

        return sim_main(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        if args.command == "replay":
            return _replay(args)
        if args.command == "tick":
            from .ledger_choice import Need, command_settings
            from .replay import tick

            return tick(command_settings(args.state, "tick", Need.EXISTING), args.json, azure=args.azure, fleet=args.fleet)
        if args.command == "sweep":
            from responder import sweep_command

            return sweep_command.run(args, sys.stdout)
        if args.command == "audit":
            from responder import audit_command

            return audit_command.run(args, sys.stdout)
        if args.command == "whatif":
            from responder import whatif

            return whatif.run(args, sys.stdout)
        if args.command in ("pause", "resume"):
            from .switches import switch

            return switch(args.command, args.state, args.by)
        if args.command == "waves":
            from . import waves_command

            return waves_command.run(args)
        if args.command in ("approve", "reject", "approvals"):
            from .approve_command import run as approvals_run

            return approvals_run(args)
        if args.command == "doctor":
            from responder import doctor

            return doctor.run(args, sys.stdout)
        if args.command == "demo":
            from .demo import run

            return run(args.mode, args.json, args.state, outbox=args.outbox)
    except (SettingsError, RulesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1
