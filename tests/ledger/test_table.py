"""What only the Table Storage backend has: settings, keys and times, error mapping, lazy SDK import."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledger import open_ledger
from ledger.errors import (
    LedgerAccessError,
    LedgerConfigError,
    LedgerError,
    LedgerUnavailableError,
)
from ledger.table import keys
from tests.azurite import ACCOUNT_KEY, connection_string, free_port
from tests.conftest import ROOT
from tests.ledger.conftest import drop_tables, fresh_prefix
from tests.properties import Branches, examples

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)
TABLE_ENV = ("RESPONDER_TABLE_CONNECTION_STRING", "RESPONDER_TABLE_ENDPOINT", "RESPONDER_TABLE_PREFIX")


@pytest.fixture
def no_table_env(monkeypatch):
    for name in TABLE_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- choosing and configuring the backend -------------------------------------------------------


@pytest.mark.parametrize(
    "settings,problem",
    [
        ({}, "RESPONDER_TABLE_CONNECTION_STRING"),
        ({"table_connection_string": "not a connection string"}, "RESPONDER_TABLE_CONNECTION_STRING"),
        ({"table_endpoint": "http://acct.table.core.windows.net"}, "only sent over https"),
        ({"table_connection_string": "UseDevelopmentStorage=true", "table_prefix": "1starts-with-a-digit"}, "RESPONDER_TABLE_PREFIX"),
        ({"table_connection_string": "UseDevelopmentStorage=true", "table_prefix": "has-dash"}, "RESPONDER_TABLE_PREFIX"),
        ({"table_connection_string": "UseDevelopmentStorage=true", "table_prefix": "x" * 49}, "RESPONDER_TABLE_PREFIX"),
    ],
)
def test_settings_that_cannot_work_fail_naming_the_setting(no_table_env, settings, problem):
    with pytest.raises(LedgerConfigError, match=problem):
        open_ledger("table", settings)


def test_an_endpoint_uses_the_apps_identity_and_calls_nothing_until_used(no_table_env):
    from azure.identity import DefaultAzureCredential

    ledger = open_ledger("table", {"table_endpoint": "https://acct.table.core.windows.net"})
    assert ledger.service.url.startswith("https://acct.table.core.windows.net")
    assert isinstance(ledger.service.credential, DefaultAzureCredential)
    assert ledger.tables["deliveries"] == "responderDeliveries", "the default prefix"


def test_the_app_settings_reach_the_ledger_through_the_settings(no_table_env, azurite):
    """The ledger reads no environment: the app's settings reader hands it the table names."""
    from pipeline import Settings

    prefix = fresh_prefix()
    no_table_env.setenv("RESPONDER_TABLE_CONNECTION_STRING", azurite)
    no_table_env.setenv("RESPONDER_TABLE_PREFIX", prefix)
    read = Settings.from_env()
    as_mapping = {"table_connection_string": read.table_connection_string, "table_prefix": read.table_prefix, "table_endpoint": ""}
    for settings in (read, as_mapping):
        ledger = open_ledger("table", settings)
        assert ledger.tables["deliveries"] == prefix + "Deliveries"
        ledger.claim_delivery("grid:env", T0, LEASE)
        ledger.close()
    drop_tables(azurite, ledger)


