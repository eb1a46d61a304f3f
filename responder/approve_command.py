"""`python -m responder approve ID`, `reject ID` and `approvals`: approvals from a shell.

Whoever can write the ledger may decide, so these commands need no link (and no approvers'
membership: the ledger's access is the gate here). Who decided is the Azure CLI's signed-in
account (`az account show`, and `az ad signed-in-user show` for its Entra object id); `--by NAME`
names someone else when there is no Azure CLI sign-in. `approve` takes the
approval (a conditional update from pending, as a click does) and carries it out through the
pipeline, which verifies the live state again before acting; `reject` records the rejection;
`approvals` lists what is waiting, soonest expiry first. The secret must be set, as for the
app (RESPONDER_APPROVAL_SECRET): the commands refuse to run an approval setup the app would refuse.

Exit status: 0 done (an approval whose condition is gone is skipped, and that is done too),
1 a setting is wrong, 4 the approval cannot be decided (unknown, expired, already decided).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess  # nosec B404 - runs the Azure CLI only, found on PATH, with fixed arguments
import sys
from dataclasses import replace
from typing import TextIO

from arm import short_name

REFUSED = 4


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The arguments of one of the three commands: approve, reject or approvals."""
    if command in ("approve", "reject"):
        parser.add_argument("id", metavar="ID", help="the approval id (APR-…), as `approvals` lists it")
        parser.add_argument("--by", metavar="NAME",
                            help="who decides, for the audit trail (default: the Azure CLI's signed-in account, from `az login`)")
    parser.add_argument("--state", metavar="PATH", help="the ledger: a SQLite file, sqlite:PATH or table (default: RESPONDER_LEDGER)")
    if command == "approve":
        parser.add_argument("--azure", choices=("sim", "live"), help="the Azure to verify against and act on (default: RESPONDER_AZURE, else live)")
        parser.add_argument("--fleet", metavar="FILE", help="fleet file for --azure sim (default: the demo fleet)")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from approvals import ApprovalConfigError, ApprovalNotFoundError, TokenRefusedError
    from pipeline import SettingsError
    from rules import RulesError

    try:
        if args.command == "approvals":
            return _list(args, out)
        return _decide(args, out)
    except (ApprovalNotFoundError, TokenRefusedError) as exc:
        err.write(f"refused: {exc}\n")
        return REFUSED
    except (ApprovalConfigError, SettingsError, RulesError) as exc:
        err.write(f"error: {exc}\n")
        return 1


def _service(pipeline, settings):
    from approvals import ApprovalConfigError, approvals_for

    service = approvals_for(settings, pipeline.engine.policy, pipeline.ledger, pipeline.clock)
    if service is None:
        raise ApprovalConfigError("RESPONDER_APPROVAL_SECRET is not set: approvals cannot be used")
    return service


def _decide(args: argparse.Namespace, out: TextIO) -> int:
    from approvals import settle
    from pipeline import Settings, SettingsError
    from responder import render
    from responder.azure_session import azure_session, closing_tick
    from responder.ledger_choice import Need, command_settings
    from wiring import build_pipeline

    settings = command_settings(args.state, args.command, Need.EXISTING, base=Settings.from_env())
    kind = "none"
    if args.command == "approve":
        kind = args.azure or (settings.azure if settings.azure in ("sim", "live") else "live")
        if args.fleet and kind != "sim":
            raise SettingsError("--fleet is for --azure sim")
    who = cli_approver(args.by)
    with azure_session(kind, replace(settings, azure=kind), getattr(args, "fleet", None)) as session:
        pipeline = build_pipeline(session.scoped(settings), connect=session.connect, notifier=None)
        service = _service(pipeline, settings)
        decided = service.decide_by_id(args.id, args.command, by=who)
        outcomes = [settle(pipeline, decided)]
        if session.kind == "sim":
            # The simulated Azure ends with this command: follow the operation to its end now.
            outcomes += closing_tick(pipeline)
    for outcome in outcomes:
        out.write((render.json_line(outcome) if args.json else render.line(outcome)) + "\n")
    if session.kind == "live" and outcomes[0].status == "started":
        out.write("" if args.json else "the app's tick (or `python -m responder tick` on this ledger) follows it to its end\n")
    return 0


def cli_approver(by: str | None):
    """Who decides from this shell: `--by NAME` when given, else the Azure CLI's signed-in account
    with its Entra object id. No sign-in and no --by: a clear refusal, never a guessed name."""
    from approvals import COMMAND_LINE, Approver
    from pipeline import SettingsError

    if by:
        return Approver(by, None, COMMAND_LINE)
    az = shutil.which("az")
    if az is None:
        raise SettingsError("who is deciding? the Azure CLI (az) is not installed here: sign in with `az login`, or name yourself with --by NAME")
    account = _az(az, "account", "show", "--output", "json")
    user = account.get("user") if isinstance(account, dict) else None
    if not isinstance(user, dict) or not user.get("name"):
        raise SettingsError("`az account show` names no signed-in account: run `az login`, or name yourself with --by NAME")
    object_id = None
    if user.get("type") == "user":
        found = _az(az, "ad", "signed-in-user", "show", "--output", "json")
        object_id = found.get("id") if isinstance(found, dict) else None
    return Approver(str(user["name"]), object_id, COMMAND_LINE)


def _az(az: str, *argv: str):
    from pipeline import SettingsError

    try:
        done = subprocess.run([az, *argv], capture_output=True, text=True, timeout=60, check=False)  # nosec B603 - fixed az arguments, no shell
    except (OSError, subprocess.SubprocessError) as exc:
        raise SettingsError(f"`az {' '.join(argv[:2])}` could not run ({exc}): sign in with `az login`, or name yourself with --by NAME") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise SettingsError(f"`az {' '.join(argv[:2])}` failed ({said[-1] if said else f'exit {done.returncode}'}):"
                            " sign in with `az login`, or name yourself with --by NAME")
    try:
        return json.loads(done.stdout or "null")
    except ValueError:
        raise SettingsError(f"`az {' '.join(argv[:2])}` answered something other than JSON") from None


def _list(args: argparse.Namespace, out: TextIO) -> int:
    from pipeline import Settings
    from responder.ledger_choice import Need, command_settings
    from wiring import build_pipeline

    settings = replace(command_settings(args.state, "approvals", Need.EXISTING, base=Settings.from_env()), azure="none")
    pipeline = build_pipeline(settings, notifier=False)
    service = _service(pipeline, settings)
    now = pipeline.clock()
    pending = service.pending()
    for record in pending:
        if args.json:
            out.write(json.dumps({
                "id": record.id, "incident_id": record.incident_id, "action": record.action,
                "resource_id": record.resource_id, "reason": record.reason, "created_at": record.created_at.isoformat(),
                "expires_at": record.expires_at.isoformat(), "state": record.state_at(now),
            }, ensure_ascii=False) + "\n")
        else:
            left = record.expires_at - now
            due = "expired, the tick settles it" if left.total_seconds() <= 0 else f"expires in {_span(left)} ({record.expires_at.isoformat()})"
            out.write(f"{record.id}  {record.action:<24} {short_name(record.resource_id):<20} {due}\n")
    if not pending and not args.json:
        out.write("no approvals are waiting\n")
    return 0


def _span(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
