"""The digest rule: when the notices of one scope become one message.

A scope is where the storm breaker counts (pipeline/safety.py): a scale set, or a
subscription's VMs in one region. Per destination and scope, a window opens at the first
notice and lasts `window`.

- Quiet: the first `individual` incidents of a window are told one by one, each in a message
  of its own that its follow-ups join; every further incident goes into one digest, sent when
  the window closes. An incident's message waits `hold` before it goes out.
- Storm: the `storm` notice (the breaker tripped in the scope) goes out at once, alone, and
  turns the window stormy: every later notice of the scope, follow-ups of incidents told one
  by one included, goes into the digest, and the incident messages still held are folded into
  it. A stormy window hands the storm on to the next while notices keep coming.

The hold is what lets a storm fold the incidents that came just before the breaker tripped
(a storm's first VMs arrive seconds apart; the breaker trips at the eleventh): without it,
each scope would send its first incidents one by one and a storm over three subscriptions
would still be dozens of messages. So a storm sends, per destination and scope, one storm
message and one digest per window.

- Tenant-wide: when messages of `tenant_scopes` (20) or more scopes are on their way to one
  destination at once, or `tenant_storms` (3) or more scopes each have a digest on its way (a storm,
  or more incidents than are told one by one), as in a regional incident over many subscriptions, the sender (notify/notifier.py) sends
  none of them on its own: each, once due, is folded into the destination's tenant-wide digest,
  one per window (`place_tenant`), which says how many resources in how many subscriptions and
  what was done. It lasts while its window is open or the crowd goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from arm import ResourceId

from .notice import Notice
from .outbox import DIGEST, INCIDENT, Placement, Window

# The notice that says the storm breaker tripped: told on its own, and it turns the scope stormy.
STORM = "storm"
# The cause of the tenant-wide digest: one per destination and window while many scopes are busy.
TENANT = "tenant"


@dataclass(frozen=True)
class DigestPolicy:
    window: timedelta = timedelta(minutes=5)
    listed: int = 10
    # Incidents per scope and window told one by one: the storm breaker's default threshold
    # (10 VMs per region), so whatever the breaker lets through is still told incident by incident.
    individual: int = 10
    hold: timedelta = timedelta(seconds=60)
    # When the sender folds everything on its way to one destination into one tenant-wide digest per
    # window (a regional incident over many subscriptions): this many scopes with messages on their
    # way at once, or this many in storm or flood at once (each with a digest of its own on its way).
    tenant_scopes: int = 20
    tenant_storms: int = 3


def scope_of(notice: Notice) -> str:
    """The storm breaker's scope of a notice's resource: its scale set, else subscription and region."""
    rid = ResourceId.try_parse(notice.resource_id)
    scale_set = rid.scale_set if rid is not None else None
    if scale_set is not None:
        return f"ss:{scale_set.key}"
    subscription = rid.subscription.lower() if rid is not None else ""
    return f"vm:{subscription}:{(notice.location or '').lower()}"


def place(window: Window | None, *, destination: str, cause: str, incident_id: str, now: datetime,
          policy: DigestPolicy, trips_storm: bool = False) -> Placement:
    if window is None or now >= window.closes_at:
        storm_goes_on = window is not None and window.storm and now < window.closes_at + policy.window
        window = Window(destination, cause, now, now + policy.window, storm=storm_goes_on)
    if trips_storm:
        return Placement(replace(window, storm=True), INCIDENT, due_at=now, alone=True, fold=True)
    if window.storm:
        return Placement(window, DIGEST)
    held = now + policy.hold
    if incident_id in window.individual:
        return Placement(window, INCIDENT, due_at=held)
    if len(window.individual) < policy.individual:
        return Placement(replace(window, individual=window.individual + (incident_id,)), INCIDENT, due_at=held)
    return Placement(window, DIGEST)


def place_tenant(window: Window | None, *, destination: str, now: datetime, policy: DigestPolicy) -> Placement:
    """Everything folded into the tenant-wide digest goes into its window's one digest message."""
    if window is None or now >= window.closes_at:
        window = Window(destination, TENANT, now, now + policy.window)
    return Placement(window, DIGEST)
