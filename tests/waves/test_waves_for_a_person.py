"""Waves for a person: `python -m responder waves` / `waves close ID`, and GET /api/waves and
POST /api/waves/{id}/close called as the Functions host calls them (real func.HttpRequest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.functions as func
import pytest

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SCOPE = "/subscriptions/s1/locations/westeurope"


def stopped_and_open(ledger):
    """A stopped wave (its scope blocked) and an open one in another scope."""
    stopped = ledger.live_wave(SCOPE, "WAVE-stopped01", NOW)["id"]
    ledger.stop_wave(stopped, NOW, "maintenance of vm-1 failed")
    opened = ledger.live_wave(SCOPE + "2", "WAVE-open00001", NOW)["id"]
    return stopped, opened


@pytest.fixture
def state(tmp_path):
    from ledger import SqliteLedger

    path = tmp_path / "ledger.sqlite"
    store = SqliteLedger(str(path))
    stopped_and_open(store)
    store.close()
    return str(path)


def cli(*argv, capsys):
    from responder.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_line_lists_waves_and_closes_a_stopped_one(state, capsys):
    code, out, _ = cli("waves", "--state", state, capsys=capsys)
    assert code == 0 and "WAVE-stopped01  stopped" in out and "(maintenance of vm-1 failed)" in out and "WAVE-open00001  open" in out

    code, out, _ = cli("waves", "close", "WAVE-stopped01", "--by", "ana@contoso.example", "--state", state, capsys=capsys)
    assert code == 0 and out.startswith("closed: WAVE-stopped01  closed") and "closed by ana@contoso.example" in out
    code, out, _ = cli("waves", "--state", state, "--json", capsys=capsys)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["WAVE-open00001"]
    code, out, _ = cli("waves", "--all", "--state", state, "--json", capsys=capsys)
    assert {json.loads(line)["state"] for line in out.splitlines()} == {"closed", "open"}


@pytest.mark.parametrize("argv,problem", [
    (("close", "WAVE-nope"), "no wave WAVE-nope"),
    (("close", "WAVE-open00001"), "wave WAVE-open00001 is open, not stopped: only a stopped wave is closed"),
])
def test_closing_what_cannot_be_closed_says_why(state, capsys, argv, problem):
    code, _, err = cli("waves", *argv, "--state", state, capsys=capsys)
    assert code == 1 and problem in err


@pytest.fixture
def functions(tmp_path):
    from handlers import runtime, waves
    from ledger import SqliteLedger
    from pipeline import Settings
    from wiring import build_pipeline

    app = func.FunctionApp()
    app.register_functions(waves.bp)
    store = SqliteLedger(":memory:")
    stopped_and_open(store)
    runtime.use(build_pipeline(Settings(), ledger=store, notifier=False))
    yield {fn.get_function_name(): fn for fn in app.get_functions()}
    runtime.use(None)
    store.close()


def request(method, route, params=None, headers=None, route_params=None):
    return func.HttpRequest(method, f"https://app.example/api/{route}", params=params or {}, headers=headers or {},
                            route_params=route_params or {}, body=b"")


def test_the_routes_need_a_function_key(functions):
    assert {name: str(fn.get_trigger().auth_level).split(".")[-1].upper() for name, fn in functions.items()} == {
        "waves": "FUNCTION", "close_wave": "FUNCTION"}


def test_the_http_route_lists_and_closes(functions):
    listed = functions["waves"].get_user_function()(request("GET", "waves"))
    assert listed.status_code == 200
    assert {w["id"]: w["state"] for w in json.loads(listed.get_body())["waves"]} == {
        "WAVE-stopped01": "stopped", "WAVE-open00001": "open"}

    close = functions["close_wave"].get_user_function()
    # Sign-in is not on for this app: a principal header is the caller's own text, and is not taken.
    answer = close(request("POST", "waves/WAVE-stopped01/close", route_params={"wave_id": "WAVE-stopped01"},
                           params={"by": "ana@contoso.example"}, headers={"x-ms-client-principal-name": "mallory"}))
    assert answer.status_code == 200
    closed = json.loads(answer.get_body())["closed"]
    assert closed["state"] == "closed" and "closed by ana@contoso.example" in closed["reason"] and "mallory" not in closed["reason"]

    assert close(request("POST", "waves/WAVE-nope/close", route_params={"wave_id": "WAVE-nope"})).status_code == 404
    refused = close(request("POST", "waves/WAVE-open00001/close", route_params={"wave_id": "WAVE-open00001"}))
    assert refused.status_code == 409 and "not stopped" in json.loads(refused.get_body())["error"]["problem"]
