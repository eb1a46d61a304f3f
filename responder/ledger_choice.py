"""Which ledger a command opens, decided here for every command.

1. `--state`: a SQLite file (a path or `sqlite:PATH`), or `table` for Table Storage (where it is
   comes from the RESPONDER_TABLE_* settings, as for the app);
2. else RESPONDER_LEDGER, the app's own setting: the shared ledger the Functions app writes;
3. else a temporary SQLite file, for the commands that do useful work on an empty ledger
   (`replay`, `sweep`), and the command says so on stderr, so nobody believes the run went into
   the shared ledger. The commands that read or change what the app keeps (`audit`, `tick`,
   `approvals`, `approve`, `reject`, `pause`, `resume`, `waves`) refuse instead: on a ledger of
   their own they would find nothing and switch nothing.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TextIO

from pipeline import Settings, SettingsError

MEMORY = "sqlite::memory:"


class Need(Enum):
    SCRATCH = "scratch"  # a temporary ledger will do (said on stderr)
    LASTING = "lasting"  # a ledger that outlives the command: --state or RESPONDER_LEDGER
    EXISTING = "existing"  # a lasting ledger that already holds something (a SQLite file must exist)


@dataclass(frozen=True)
class LedgerChoice:
    ledger: str  # what ledger.open_ledger takes: sqlite:PATH, sqlite::memory: or table
    origin: str  # "--state", "RESPONDER_LEDGER" or "temporary"

    @property
    def kept(self) -> bool:
        return self.origin != "temporary" and self.ledger != MEMORY

    def describe(self) -> str:
        return f"{self.origin} ({self.ledger})" if self.origin != "temporary" else f"a temporary ledger ({self.ledger})"


def ledger_string(value: str, where: str = "--state") -> str:
    """`--state`'s value as a ledger string: `table` and `sqlite:...` as given, a path as SQLite."""
    text = value.strip()
    if not text:
        raise SettingsError(f"{where}: empty; expected a SQLite file, sqlite:PATH or table")
    if text == "table" or text.startswith("sqlite:"):
        return text
    return f"sqlite:{text}"


def temporary_ledger() -> str:
    return f"sqlite:{tempfile.mkdtemp(prefix='responder-')}/ledger.sqlite"


def choose(state: str | None, command: str, need: Need = Need.SCRATCH, settings: Settings | None = None,
           err: TextIO | None = None) -> LedgerChoice:
    """The ledger `command` opens; a temporary one is announced on `err` (stderr)."""
    settings = settings or Settings.from_env()
    configured = settings.ledger if settings.ledger_configured else ""
    if state is not None:
        choice = LedgerChoice(ledger_string(state), "--state")
    elif configured.strip():
        choice = LedgerChoice(ledger_string(configured, "RESPONDER_LEDGER"), "RESPONDER_LEDGER")
    elif need is Need.SCRATCH:
        choice = LedgerChoice(temporary_ledger(), "temporary")
        (err or sys.stderr).write(
            f"note: no --state and no RESPONDER_LEDGER: {command} runs on a temporary ledger "
            f"({choice.ledger[len('sqlite:'):]}); nothing is written to the shared ledger\n")
        return choice
    else:
        raise SettingsError(f"no ledger to read or write: {command} works on the ledger the app uses; "
                            "pass --state PATH (or table), or set RESPONDER_LEDGER")
    if need is not Need.SCRATCH and choice.ledger == MEMORY:
        where = "--state " if choice.origin == "--state" else "RESPONDER_LEDGER="
        raise SettingsError(f"{where}{choice.ledger}: {command} needs a ledger that lasts (a SQLite file, or table)")
    if need is Need.EXISTING and choice.ledger.startswith("sqlite:") and not Path(choice.ledger[len("sqlite:"):]).is_file():
        named = f"--state {state}" if choice.origin == "--state" else f"RESPONDER_LEDGER={configured}"
        raise SettingsError(f"{named}: no ledger there")
    return choice


def command_settings(state: str | None, command: str, need: Need = Need.SCRATCH, mode: str | None = None,
                     base: Settings | None = None, err: TextIO | None = None) -> Settings:
    """The environment's settings with the chosen ledger (and `--mode`, when given)."""
    base = base or Settings.from_env()
    choice = choose(state, command, need, base, err=err)
    return replace(base, mode=mode or base.mode, ledger=choice.ledger)
