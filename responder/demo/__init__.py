"""`python -m responder demo`: the bundled scenario, end to end, against the simulated Azure.

The payloads in payloads/ are written for the demo fleet (fleet.json): a degraded-hardware VM,
an Accelerated Networking failure, a host that crashes twice, a customer restart, a VM that
is healthy again by the time its event arrives, a scale set whose repairs were suspended,
Service Health and Resource Health alerts, a scheduled event, a recovery, a truncated file and
a VM whose responder-mode tag asks for approval. The first delivery arrives twice, as Event
Grid may deliver it. Then the sweep reads the fleet for what no event announced: open
self-service windows (maintained in a wave, one update domain at a time), a scale set without
automatic repairs, an instance that failed provisioning, a scale set whose probe is wrong. Then a person approves the pending action
through the approval route, and a storm of unhealthy VMs trips the breaker. Notifications go to a Teams
webhook and a Graph mailbox in the simulated Azure, and a copy of each to the outbox folder.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from intake.deliveries import parse_delivery
from pipeline import Outcome, Settings
from responder import render
from responder.azure_session import azure_session, closing_tick
from responder.demo.timing import as_of
from responder.ledger_choice import ledger_string, temporary_ledger
from responder.replay import read_delivery
from wiring import build_pipeline, notifications_of, notifier_from_settings, store_of

from . import storm

if TYPE_CHECKING:  # types only
    from notify import Notifier
    from pipeline.notifications import Notifications
    from pipeline.remediation import Remediation
    from waves import Waves

PAYLOADS = Path(__file__).resolve().parent / "payloads"
FLEET = Path(__file__).resolve().parent / "fleet.json"
DEMO_SUBSCRIPTION = "00000000-0000-0000-0000-00000000d3e0"
MESSAGE_FILE = re.compile(r"^\d{5}-(teams|email)-.*\.(json|html|txt)$")


def scenario() -> list[Path]:
    files = sorted(PAYLOADS.glob("*.json"))
    return files[:1] + files  # the first delivery arrives twice: Event Grid delivers at least once


def fresh_outbox(directory: str) -> Path:
    """The folder, emptied of an earlier run's messages (and nothing else)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():
        if old.is_file() and MESSAGE_FILE.match(old.name):
            old.unlink()
    return path


def run(mode: str, as_json: bool, state: str | None = None, out: TextIO = sys.stdout,
        operation_delay: float = 0.5, outbox: str = "outbox") -> int:
    from notify.files import FileChannel
    from notify.notifier import RateLimit
    from notify.tee import TeeChannel
    from pipeline.azure import LocalToken

    workdir = tempfile.mkdtemp(prefix="responder-demo-")
    # The demo's fleet is made up: it never writes to the shared ledger (RESPONDER_LEDGER), only
    # to --state or a temporary file.
    ledger = ledger_string(state) if state else temporary_ledger()
    settings = replace(Settings.from_env(), mode=mode, ledger=ledger, approval_secret=secrets.token_urlsafe(32), policy_path=demo_policy(workdir))
    clock = DemoClock()
    outcomes: list[Outcome] = []

    def heading(title: str) -> None:
        if not as_json:
            out.write(f"\n-- {title}\n")

    def show(found: list[Outcome]) -> None:
        outcomes.extend(found)
        for outcome in found:
            out.write((render.json_line(outcome) if as_json else render.line(outcome)) + "\n")
            out.flush()

    folder = fresh_outbox(outbox)
    with azure_session("sim", settings, str(FLEET), operation_delay=operation_delay) as session:
        if not as_json:
            out.write(f"Resource Health Responder demo: mode {mode}, simulated Azure at {session.sim.base_url}\n")
            out.write(f"messages: Teams and email in the simulated Azure, a copy of each in {folder}/\n\n")
        settings = session.scoped(settings)
        pipeline = build_pipeline(settings, connect=session.connect, notifier=False, clock=clock)
        notifier = cast("Notifier", notifier_from_settings(  # Teams and mail are plugged in: a notifier
            settings.with_notify(session.plug_notifications()), pipeline.engine.policy, store_of(pipeline), pipeline.clock,
            credential=LocalToken()))
        for name, channel in list(notifier.channels.items()):
            notifier.channels[name] = TeeChannel(channel, FileChannel(folder, name))
        # The simulated mailbox is not Exchange Online: its 30-a-minute limit would hold the
        # demo's messages for minutes. Teams keeps its real limit (4 a second).
        notifier.rate_limits["email"] = RateLimit(20, 1.0)
        pipeline = build_pipeline(settings, ledger=store_of(pipeline), connect=session.connect, notifier=notifier, clock=clock)
        heading("Deliveries: every source Azure sends")
        for path in scenario():
            show(read_delivery(str(path), pipeline, input_name=f"demo/{path.name}", shift=as_of(clock())))
        show(closing_tick(pipeline))
        heading("The sweep: what no event announced; maintenance joins a wave, update domain 0 first")
        show(sweep_once(pipeline, session))
        show(closing_tick(pipeline))
        heading("30 minutes later: update domain 0 is done and Available again, so update domain 1 goes")
        waves = cast("Waves", cast("Remediation", pipeline.remediator).waves)  # it acts, in auto mode: waves are on
        clock.advance(waves.policy.pause_between_update_domains + timedelta(minutes=1))
        show(closing_tick(pipeline))
        heading("A person approves: POST /api/approvals/{token}, from the card's Approve link")
        show(approve_pending(pipeline))
        show(closing_tick(pipeline))
        heading("A storm: twelve shop VMs down within a minute")
        show(pipeline.process(parse_delivery(json.dumps(storm.delivery()), "demo/storm")))
        messages = cast("Notifications", notifications_of(pipeline))  # built with its notifier above
        messages.drain(6.0)
        # The demo does not wait out the 5-minute digest windows: it flushes once as the clock
        # will stand when they close, so the digests are in the outbox folder too.
        later = pipeline.clock() + notifier.digest.window + timedelta(seconds=1)
        messages.lines += notifier.flush(later).lines
        if not as_json:
            out.write("\n" + "\n".join(f"MESSAGE            {line}" for line in messages.lines) + "\n")
        totals = {**summary(outcomes), **session.arm_counts(), "notifications": session.notifications_received()}
    if as_json:
        out.write(json.dumps(totals) + "\n")
    else:
        out.write("\n" + render.summary_text(totals) + "\n")
    return 0


