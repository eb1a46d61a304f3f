"""The Table ledger's operation index: the brakes and the tick read keyed partitions, never the
whole Operations table, and the index never makes the brakes count less than the truth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import builders as b
from tests.azurite import ACCOUNT_KEY
from tests.ledger.test_contract import T0

from .conftest import drop_tables, fresh_prefix
from .counting_proxy import CountingProxy

VM = b.vm_id("vm1")


@pytest.fixture
def counted(azurite):
    from ledger import open_ledger

    proxy = CountingProxy(int(azurite.split("127.0.0.1:")[1].split("/")[0]))
    store = open_ledger("table", {"table_connection_string": proxy.connection_string(ACCOUNT_KEY), "table_prefix": fresh_prefix()})
    yield store, proxy
    store.close()
    drop_tables(azurite, store)
    proxy.close()


def op(store, resource=VM, state="intent", at=T0, action="redeploy", incident="INC-1"):
    return store.record_intent(incident, None, action, resource, "auto", {}, {}, at, state=state)


def queries(proxy) -> list[str]:
    return [target for target, (method, _, kind) in zip(proxy.targets, proxy.requests, strict=True) if kind == "query"]


@pytest.mark.parametrize("read", [
    lambda s: s.count_operations(VM, T0 - timedelta(days=1)),
    lambda s: s.last_operation(VM.lower()),
    lambda s: s.open_operations(),
    lambda s: s.last_operation_of("INC-1", VM.lower(), "redeploy"),
])
def test_the_brakes_and_the_tick_query_one_partition(counted, read):
    store, proxy = counted
    for n in range(5):
        op(store, b.vm_id(f"vm{n}"), at=T0 - timedelta(minutes=n))
    proxy.reset()
    read(store)
    assert queries(proxy) and all("PartitionKey eq" in q for q in queries(proxy)), queries(proxy)


def test_an_index_row_naming_no_operation_is_skipped(counted):
    from ledger.table.operations import by_resource

    store, _ = counted
    op(store, state="running")
    # A worker stopped between writing the index rows and the operation.
    table = store._table("operations")
    table.upsert_entity({"PartitionKey": by_resource(VM), "RowKey": "2026-11-20T09:30:00.000000|0000000000000000042",
                         "operation_id": "0000000000000000042"})
    table.upsert_entity({"PartitionKey": "open", "RowKey": "0000000000000000042", "operation_id": "0000000000000000042"})
    assert store.count_operations(VM) == 1 and store.last_operation(VM.lower())["state"] == "running"
    assert [o["state"] for o in store.open_operations()] == ["running"]


def test_a_finished_operation_leaves_the_open_partition(counted):
    store, _ = counted
    first, second = op(store, state="verifying"), op(store, b.vm_id("vm2"), state="intent")
    assert store.update_operation(first, T0, state="skipped")
    assert [o["id"] for o in store.open_operations()] == [second]
    assert [row["RowKey"] for row in store._table("operations").query_entities("PartitionKey eq 'open'")] == [
        f"{second:019d}"]
    assert store.count_operations(VM, states=("skipped",)) == 1  # the resource's index keeps it


def test_a_ledger_written_before_the_index_is_indexed_on_first_use(counted):
    store, _ = counted
    made = [op(store, state=s, at=T0 - timedelta(hours=h)) for s, h in (("succeeded", 3), ("running", 1))]
    table = store._table("operations")
    for row in list(table.query_entities("PartitionKey ge 'a'")):  # as an older version left it: no index
        table.delete_entity(row["PartitionKey"], row["RowKey"])
    older = type(store)(store.service, prefix=store.prefix)  # a worker started after the upgrade
    assert older.count_operations(VM) == 2 and older.last_operation(VM.lower())["state"] == "running"
    assert [o["id"] for o in older.open_operations()] == [made[1]]


def test_a_follow_ups_signal_is_read_from_its_resources_partition(counted):
    from dataclasses import replace

    from tests.ledger.test_contract import signal

    store, proxy = counted
    sid = store.record_signal(replace(signal(), resource_id=VM), "INC-1", T0)
    proxy.reset()
    assert store.signal(sid, VM.upper())["id"] == sid
    assert proxy.count() == 1 and "PartitionKey eq" in queries(proxy)[0]
    assert store.signal(sid, b.vm_id("elsewhere"))["id"] == sid  # named under another resource: still found
