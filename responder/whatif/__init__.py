"""`python -m responder whatif --policy NEW.yaml`: what the ledger's history would have looked like
under another policy (and catalog), before it goes live.

Every recorded signal of the period is decided again, in the order it arrived, by the pure engine
under the new policy, through the real gate and brakes on a history simulated in memory, with the
live state as the gate read it at the time (no Azure call). What differs from what was recorded
is printed: decisions per rule, brakes, storms, ARM writes per subscription and hour against the
cap, messages. Exit codes: 0 nothing would act differently; 3 something would (or could not be
told from what was recorded); 1 bad input.

    python -m responder whatif --policy new-policy.yaml --since 30d --state .responder/ledger.sqlite
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .compare import Report, compare
from .simulate import Replayed, Simulation

if TYPE_CHECKING:  # types only
    from rules.ports import Store

SAME, DIFFERENT, BAD_INPUT = 0, 3, 1


class WhatIfError(ValueError):
    """A flag or a ledger the command cannot use; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", metavar="FILE", required=True, help="the policy to try (policy.yaml's format)")
    parser.add_argument("--catalog", metavar="FILE", help="catalog entries laid over the shipped catalog (default: RESPONDER_CATALOG_EXTRA)")
    parser.add_argument("--since", metavar="ISO|DURATION", default="30d", help="from a time or for a while back (default: 30d)")
    parser.add_argument("--until", metavar="ISO", help="up to a time (default: now)")
    parser.add_argument("--resource", metavar="NAME-OR-ID", help="report this resource only (every signal is still re-decided: the brakes count them all)")
    parser.add_argument("--mode", choices=("observe", "approve", "auto"), help="the RESPONDER_MODE the history was decided under (default: RESPONDER_MODE)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line: each change, the totals that differ, a summary")
    parser.add_argument("--state", metavar="PATH", help="the ledger: a SQLite file, sqlite:PATH or table (default: RESPONDER_LEDGER)")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr, now: datetime | None = None) -> int:
    from pipeline import Settings, SettingsError
    from rules import RulesError

    from ..audit_command import AuditError, parse_since

    now = now or datetime.now(UTC)
    try:
        settings = Settings.from_env()
        since = parse_since(args.since, now) if args.since else None
        until = parse_since(args.until, now) if args.until else None
        engine = build_engine(settings, Path(args.policy), Path(args.catalog) if args.catalog else None,
                              args.mode or settings.mode)
        ledger = open_recorded(args.state, settings)
    except (AuditError, WhatIfError, SettingsError, RulesError) as exc:
        err.write(f"error: {exc}\n")
        return BAD_INPUT
    try:
        report = what_if(ledger, engine, since, until, args.resource, args.mode or settings.mode)
    finally:
        ledger.close()
    if args.json:
        for line in report.lines():
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    else:
        from .render import table

        out.write(table(report))
    return DIFFERENT if report.acts_differently else SAME


def build_engine(settings: Any, policy_path: Path, catalog_extra: Path | None, mode: str | None) -> Any:
    """The engine under the policy to try, with the shipped catalog and the owner's extension."""
    from rules import Engine, load_catalog, load_policy

    if not policy_path.is_file():
        raise WhatIfError(f"--policy {policy_path}: no such file")
    if catalog_extra is not None and not catalog_extra.is_file():
        raise WhatIfError(f"--catalog {catalog_extra}: no such file")
    catalog = load_catalog(settings.catalog_path, catalog_extra or settings.catalog_extra)
    policy = load_policy(policy_path, catalog)
    return Engine(policy.catalog or catalog, policy, mode_override=mode)


def open_recorded(state: str | None, settings: Any) -> Store:
    """The ledger to read: --state (a SQLite file, sqlite:PATH or table), else RESPONDER_LEDGER;
    what-if reads what the app recorded, so it never runs on a ledger of its own."""
    from ledger import open_ledger

    from ..ledger_choice import Need, choose

    return open_ledger(choose(state, "whatif", Need.EXISTING, settings).ledger, settings)


def what_if(ledger: Store, engine: Any, since: datetime | None = None, until: datetime | None = None,
            resource: str | None = None, mode: str | None = None) -> Report:
    """Re-decide the recorded signals of the period under `engine` and compare."""
    signals = list(ledger.recorded_signals(since, until))
    recorded: dict[int, Mapping[str, Any]] = {}
    for row in ledger.history(since):
        if (signal_id := row["signal_id"]) is not None:
            recorded.setdefault(signal_id, row)  # the decision made when the signal arrived
    ended = {}
    for operation in ledger.operations():
        if operation["state"] in ("succeeded", "failed", "skipped"):
            at = operation.get("finished_at") or operation["updated_at"]
            ended[(operation["incident_id"], operation["action"])] = (datetime.fromisoformat(str(at)), operation["state"])
    waves = any('"wave"' in str(row.get("reading") or "") for row in recorded.values())
    simulation = Simulation(engine, mode, ended, waves)
    try:
        replayed: list[Replayed] = [simulation.replay(row, recorded.get(int(row["id"]))) for row in signals]
    finally:
        simulation.close()
    if resource:
        keep = [i for i, row in enumerate(signals) if _names(row["resource_id"], resource)]
        signals, replayed = [signals[i] for i in keep], [replayed[i] for i in keep]
    return compare(signals, recorded, replayed, engine.policy.brakes.hourly_writes_per_subscription)


def _names(resource_id: str, wanted: str) -> bool:
    key, wanted = resource_id.lower(), wanted.lower()
    return key == wanted or key.endswith("/" + wanted)
