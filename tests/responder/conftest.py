"""A simulated Azure with a healthy deployment of the app, and doctor's context for it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture
def deployed():
    """(sim, deployment): break the deployment's state to make a check fail."""
    from simulator import SimulatedAzure
    from simulator import deployment as sim_deployment

    with SimulatedAzure() as sim:
        deployment = sim_deployment.install(sim, ["00000000-0000-0000-0000-0000000000d1", "00000000-0000-0000-0000-0000000000d2"])
        yield sim, deployment


def doctor(sim, deployment, env_changes=None, references_only=False, wait=0.0):
    """Run every check (or the references check) against the deployment; [(status, name, detail, fix)]."""
    import dataclasses

    from responder.doctor import check
    from responder.doctor.simulated import context_for

    ctx = context_for(sim, deployment)
    if env_changes:
        ctx.target = dataclasses.replace(ctx.target, **env_changes)
    try:
        return check(ctx, references_only, wait)
    finally:
        ctx.reader.close()


# -- Azurite with its Blob and Table services: the dead-letter container and a Table ledger ------


AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's well-known key
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return conn.recv(12).startswith(b"HTTP/1.1")
    except OSError:
        return False


@pytest.fixture(scope="session")
def azurite_storage():
    """A connection string reaching an in-memory Azurite's Blob and Table services on loopback,
    for the test session. Azurite comes from npm (scripts/install-azurite.sh); missing, the tests
    fail naming the script."""
    if not AZURITE.exists():
        pytest.fail(f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing): run scripts/install-azurite.sh", pytrace=False)
    blob, table, queue = _free_port(), _free_port(), _free_port()
    workspace = tempfile.mkdtemp(prefix="azurite-")
    log = open(Path(workspace) / "azurite.log", "w+b")  # noqa: SIM115 (closed below, after the process)
    process = subprocess.Popen(
        [str(AZURITE), "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--tableHost", "127.0.0.1",
         "--tablePort", str(table), "--queueHost", "127.0.0.1", "--queuePort", str(queue), "--skipApiVersionCheck", "--loose",
         "--silent", "--disableTelemetry"],
        cwd=workspace, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (_answers(blob) and _answers(table)):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"Azurite did not start:\n{log.read().decode(errors='replace')[-2000:]}", pytrace=False)
            time.sleep(0.1)
        yield ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
               f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;"
               f"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workspace, ignore_errors=True)