class DemoClock:
    """The wall clock, moved forward when the demo says time passes (a wave's pause between
    update domains) instead of making a person wait."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


def demo_policy(folder: str) -> Path:
    """The default policy with an owner maintenance window that is always open, so the demo's
    wave runs whatever the day and hour (the default window is weekend nights)."""
    import yaml

    document = yaml.safe_load((Path(__file__).resolve().parents[2] / "rules" / "policy.yaml").read_text())
    document["maintenance"]["window"] = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                                         "start": "00:00", "end": "24:00", "time_zone": "UTC"}
    path = Path(folder) / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def approve_pending(pipeline) -> list[Outcome]:
    """A person follows the Approve link of each pending approval: the real route, called the way
    the Functions host calls it; the app verifies the live state again and acts."""
    import azure.functions as func

    from approvals import approvals_of
    from function_app import app
    from handlers import runtime

    route = {fn.get_function_name(): fn for fn in app.get_functions()}["approvals"].get_user_function()
    service, told = approvals_of(pipeline), []
    pipeline.listeners.append(lambda step: told.append(step.outcome))
    runtime.use(pipeline)
    try:
        for record in service.pending():
            url = service.pending_of(record).approve_url
            token = url.rsplit("/", 1)[-1]
            route(func.HttpRequest("POST", url, headers={"content-type": "application/x-www-form-urlencoded"},
                                   route_params={"token": token}, body=b"confirm=approve"))
    finally:
        runtime.use(None)
        pipeline.listeners.pop()
    return told


def sweep_once(pipeline, session) -> list[Outcome]:
    """The sweep's pass over the demo subscription: what no event announced (an open
    self-service window, repairs not enabled, an instance that failed provisioning, ...)."""
    from sweep import Scope, Sweeper, sweep_into

    sweeper = Sweeper(session.connect, Scope(subscriptions=(DEMO_SUBSCRIPTION,)), pipeline.clock)
    found: list[Outcome] = []
    sweep_into(pipeline, sweeper, on_outcome=found.append, keep_outcomes=False)
    pipeline.end_batch()
    return found


def summary(outcomes: list[Outcome]) -> dict:
    """Counts of each decision's last word (a queued or approved action counts as how it ended)
    and of the actions started, whether by a signal, a wave's turn or an approval."""
    last: dict = {}
    for index, outcome in enumerate(outcomes):
        follows = outcome.action != "none" and outcome.incident_id and outcome.status != "duplicate"
        last[(outcome.incident_id, outcome.action) if follows else index] = outcome.status
    return {
        "signals": sum(1 for o in outcomes if o.input not in ("tick",) and o.rule != "approval" and o.status != "rejected"),
        "actions": dict(Counter(o.action for o in outcomes if o.status == "started")),
        "statuses": dict(Counter(last.values())),
    }