def test_tables_are_created_on_first_use_under_their_prefix(azurite):
    from azure.data.tables import TableServiceClient

    first = open_ledger("table", {"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    second = open_ledger("table", {"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    try:
        assert first.claim_delivery("grid:same", T0, LEASE) == second.claim_delivery("grid:same", T0, LEASE) == "claimed", "prefixes isolate"
        with TableServiceClient.from_connection_string(azurite) as service:
            names = {t.name for t in service.list_tables()}
        assert first.tables["deliveries"] in names and second.tables["deliveries"] in names
        assert first.tables["decisions"] not in names, "a table appears when it is first used"
    finally:
        for ledger in (first, second):
            ledger.close()
            drop_tables(azurite, ledger)


def test_import_ledger_loads_no_azure_sdk():
    probe = (
        "import sys, ledger, ledger.table, ledger.table.operations\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('azure.data', 'azure.identity', 'azure.core')))))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


# -- errors: what a caller can tell apart ---------------------------------------------------------


class Answering(BaseHTTPRequestHandler):
    """A store that answers every request with one status and Table Storage's error body."""

    status = 503

    def _answer(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"odata.error": {"code": "Failure", "message": {"lang": "en-US", "value": f"answered {self.status}"}}}).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json;odata=minimalmetadata")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def answering():
    servers = []

    def start(status: int) -> str:
        handler = type("Handler", (Answering,), {"status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return connection_string(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "status,error",
    [
        (500, LedgerUnavailableError),
        (503, LedgerUnavailableError),
        (429, LedgerUnavailableError),
        (408, LedgerUnavailableError),
        (401, LedgerAccessError),
        (403, LedgerAccessError),
        (400, LedgerError),
    ],
)
def test_store_answers_become_ledger_errors_a_caller_can_tell_apart(answering, status, error):
    from ledger.table import TableLedger

    ledger = TableLedger.from_settings({"table_connection_string": answering(status)}, retry_total=0)
    with pytest.raises(error) as raised:
        ledger.claim_delivery("grid:x", T0, LEASE)
    assert type(raised.value) is error, "exactly this kind, not a broader or narrower one"
    assert f"HTTP {status}" in str(raised.value) and raised.value.__cause__ is not None


def test_a_store_that_does_not_answer_is_unavailable():
    from ledger.table import TableLedger

    ledger = TableLedger.from_settings({"table_connection_string": connection_string(free_port())}, retry_total=0)
    with pytest.raises(LedgerUnavailableError, match="could not be reached"):
        ledger.claim_delivery("grid:x", T0, LEASE)


def test_a_wrong_account_key_is_refused_access(azurite):
    from ledger.table import TableLedger

    wrong = azurite.replace(ACCOUNT_KEY, "A" * 86 + "==")
    ledger = TableLedger.from_settings({"table_connection_string": wrong, "table_prefix": fresh_prefix()}, retry_total=0)
    with pytest.raises(LedgerAccessError, match="403"):
        ledger.claim_delivery("grid:x", T0, LEASE)


# -- keys, times and ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["/subscriptions/x/resourceGroups/rg", "back\\slash", "hash#", "question?", "tab\tnew\nline\x00", "é東京", "x" * 5000, ""],
)
def test_keys_hold_only_what_table_storage_allows(value):
    key = keys.hashed(value)
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    "at,stamped",
    [
        (T0, "2026-11-20T09:00:00.000000+00:00"),
        (T0.replace(microsecond=5), "2026-11-20T09:00:00.000005+00:00"),
        (datetime(2026, 11, 20, 11, 0, tzinfo=timezone(timedelta(hours=2))), "2026-11-20T09:00:00.000000+00:00"),
        (datetime(2026, 11, 20, 9, 0), "2026-11-20T09:00:00.000000+00:00"),  # naive is taken as UTC
    ],
)
def test_times_are_stored_in_utc_with_a_fixed_width(at, stamped):
    assert keys.stamp(at) == stamped and keys.parse_stamp(stamped) == at.replace(tzinfo=at.tzinfo or UTC)


def test_stored_times_sort_as_the_times_do():
    seen = Branches()

    @hypothesis_settings(max_examples=examples(100), deadline=None)
    @given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()), min_size=2, max_size=8))
    def run(times):
        assert [keys.stamp(t) for t in sorted(times)] == sorted(keys.stamp(t) for t in times)
        if len({t.utcoffset() for t in times}) > 1:
            seen.reached("offsets differ")
        if sorted(times, key=lambda t: t.replace(tzinfo=None)) != sorted(times):
            seen.reached("wall-clock order is not the order in time")  # what a stamp without UTC would get wrong

    run()
    seen.assert_reached("offsets differ", "wall-clock order is not the order in time")


def test_ids_increase_within_a_worker_and_fit_a_signed_64_bit_integer():
    ids = keys.Ids()
    made = [ids.next() for _ in range(5000)]
    assert made == sorted(set(made)) and made[-1] < 2**63
    assert [keys.id_key(i) for i in made] == sorted(keys.id_key(i) for i in made)


# -- signal rows: derived from the delivery, earlier ones drawn from the clock --------------------


