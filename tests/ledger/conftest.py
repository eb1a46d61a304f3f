"""The ledger tests' fixtures: a real Azurite (Table Storage emulator) started once per session on a
free loopback port, and `backend`: a fresh ledger of each kind for every test.

Azurite comes from npm (package-lock.json pins it); scripts/install-azurite.sh installs it. When it
is missing these tests fail, naming the script: a skipped Table Storage suite would hide the
backend that runs in Azure.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

AZURITE = ROOT / "node_modules" / ".bin" / "azurite-table"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_SECONDS = 30


def connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"GET /devstoreaccount1/Tables HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return conn.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


@pytest.fixture(scope="session")
def azurite():
    """A connection string for an in-memory Azurite that lives as long as the test session."""
    if not AZURITE.exists():
        pytest.fail(
            f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing): run scripts/install-azurite.sh",
            pytrace=False,
        )
    port = free_port()
    workspace = tempfile.mkdtemp(prefix="azurite-")
    log = open(Path(workspace) / "azurite.log", "w+b")
    process = subprocess.Popen(
        [
            str(AZURITE), "--inMemoryPersistence", "--tableHost", "127.0.0.1", "--tablePort", str(port),
            "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
        ],
        cwd=workspace, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"Azurite did not start on port {port}:\n{log.read().decode(errors='replace')[-2000:]}", pytrace=False)
            time.sleep(0.1)
        yield connection_string(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workspace, ignore_errors=True)


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
