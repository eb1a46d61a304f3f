"""`python -m responder waves`: the maintenance waves, and `waves close ID` for a stopped one.

    python -m responder waves [--all] [--json] [--state PATH]
    python -m responder waves close WAVE-ID [--by NAME] [--state PATH]
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC
from typing import TextIO


def add_arguments(parser) -> None:
    parser.add_argument("verb", nargs="?", choices=("list", "close"), default="list", help="list (default) or close")
    parser.add_argument("wave_id", nargs="?", metavar="WAVE-ID", help="the wave to close")
    parser.add_argument("--all", action="store_true", help="also finished and closed waves")
    parser.add_argument("--json", action="store_true", help="one JSON object per wave")
    parser.add_argument("--by", default=None, help="who closes it (default: the login name)")
    parser.add_argument("--state", metavar="PATH", help="the ledger: a SQLite file, sqlite:PATH or table (default: RESPONDER_LEDGER)")


def run(args, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from ledger import open_ledger
    from waves import WavesError, close_wave, list_waves
    from waves.admin import describe_row

    from .ledger_choice import Need, command_settings

    settings = command_settings(args.state, "waves", Need.LASTING)
    store = open_ledger(settings.ledger, settings)
    try:
        if args.verb == "close":
            if not args.wave_id:
                err.write("error: waves close needs the WAVE-ID (see `python -m responder waves`)\n")
                return 2
            from datetime import datetime

            wave = close_wave(store, args.wave_id, args.by or getpass.getuser(), datetime.now(UTC))
            out.write((json.dumps(wave) if args.json else f"closed: {describe_row(wave)}") + "\n")
            return 0
        waves = list_waves(store, None if args.all else ("open", "stopped"))
        for wave in waves:
            out.write((json.dumps(wave) if args.json else describe_row(wave)) + "\n")
        if not waves and not args.json:
            out.write("no waves" + ("" if args.all else " open or stopped (--all for every wave)") + "\n")
        return 0
    except WavesError as exc:
        err.write(f"error: {exc}\n")
        return 1
    finally:
        store.close()
