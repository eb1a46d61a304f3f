"""The server core on its own: TLS, routes, the request log, faults."""

from __future__ import annotations

import ssl
import urllib.request

import pytest
import requests

from simulator import SimulatedAzure


@pytest.fixture()
def sim():
    with SimulatedAzure() as s:
        yield s


def _get(sim, path, **kw):
    return requests.get(sim.base_url + path, verify=sim.ca_bundle, timeout=10, **kw)


def test_https_is_trusted_through_the_ca_bundle_for_ip_and_localhost(sim):
    sim.add_route("GET", r"/ping", lambda r: {"pong": True})
    assert _get(sim, "/ping").json() == {"pong": True}
    url = f"https://localhost:{sim.port}/ping"
    assert requests.get(url, verify=sim.ca_bundle, timeout=10).status_code == 200
    ctx = ssl.create_default_context(cafile=sim.ca_bundle)
    with urllib.request.urlopen(sim.base_url + "/ping", context=ctx, timeout=10) as resp:
        assert resp.status == 200


def test_untrusted_without_the_bundle(sim):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(sim.base_url + "/x", timeout=10)


def test_unknown_route_is_an_arm_404(sim):
    r = _get(sim, "/subscriptions/x/nothing?api-version=1")
    assert r.status_code == 404
    assert set(r.json()["error"]) >= {"code", "message"}


def test_later_routes_win_and_see_query_body_and_match(sim):
    sim.add_route("POST", r"/hook/(?P<name>\w+)", lambda r: (200, {"first": True}))
    seen = {}

    def handler(request):
        seen.update(name=request.match["name"], q=request.query, body=request.body)
        return 202, {"ok": True}, {"X-Test": "yes"}

    sim.add_route("POST", r"/hook/(?P<name>\w+)", handler)
    r = requests.post(sim.base_url + "/hook/teams?a=1", json={"x": 1}, verify=sim.ca_bundle, timeout=10)
    assert r.status_code == 202 and r.headers["X-Test"] == "yes"
    assert seen == {"name": "teams", "q": {"a": "1"}, "body": {"x": 1}}
    entry = sim.requests[-1]
    assert (entry.method, entry.path, entry.query, entry.body, entry.status) == ("POST", "/hook/teams", {"a": "1"}, {"x": 1}, 202)
    assert entry["status"] == 202 and entry.time > 0
    # a plugged-in route does not count as an ARM read or write
    assert sim.counters == {"reads": 0, "writes": 0, "polls": 0}


def test_wrong_method_is_405(sim):
    sim.add_route("POST", r"/only-post", lambda r: {})
    assert _get(sim, "/only-post").status_code == 405


@pytest.mark.parametrize("kind,status", [("429", 429), ("500", 500), ("503", 503)])
def test_status_faults_hit_the_first_n_calls(sim, kind, status):
    sim.add_route("GET", r"/thing", lambda r: {"ok": 1})
    sim.faults.add(method="GET", path=r"/thing$", kind=kind, times=2, retry_after=3)
    assert [_get(sim, "/thing").status_code for _ in range(3)] == [status, status, 200]
    if kind in ("429", "503"):
        sim.faults.add(method="GET", path=r"/thing$", kind=kind, times=1, retry_after=3)
        assert _get(sim, "/thing").headers["Retry-After"] == "3"
    assert sim.requests[0].fault == kind


def test_drop_and_slow(sim):
    sim.add_route("GET", r"/thing", lambda r: {"ok": 1})
    sim.faults.add(method="GET", path=r"/thing", kind="drop", times=1)
    with requests.Session() as s:
        with pytest.raises(requests.exceptions.ConnectionError):
            s.get(sim.base_url + "/thing", verify=sim.ca_bundle, timeout=10)
        assert s.get(sim.base_url + "/thing", verify=sim.ca_bundle, timeout=10).status_code == 200
    assert sim.requests[0].status is None
    sim.faults.add(method="*", path=r"/thing", kind="slow", delay=0.3)
    r = _get(sim, "/thing")
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3


def test_unlimited_fault_and_clear(sim):
    sim.add_route("GET", r"/thing", lambda r: {"ok": 1})
    sim.faults.add(path=r"/thing", kind="500", times=None)
    assert [_get(sim, "/thing").status_code for _ in range(3)] == [500] * 3
    sim.faults.clear()
    assert _get(sim, "/thing").status_code == 200


def test_a_failing_route_answers_500_and_keeps_serving(sim):
    sim.add_route("GET", r"/boom", lambda r: 1 / 0)
    sim.add_route("GET", r"/ok", lambda r: {})
    assert _get(sim, "/boom").status_code == 500
    assert _get(sim, "/ok").status_code == 200
