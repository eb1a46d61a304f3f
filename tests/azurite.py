"""Azurite with its Blob and Table services, started on loopback for a test session: Event Grid's
dead-letter container and a Table Storage ledger in one account. Azurite comes from npm
(package-lock.json pins it; scripts/install-azurite.sh installs it); when it is missing the tests
that need it fail naming the script, never skip."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ledger.azurite import ACCOUNT_KEY, answers, free_port

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
STARTUP_SECONDS = 30


@contextmanager
def blob_and_table_storage() -> Iterator[str]:
    """A connection string reaching an in-memory Azurite's Blob and Table services."""
    if not AZURITE.exists():
        pytest.fail(f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing): run scripts/install-azurite.sh", pytrace=False)
    blob, table, queue = free_port(), free_port(), free_port()
    workspace = tempfile.mkdtemp(prefix="azurite-")
    log = open(Path(workspace) / "azurite.log", "w+b")  # closed below, once the process has ended
    process = subprocess.Popen(
        [str(AZURITE), "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--tableHost", "127.0.0.1",
         "--tablePort", str(table), "--queueHost", "127.0.0.1", "--queuePort", str(queue), "--skipApiVersionCheck", "--loose",
         "--silent", "--disableTelemetry"],
        cwd=workspace, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (answers(blob) and answers(table)):
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


def dead_letter_container(connection_string: str, name: str, blobs: dict[str, bytes]) -> None:
    """A dead-letter container holding `blobs` (name -> content), as Event Grid leaves it."""
    from azure.storage.blob import BlobServiceClient

    with BlobServiceClient.from_connection_string(connection_string) as service:
        container = service.create_container(name)
        for blob, content in blobs.items():
            container.upload_blob(blob, content)
