"""The ledger tests' fixtures: a real Azurite (Table Storage emulator) started once per session on a
free loopback port, and `backend`: a fresh ledger of each kind for every test.

Azurite comes from npm (package-lock.json pins it); scripts/install-azurite.sh installs it. When it
is missing these tests fail, naming the script: a skipped Table Storage suite would hide the
backend that runs in Azure.
"""

from __future__ import annotations

import uuid

import pytest

from tests.azurite import AzuriteError, running_azurite


@pytest.fixture(scope="session")
def azurite():
    """A connection string for an in-memory Azurite's Table service that lives as long as the test session."""
    try:
        with running_azurite() as connection:
            yield connection
    except AzuriteError as error:
        pytest.fail(str(error), pytrace=False)


def fresh_prefix() -> str:
    return "t" + uuid.uuid4().hex[:16]


def drop_tables(connection: str, ledger) -> None:
    """Remove a test's tables, so a long session does not grow Azurite's memory."""
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(connection) as service:
        for name in ledger.tables.values():
            service.delete_table(name)


@pytest.fixture(params=["sqlite", "table"])
def backend(request):
    """A fresh, empty ledger of each kind: SQLite in memory, or Table Storage under a new prefix."""
    if request.param == "sqlite":
        from ledger import SqliteLedger

        store = SqliteLedger(":memory:")
        yield store
        store.close()
        return
    from ledger import open_ledger

    connection = request.getfixturevalue("azurite")
    store = open_ledger("table", {"table_connection_string": connection, "table_prefix": fresh_prefix()})
    yield store
    store.close()
    drop_tables(connection, store)
