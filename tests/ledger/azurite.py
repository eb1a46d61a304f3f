"""A real Azurite (the Table Storage emulator, from npm: scripts/install-azurite.sh) on a free
loopback port, in memory, for the tests and the benchmarks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


class AzuriteError(RuntimeError):
    """Azurite is missing or did not start: says which and how to fix it."""


@contextmanager
def running_azurite() -> Iterator[str]:
    """A connection string for an in-memory Azurite that lives as long as the block."""
    if not AZURITE.exists():
        raise AzuriteError(f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing): run scripts/install-azurite.sh")
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
                raise AzuriteError(f"Azurite did not start on port {port}:\n{log.read().decode(errors='replace')[-2000:]}")
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


