"""A digest's one link: the page listing every approval pending in its storm scope. Looking
decides nothing; each approval on it has its own signed links, whose page asks to confirm; the
list link is signed, expires and is refused when forged, as an approval's link is."""

from __future__ import annotations

from datetime import timedelta

from notify.digest import scope_of
from notify.links import scope_stand_in, sign
from tests.approvals.test_route import call, confirm, route, waiting  # noqa: F401 - the fixtures
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes
from tests.notify.validity import assert_valid_email_html


def scope_of_record(record) -> str:
    from notify.notice import Notice

    region = (record.facts or {}).get("location") or ""
    probe = Notice(incident_id=record.incident_id, event="decided", resource_id=record.resource_id, signal_kind="annotation",
                   signal_name="x", meaning="", occurred=record.created_at, category="", initiator="", impact="",
                   action=record.action, mode=record.mode, status="awaiting-approval", reason="", location=region)
    return scope_of(probe)


def test_the_list_shows_each_pending_approval_with_its_own_links_and_decides_nothing(route, waiting, sim):
    pipeline, pending = waiting
    from approvals import approvals_of

    service = approvals_of(pipeline)
    (record,) = service.pending()
    # What the digest carries is a stand-in; the notifier signs it with the wiring's signer.
    link = sign(scope_stand_in(scope_of_record(record)), service.link_for)
    page = call(route, "GET", link)
    body = page.get_body().decode()
    assert page.status_code == 200 and "1 approval waiting in subscription" in body
    assert "vm-degraded-hw" in body and pending.approve_url in body and pending.reject_url in body
    assert_valid_email_html(body.replace("<!doctype html>", "<!DOCTYPE html>"))  # the same HTML5 checks
    assert call(route, "POST", link, **confirm("approve")).status_code == 405  # a list never decides
    assert not accepted_writes(sim) and service.pending() == [record]
    # Each approval's own link still asks to confirm before anything is done.
    assert call(route, "GET", pending.approve_url).status_code == 200 and not accepted_writes(sim)


def test_the_list_link_follows_the_token_rules(route, waiting, sim):
    pipeline, _ = waiting
    from approvals import approvals_of

    service = approvals_of(pipeline)
    (record,) = service.pending()
    link = service.list_link(scope_of_record(record))
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert call(route, "GET", forged).status_code == 403
    other = call(route, "GET", service.list_link(f"vm:{'0' * 8}-0000-0000-0000-000000000001:westeurope"))
    assert other.status_code == 200 and "0 approvals waiting" in other.get_body().decode()
    later = service.clock() + service.ttl + timedelta(hours=2)
    service.clock = lambda: later
    assert call(route, "GET", link).status_code == 410
    assert DEMO_SUBSCRIPTION in scope_of_record(record)
