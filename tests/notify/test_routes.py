"""Routes: policy names where a notice goes; settings say how to get there."""

from __future__ import annotations

import json

import pytest

from ledger.sqlite.outbox import SqliteOutbox
from notify import NotifyConfigError, owner_emails
from notify.routes import Router, parse_route, parse_routes

from .conftest import notice, notifier_from


@pytest.mark.parametrize(
    "spec,expected",
    [
        ({"teams": "ops"}, dict(channel="teams", webhook="ops")),
        ({"email": "owner-tag"}, dict(channel="email", owner_tag=True)),
        ({"email": "default"}, dict(channel="email", default_recipients=True)),
        ({"email": ["A@contoso.com", "b@contoso.com"]}, dict(channel="email", recipients=("a@contoso.com", "b@contoso.com"))),
        ({"email": "a@contoso.com; b@contoso.com"}, dict(channel="email", recipients=("a@contoso.com", "b@contoso.com"))),
    ],
)
def test_route_specs(spec, expected):
    route = parse_route("r", spec)
    for key, value in expected.items():
        assert getattr(route, key) == value


@pytest.mark.parametrize("spec", [{"slack": "x"}, {"teams": ""}, {"email": ["not-an-address"]}, "ops", {"teams": "a", "email": "default"}])
def test_bad_route_specs_fail_loudly(spec):
    with pytest.raises(NotifyConfigError):
        parse_route("r", spec)


@pytest.mark.parametrize(
    "tags,expected",
    [
        ({"owner": "alice@contoso.com"}, ("alice@contoso.com",)),
        ({"Owner": "alice@contoso.com, bob@contoso.com"}, ("alice@contoso.com", "bob@contoso.com")),
        ({"owner-email": "carol@contoso.com"}, ("carol@contoso.com",)),
        ({"owner": "team-web"}, ()),  # not an address: ignored
        ({}, ()),
        (None, ()),
    ],
)
def test_owner_addresses_come_from_tags(tags, expected):
    assert owner_emails(tags) == expected


def router(**kw) -> Router:
    defaults = dict(webhooks={"ops": "https://x/ops", "dev": "https://x/dev"}, mail_sender="responder@contoso.com", mail_to=("ops@contoso.com",))
    defaults.update(kw)
    routes = parse_routes({"dev-teams": {"teams": "dev"}, "oncall-email": {"email": ["oncall@contoso.com"]}})
    return Router(routes, **defaults)


@pytest.mark.parametrize(
    "routes,owners,keys,missing",
    [
        ((), (), ["teams:ops", "email:ops@contoso.com"], []),  # defaults
        (("dev-teams",), (), ["teams:dev"], []),
        (("owner-email",), ("owner@contoso.com",), ["email:owner@contoso.com"], []),
        (("owner-email",), (), ["email:ops@contoso.com"], []),  # no owner tag: default recipients, with a note
        (("oncall-email", "ops-teams"), (), ["email:oncall@contoso.com", "teams:ops"], []),
        (("no-such",), (), ["teams:ops", "email:ops@contoso.com"], ["no-such"]),  # unknown: fall back, report
        (("ops-teams", "ops-teams"), (), ["teams:ops"], []),  # one place, once
    ],
)
def test_routes_resolve_to_destinations(routes, owners, keys, missing):
    found, unrouted = router().resolve(notice(routes=routes, owner_emails=owners))
    assert [d.key for d in found] == keys
    assert [u.route for u in unrouted] == missing


@pytest.mark.parametrize(
    "webhooks,routes,keys",
    [
        ({"ops-teams": "https://x/1", "dev-teams": "https://x/2"}, ("ops-teams",), ["teams:ops-teams"]),  # keyed by route name
        ({"ops-teams": "https://x/1", "sre": "https://x/2"}, ("sre",), ["teams:sre"]),  # a webhook name used as a route
        ({"ops": "https://x/1", "ops-teams": "https://x/2"}, ("ops-teams",), ["teams:ops"]),  # the policy route wins
    ],
)
def test_webhooks_may_be_keyed_by_route_name(webhooks, routes, keys):
    found, unrouted = Router(parse_routes({}), webhooks=webhooks, mail_sender=None, mail_to=()).resolve(notice(routes=routes))
    assert [d.key for d in found] == keys and unrouted == []


def test_a_missing_webhook_is_reported_not_raised():
    found, unrouted = router(webhooks={"a": "https://x/a", "b": "https://x/b"}).resolve(notice(routes=("dev-teams",)))
    assert [u.route for u in unrouted][:1] == ["dev-teams"]


@pytest.mark.parametrize(
    "settings",
    [
        {"RESPONDER_TEAMS_WEBHOOKS": "{not json"},
        {"RESPONDER_TEAMS_WEBHOOKS": json.dumps(["https://x"])},
        {"RESPONDER_NOTIFY_ROUTES": json.dumps({"x": {"pager": 1}})},
        {"notify_default_routes": ["nowhere"]},
        {"RESPONDER_NOTIFY_DIGEST_WINDOW": "five"},
    ],
)
def test_settings_that_cannot_work_fail_at_start(settings):
    with pytest.raises(NotifyConfigError):
        notifier_from(settings, SqliteOutbox(":memory:"), lambda: None)


def test_policy_routes_come_as_a_mapping_or_json():
    for value in ({"pager": {"email": "p@contoso.com"}}, json.dumps({"pager": {"email": "p@contoso.com"}})):
        n = notifier_from({"RESPONDER_MAIL_SENDER": "r@contoso.com", "notify_routes": value, "RESPONDER_TEAMS_WEBHOOKS": "{}"}, SqliteOutbox(":memory:"), lambda: None, channels={})
        assert n.router.routes["pager"].recipients == ("p@contoso.com",)
