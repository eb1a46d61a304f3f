"""A real Azurite (Azure Storage's emulator, from npm: package-lock.json pins it,
scripts/install-azurite.sh installs it) on free loopback ports, in memory, for the tests and the
benchmarks: the one launcher, with the services a caller needs. The Table service alone for a
Table Storage ledger; Blob and Table for Event Grid's dead-letter container beside a ledger.

When Azurite is missing the launcher raises AzuriteError naming the script; the session fixtures
turn it into a failure, never a skip: a skipped Table Storage suite would hide the backend that
runs in Azure.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Azurite's services, each with the connection string's name for its endpoint.
ENDPOINTS = {"blob": "BlobEndpoint", "queue": "QueueEndpoint", "table": "TableEndpoint"}
STARTUP_SECONDS = 30


class AzuriteError(RuntimeError):
    """Azurite is missing or did not start: says which and how to fix it."""


def connection_string(port: int, service: str = "table") -> str:
    """The connection string of one service of the emulator's account on a loopback port."""
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
            f"{ENDPOINTS[service]}=http://127.0.0.1:{port}/devstoreaccount1;")


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


@contextmanager
def running_azurite(services: tuple[str, ...] = ("table",)) -> Iterator[str]:
    """A connection string reaching `services` (of blob, queue, table) of an in-memory Azurite
    that lives as long as the block. One service runs as its own program (`azurite-table`);
    more than one as `azurite`, which starts all three, each on a port of its own."""
    unknown = sorted(set(services) - set(ENDPOINTS))
    if not services or unknown:
        raise ValueError(f"Azurite services: {', '.join(unknown) or 'none named'}; expected some of {', '.join(ENDPOINTS)}")
    program = BIN / (f"azurite-{services[0]}" if len(services) == 1 else "azurite")
    if not program.exists():
        raise AzuriteError(f"Azurite is not installed ({program.relative_to(ROOT)} is missing): run scripts/install-azurite.sh")
    started = services if len(services) == 1 else tuple(ENDPOINTS)
    ports = {service: free_port() for service in started}
    workspace = tempfile.mkdtemp(prefix="azurite-")
    log = open(Path(workspace) / "azurite.log", "w+b")  # closed below, once the process has ended
    where = [arg for service in started for arg in (f"--{service}Host", "127.0.0.1", f"--{service}Port", str(ports[service]))]
    process = subprocess.Popen(
        [str(program), "--inMemoryPersistence", *where, "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"],
        cwd=workspace, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not all(answers(ports[service]) for service in services):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AzuriteError(f"Azurite ({', '.join(services)}) did not start on ports {ports}:\n"
                                   f"{log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
               + "".join(f"{ENDPOINTS[service]}=http://127.0.0.1:{ports[service]}/devstoreaccount1;" for service in services))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workspace, ignore_errors=True)


def dead_letter_container(connection_string: str, name: str, blobs: dict[str, bytes]) -> None:
    """A dead-letter container holding `blobs` (name -> content), as Event Grid leaves it."""
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(connection_string) as service:
        container = service.create_container(name)
        for blob, content in blobs.items():
            container.upload_blob(blob, content)
