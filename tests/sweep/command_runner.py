"""`python -m tests.sweep.command_runner sweep|audit ARGS...`: the two commands run exactly as
responder/cli.py runs them (a sub-parser filled by `add_arguments`, then `run(args, out)`), for
the subprocess tests while the commands are not yet on `python -m responder`."""

from __future__ import annotations

import argparse
import sys

from responder import audit_command, sweep_command


def main(argv: list[str]) -> int:
    root = argparse.ArgumentParser(prog="python -m responder")
    commands = root.add_subparsers(dest="command", required=True)
    sweep_command.add_arguments(commands.add_parser("sweep"))
    audit_command.add_arguments(commands.add_parser("audit"))
    args = root.parse_args(argv)
    return (sweep_command if args.command == "sweep" else audit_command).run(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
