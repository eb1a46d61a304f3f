"""The request counter the Table benchmarks rest on: each request the server gets is one, a
transaction is one whatever it holds, and point reads, queries and writes are told apart."""

from __future__ import annotations

import uuid

import pytest

from tests.azurite import ACCOUNT_KEY

from .counting_proxy import CountingProxy


@pytest.fixture
def counted(azurite):
    from azure.data.tables import TableServiceClient

    proxy = CountingProxy(int(azurite.split("127.0.0.1:")[1].split("/")[0]))
    service = TableServiceClient.from_connection_string(proxy.connection_string(ACCOUNT_KEY))
    table = service.create_table(f"t{uuid.uuid4().hex[:12]}")
    proxy.reset()
    yield proxy, table
    service.delete_table(table.table_name)
    proxy.close()


@pytest.mark.parametrize(("work", "expected"), [
    (lambda t: t.create_entity({"PartitionKey": "p", "RowKey": "r"}), {"write": 1}),
    (lambda t: t.submit_transaction([("create", {"PartitionKey": "p", "RowKey": str(n)}) for n in range(5)]), {"batch": 1}),
    (lambda t: (t.create_entity({"PartitionKey": "p", "RowKey": "r"}), t.get_entity("p", "r")), {"write": 1, "point": 1}),
    (lambda t: list(t.query_entities("PartitionKey eq 'p'")), {"query": 1}),
    (lambda t: list(t.list_entities()), {"query": 1}),
])
def test_each_request_is_counted_once_by_its_kind(counted, work, expected):
    proxy, table = counted
    work(table)
    assert dict(proxy.by_kind()) == expected and proxy.count() == sum(expected.values())


def test_a_refused_write_is_a_request_too(counted):
    from azure.core.exceptions import ResourceExistsError

    proxy, table = counted
    table.create_entity({"PartitionKey": "p", "RowKey": "r"})
    with pytest.raises(ResourceExistsError):
        table.create_entity({"PartitionKey": "p", "RowKey": "r"})
    assert proxy.count("write") == 2


def test_the_bytes_answered_grow_with_what_is_read(counted):
    proxy, table = counted
    table.submit_transaction([("create", {"PartitionKey": "p", "RowKey": f"{n:03}", "text": "x" * 1000}) for n in range(50)])
    proxy.reset()
    table.get_entity("p", "000")
    one = proxy.bytes_answered
    proxy.reset()
    assert len(list(table.query_entities("PartitionKey eq 'p'"))) == 50
    assert one > 1000 and proxy.bytes_answered > 50 * 1000 > 10 * one
