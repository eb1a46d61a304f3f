"""The digest rule: when notices sharing a cause become one message.

A cause is (subscription, region, signal name). Per destination and cause, a window opens at
the first notice and lasts `window`. The first `individual` incidents of a window are told
one by one, promptly; any further incident in that window goes into one digest message, sent
when the window closes, listing the first `listed` resources and counting the rest. So a storm
of 10,000 resources sends `individual + 1` messages per destination and window, not 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .notice import Notice
from .outbox import DIGEST, INCIDENT, Placement, Window
from .resource import parse_resource

# Never folded into a digest: a person must see these on their own.
ALWAYS_INDIVIDUAL = ("storm",)


@dataclass(frozen=True)
class DigestPolicy:
    window: timedelta = timedelta(minutes=5)
    listed: int = 10
    individual: int = 3


def cause_of(notice: Notice) -> str:
    ref = parse_resource(notice.resource_id)
    return "|".join(((ref.subscription or "").lower(), (notice.location or "").lower(), notice.signal_name.lower()))


def place(window: Window | None, *, destination: str, cause: str, incident_id: str, now: datetime, policy: DigestPolicy, force_individual: bool = False) -> Placement:
    if window is None or now >= window.closes_at:
        window = Window(destination, cause, now, now + policy.window)
    if force_individual or incident_id in window.individual:
        return Placement(window, INCIDENT)
    if len(window.individual) < policy.individual:
        return Placement(replace(window, individual=window.individual + (incident_id,)), INCIDENT)
    return Placement(window, DIGEST)