def test_a_delivery_recorded_again_writes_its_one_signal_row_over_and_earlier_rows_still_read(azurite):
    """The signal's row key and id come from its delivery key: a second attempt at the delivery
    writes the same row (with what it decided now); rows written by earlier versions (ids drawn
    from `keys.Ids`) are read, counted and found by id as before."""
    from rules import Signal

    def signal(delivery: str, occurred=T0) -> Signal:
        return Signal(source="event-grid", event_id=delivery, kind="annotation", name="AccelnetUnhealthy",
                      resource_id="/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1",
                      occurred=occurred, summary="s", input="test", delivery_key=f"grid:{delivery}" if delivery else "")

    ledger = open_ledger("table", {"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    try:
        first = ledger.record_signal(signal("d-1"), "INC-1", T0)
        again = ledger.record_signal(signal("d-1"), "INC-2", T0 + timedelta(seconds=5))
        other = ledger.record_signal(signal("d-2"), "INC-2", T0)
        by_hand = {ledger.record_signal(signal(""), "INC-3", T0) for _ in range(2)}
        assert first == again != other and len(by_hand) == 2, "one id per delivery; a signal with none draws its own"
        assert 0 < first < 2**63 and first == keys.derived_id("grid:d-1", "d-1", signal("d-1").resource_key, keys.stamp(T0))

        earlier = keys.Ids().next()  # a row an earlier version wrote: the same layout, an id from the clock
        old = signal("d-0", occurred=T0 - timedelta(minutes=1))
        partition = keys.resource_log_partition(old.resource_key)
        ledger._table("log").create_entity({
            "PartitionKey": partition, "RowKey": f"sig|{keys.stamp(old.occurred)}|{keys.id_key(earlier)}", "id": keys.id_key(earlier),
            "delivery_key": old.delivery_key, "incident_id": "INC-0", "source": old.source, "event_id": old.event_id,
            "kind": old.kind, "name": old.name, "resource_key": old.resource_key, "resource_id": old.resource_id,
            "occurred": keys.stamp(old.occurred), "received": keys.stamp(old.occurred), "input": "test", "summary": "s",
            "facts": "{}"})

        rows = ledger.recorded_signals()
        assert sorted(row["id"] for row in rows) == sorted([earlier, first, other, *by_hand]), "one row for d-1"
        assert next(row for row in rows if row["id"] == first)["incident_id"] == "INC-2", "the later attempt's"
        assert ledger.signal(earlier)["delivery_key"] == "grid:d-0" and ledger.signal(first)["delivery_key"] == "grid:d-1"
        assert ledger.count_occurrences(old.resource_key, old.name, T0 - timedelta(hours=1), T0) == 2, "two times"
    finally:
        drop_tables(azurite, ledger)


# -- claims written by earlier versions ------------------------------------------------------


def test_a_claim_settled_before_leases_had_rows_is_still_a_duplicate(azurite):
    """Earlier versions kept a claim as one entity (RowKey "", `decided`): such a delivery is
    answered as decided, with no migration."""
    ledger = open_ledger("table", {"table_connection_string": azurite, "table_prefix": fresh_prefix()})
    try:
        ledger._table("deliveries").create_entity({"PartitionKey": keys.hashed("grid:old"), "RowKey": "", "key": "grid:old",
                                                    "first_seen": keys.stamp(T0), "decided": True})
        assert ledger.claim_delivery("grid:old", T0 + LEASE, LEASE) == "decided"
        assert ledger.claim_delivery("grid:new", T0, LEASE) == "claimed"
        ledger.settle_delivery("grid:new", T0)
        rows = {row["RowKey"]: row for row in ledger._table("deliveries").query_entities(
            "PartitionKey eq @p", parameters={"p": keys.hashed("grid:new")})}
        assert list(rows) == [keys.CLAIM_ROW] and rows[keys.CLAIM_ROW]["decided"] is True, "settled: the lease is gone"
    finally:
        drop_tables(azurite, ledger)


def test_the_storm_count_adds_the_counter_rows_every_worker_stored(azurite):
    """Each worker keeps its own counter row per scope and minute; a count reads them all."""
    prefix = fresh_prefix()
    settings = {"table_connection_string": azurite, "table_prefix": prefix}
    first, second = open_ledger("table", settings), open_ledger("table", settings)
    try:
        for name in ("vm1", "vm2", "vm3"):
            first.mark_unhealthy("sub:1", name, T0 - timedelta(minutes=3))
        second.mark_unhealthy("sub:1", "vm4", T0)
        second.mark_unhealthy("sub:1", "vm1", T0)  # the same resource again, on another worker
        first.close()  # stores what it holds
        second._store_counters()
        rows = list(second._table("unhealthy").list_entities())
        assert {row["RowKey"].split("|")[0] for row in rows} == {"n"} and len(rows) == 3, "a row per worker and minute"
        assert second.count_unhealthy("sub:1", T0 - timedelta(minutes=15)) == 4
        assert second.count_unhealthy("sub:1", T0 - timedelta(minutes=1)) == 2
    finally:
        drop_tables(azurite, second)


@pytest.mark.parametrize("services, named", [((), "none named"), (("table", "files"), "files")])
def test_the_azurite_launcher_refuses_a_service_it_does_not_have(services, named):
    from tests.azurite import running_azurite

    with pytest.raises(ValueError, match=f"Azurite services: {named}; expected some of blob, queue, table"):
        with running_azurite(services):
            pass
