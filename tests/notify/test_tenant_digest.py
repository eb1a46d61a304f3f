"""A regional incident over many subscriptions: once twenty or more scopes have messages on their
way to one destination (or three are in storm), the sender folds them all into one tenant-wide
digest per window, which says how many resources in how many subscriptions and what was done. Each scope's storm breaker
trips as the pipeline's would (ten VMs told one by one, the eleventh trips it, later ones held).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.ledger.conftest import azurite  # noqa: F401 - the session's Azurite

from .conftest import notice, vm

ROUTES = ("ops-teams", "ops-email")
BRAKE = ("storm breaker: holding since 03:00Z (11 VMs turned unhealthy within 15 min)",)


def regional_incident(subscriptions: int, per_subscription: int = 14) -> list:
    """What the pipeline tells of a regional incident, in arrival order: VM i of every subscription,
    then VM i + 1. The first ten of a subscription are decided (observe mode), the eleventh trips
    the storm breaker in its scope, the rest are held by it."""
    out = []
    for number in range(per_subscription):
        for s in range(subscriptions):
            sub = f"{s:08d}-0000-4000-8000-00000000d3e0"
            rid = vm(f"vm-{number:02d}", rg="rg-app", sub=sub)
            incident = f"INC-{s:04d}{number:02d}"
            if number < 10:
                out.append(notice(incident_id=incident, resource_id=rid, routes=ROUTES, mode="observe", status="planned"))
            elif number == 10:
                out.append(notice(incident_id=incident, resource_id=rid, routes=ROUTES, event="storm", status="skipped",
                                  action="none", brakes=BRAKE, reason="Automation paused: 11 VMs turned unhealthy within 15 min"))
            else:
                out.append(notice(incident_id=incident, resource_id=rid, routes=ROUTES, status="skipped", brakes=BRAKE,
                                  reason="Held by the storm breaker: automation is paused in this scope"))
    return out


def run(make_notifier, ticker, notices, per_delivery: int = 20, **settings):
    """Deliveries every 10 s over the incident, the timer's tick every minute, then every window closed."""
    n = make_notifier(**settings)
    for start in range(0, len(notices), per_delivery):
        n.submit_many(notices[start:start + per_delivery])
        if (start // per_delivery) % 6 == 5:
            n.flush(ticker.now)
        ticker.advance(seconds=10)
    for _ in range(4):
        n.flush(ticker.advance(minutes=5))
    return n


@pytest.mark.parametrize("subscriptions", [30, 60])
def test_a_regional_incident_over_many_subscriptions_is_a_handful_of_messages_per_route(make_notifier, azure, store, ticker,
                                                                                         subscriptions):
    notices = regional_incident(subscriptions)
    run(make_notifier, ticker, notices)
    posts, mails = azure.hooks.received("ops"), azure.mail.sent
    minutes = 14 * subscriptions // 20 * 10 / 60  # how long the notices kept coming
    windows = int(minutes // 5) + 2
    assert 0 < len(posts) <= windows + 5 and 0 < len(mails) <= windows + 5, (len(posts), len(mails))
    counts = store.counts()
    assert counts["pending"] == 0 and counts["failed"] == 0

    # What the tenant-wide digests say adds up to the incident: every resource, in every subscription.
    texts = [json.dumps(p) for p in posts]
    tenant = [t for t in texts if re.search(r"(Across|across) [\d,]+ subscriptions", t)]
    assert tenant and all("This digest covers" in t for t in tenant), "no tenant-wide digest"
    covered = sum(int(re.search(r"This digest covers (\d+) incidents", t).group(1)) for t in tenant)
    alone = len(texts) - len(tenant)
    # Each incident once: in a tenant digest, or on its own; the storm notices are said as the
    # digests' "automation paused", not counted as incidents.
    assert covered + alone == len(notices) - subscriptions, (covered, alone)
    largest = max(tenant, key=lambda t: int(re.search(r"This digest covers (\d+) incidents", t).group(1)))
    shown = int(re.search(r"resources in ([\d,]+) subscriptions", largest).group(1).replace(",", ""))
    assert 5 <= shown <= subscriptions
    stormy = [t for t in tenant if "Automation paused in" in t]  # the window the breakers tripped in
    assert stormy, "no tenant digest says automation paused"
    paused = int(re.search(r"Automation paused in ([\d,]+) scopes across ([\d,]+) subscriptions", stormy[0]).group(1).replace(",", ""))
    assert paused == subscriptions  # each subscription's breaker tripped once, in that window
    assert f"The storm breaker paused automation in {paused:,} scopes" in stormy[0]
    assert "Check Azure Service Health" in stormy[0]  # what to do, as for a storm in one scope

    # The emails say the same: one subject per tenant digest naming the subscriptions.
    subjects = [m["message"]["subject"] for m in mails]
    assert any(s.startswith("[Storm] Automation paused in") and "subscriptions" in s for s in subjects), subjects
    for subject in subjects:  # a digest is a storm's only where the breaker holds automation, and says where
        found = re.search(r"Automation paused in ([\d,]+) scopes?", subject)
        assert found is None or int(found.group(1).replace(",", "")) > 0, subject


def test_a_few_scopes_at_once_are_still_told_one_by_one(make_notifier, azure, store, ticker):
    """Below the crowd (four subscriptions, two VMs each): every incident its own message."""
    notices = regional_incident(4, per_subscription=2)
    run(make_notifier, ticker, notices)
    texts = [json.dumps(p) for p in azure.hooks.received("ops")]
    assert len(texts) == 8 and not any(re.search(r"[\d,]+ subscriptions", t) for t in texts)


def test_messages_folded_into_the_tenant_digest_say_where_they_went(make_notifier, azure, store, ticker):
    run(make_notifier, ticker, regional_incident(25, per_subscription=2))
    folded = [m for m in store.messages("sent") if m.note == "told in the tenant-wide digest"]
    assert folded and all(m.payload is None for m in folded), "a folded message is never rendered nor sent"
    posts = azure.hooks.received("ops")
    assert len(posts) < len(store.messages("sent"))


def test_the_tenant_digest_on_table_storage(make_notifier, azure, ticker, azurite):  # noqa: F811
    """The same fold with the Table Storage outbox: the crowd read from the sender's directory."""
    from ledger.table.outbox import TableOutbox
    from tests.ledger.conftest import fresh_prefix

    outbox = TableOutbox.from_settings({"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    try:
        n = make_notifier(store_=outbox)
        for start in range(0, 50, 25):  # 25 subscriptions, two VMs each, in two deliveries
            n.submit_many(regional_incident(25, per_subscription=2)[start:start + 25])
        n.flush(ticker.advance(minutes=2))
        for _ in range(3):
            n.flush(ticker.advance(minutes=5))
        posts = [json.dumps(p) for p in azure.hooks.received("ops")]
        assert len(posts) == 1 and "50 resources in 25 subscriptions" in posts[0], posts[:1]
        folded = [m for m in outbox.messages("sent") if m.note == "told in the tenant-wide digest"]
        assert len(folded) == 100  # fifty incidents, each on Teams and by email
    finally:
        for name in outbox.tables.values():
            outbox.service.delete_table(name)
        outbox.close()
