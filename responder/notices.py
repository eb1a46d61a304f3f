"""Telling people from the command line, as the timer does: a run's notices go to the outbox
and are sent before the command ends (held messages and open digest windows included, since
the command will not be there when they come due). `--outbox DIR` makes it a dry run: every
card and email is written to DIR instead of being sent."""

from __future__ import annotations

import argparse
from typing import Any


def add_outbox_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outbox", metavar="DIR",
                        help="dry run: write each Teams card and email to DIR instead of sending them "
                             "(default: send through the configured channels, if any)")


def build_told_pipeline(settings: Any, connect: Any, outbox: str | None):
    """The run's pipeline. With `outbox`, its notifier writes to that folder (a dry run); without,
    it sends through the channels the settings configure, as the Functions host does."""
    from wiring import build_pipeline, notifier_from_settings, store_of

    if not outbox:
        return build_pipeline(settings, connect=connect)
    bare = build_pipeline(settings, connect=connect, notifier=False)
    notifier = notifier_from_settings(settings, bare.engine.policy, store_of(bare), bare.clock, outbox_dir=outbox)
    return build_pipeline(settings, ledger=store_of(bare), connect=connect, notifier=notifier, clock=bare.clock)


def tell(pipeline: Any) -> list[str]:
    """Submit what the run has to tell and send all of it now; one line per message handled."""
    from wiring import notifications_of

    notifications = notifications_of(pipeline)
    if notifications is None:
        return []
    notifications.flush_all()
    lines, notifications.lines = notifications.lines, []
    return lines
