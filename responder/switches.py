"""`python -m responder pause` / `resume`: the switch for everything, kept in the ledger so
every worker sees it (RESPONDER_PAUSED=true does the same from the app settings)."""

from __future__ import annotations

import getpass
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO, cast

from wiring import build_pipeline

if TYPE_CHECKING:
    from pipeline.safety import Safety


def switch(command: str, state: str | None, by: str | None, out: TextIO = sys.stdout) -> int:
    from .ledger_choice import Need, command_settings

    settings = command_settings(state, command, Need.LASTING)
    pipeline = build_pipeline(replace(settings, azure="none"), notifier=False)
    who = by or getpass.getuser()
    safety = cast("Safety", pipeline.safety)  # build_pipeline gives every pipeline its safety
    if command == "pause":
        safety.pause(who)
        out.write(f"automation paused by {who}; signals are still recorded and told\n")
    else:
        safety.resume(who)
        paused = safety.paused()
        out.write(f"automation resumed by {who}" + (f"; still paused: {paused}" if paused else "") + "\n")
    return 0
