"""Test-only worker: runs the storm through the pipeline on a file ledger against a simulated Azure
in another process, and SIGKILLs itself at a named step when CRASH_AT says so.

    CRASH_AT=intent RESPONDER_AZURE=sim RESPONDER_ARM_ENDPOINT=... RESPONDER_CA_BUNDLE=... \\
    RESPONDER_LEDGER=sqlite:PATH RESPONDER_OUTBOX_DIR=DIR python -m tests.reliability.crash_worker

Steps: claim (a delivery claimed), signal (its signal recorded), intent (an intent recorded),
arm-call (the ARM write answered, its operation not yet recorded), recorded (the operation
recorded), decision (a `started` decision recorded), notify (a message written, not yet marked
sent), mail-accepted (an email Graph accepted, not yet marked sent), ended (an operation recorded succeeded). Without CRASH_AT it runs to the end: every
delivery again (Event Grid redelivers what was not acknowledged), at once and then as Event
Grid's later retry will, once the claim lease of a killed worker has lapsed; ticks until nothing
is open, and flushes the outbox as the clock will stand once leases and digest windows have
passed. The last line printed is a JSON summary, `deferred` counting the deliveries the first
pass was told to send again.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import timedelta


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def after(cls, name: str, when=lambda args, kwargs, result: True) -> None:
    original = getattr(cls, name)

    def wrapped(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if when(args, kwargs, result):
            die()
        return result

    setattr(cls, name, wrapped)


def before(cls, name: str, when) -> None:
    original = getattr(cls, name)

    def wrapped(self, *args, **kwargs):
        if when(args, kwargs):
            die()
        return original(self, *args, **kwargs)

    setattr(cls, name, wrapped)


def arm(step: str) -> None:
    from ledger import SqliteLedger
    from notify.files import FileChannel
    from notify.graph_mail import GraphMailChannel

    hooks = {
        "claim": lambda: after(SqliteLedger, "claim_delivery", lambda a, k, r: r == "claimed"),
        "signal": lambda: after(SqliteLedger, "record_signal"),
        "intent": lambda: after(SqliteLedger, "record_intent"),
        "arm-call": lambda: before(SqliteLedger, "update_operation", lambda a, k: k.get("state") == "running"),
        "recorded": lambda: after(SqliteLedger, "update_operation", lambda a, k, r: k.get("state") == "running"),
        "decision": lambda: after(SqliteLedger, "record_decision", lambda a, k, r: a[2].status == "started"),
        "notify": lambda: after(FileChannel, "send"),
        "mail-accepted": lambda: after(GraphMailChannel, "send"),
        "ended": lambda: after(SqliteLedger, "update_operation", lambda a, k, r: k.get("state") == "succeeded"),
    }
    hooks[step]()


def main() -> int:
    step = os.environ.get("CRASH_AT")
    if step:
        arm(step)
    from intake.deliveries import parse_delivery
    from pipeline import CLAIM_LEASE, DEFERRED, Settings
    from pipeline.core import utc_now
    from wiring import build_pipeline, notifications_of

    from .storm import bodies

    shift = [timedelta(0)]
    pipeline = build_pipeline(Settings.from_env(), clock=lambda: utc_now() + shift[0])
    outcomes = deferred = 0
    for body in bodies():
        results = pipeline.process(parse_delivery(body, "storm"))
        outcomes += len(results)
        deferred += any(o.status == DEFERRED for o in results)
    if deferred:  # Event Grid's retries go on for a day; the next one after the lease takes the claim
        shift[0] = CLAIM_LEASE + timedelta(minutes=1)
        for body in bodies():
            outcomes += len(pipeline.process(parse_delivery(body, "storm")))
    deadline = time.monotonic() + 40
    while pipeline.ledger.open_operations() and time.monotonic() < deadline:
        pipeline.tick()
        time.sleep(0.1)
    notifier = notifications_of(pipeline).notifier
    for attempt in range(20):  # the per-channel rate limits let a few through per flush
        # Later each time, past the 2-minute lease a killed run may have taken in its own last
        # flush (held messages first go out there), so the restart recovers and resends it.
        notifier.flush(pipeline.clock() + timedelta(minutes=10 + 3 * attempt))
        pending = pipeline.ledger._db.execute("SELECT count(*) FROM outbox_messages WHERE state != 'sent'").fetchone()[0]
        if not pending:
            break
        time.sleep(0.3)
    print(json.dumps({"outcomes": outcomes, "deferred": deferred, "open": len(pipeline.ledger.open_operations())}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
