"""`python -m responder replay --deadletter`: Event Grid's dead-letter container (Azurite's Blob
service), replayed into a ledger (a SQLite file, or Table Storage on Azurite) by a real process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid

import pytest

from responder.deadletters import DeadLetterError, DeadLetterSource
from tests import builders as b
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("fresh_events")

SUBSCRIPTION_FOLDER = "RESPONDER-HEALTH-EVENTS"  # Event Grid names blobs after the event subscription, in capitals


def dead_lettered(event: dict, reason: str = "MaxDeliveryAttemptsExceeded", attempts: int = 30) -> dict:
    """An event as Event Grid writes it into the dead-letter container: the delivered event plus
    the story of its delivery (learn.microsoft.com, Event Grid "Delivery and retry")."""
    return {**event, "deadLetterReason": reason, "deliveryAttempts": attempts, "lastDeliveryOutcome": "TimedOut",
            "publishTime": event["eventTime"], "lastDeliveryAttemptTime": event["eventTime"]}


def blob_name(hour: int) -> str:
    return f"{SUBSCRIPTION_FOLDER}/2026/12/4/{hour}/{uuid.uuid4()}.json"


def responder(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "AZURE_"))}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "responder", *args], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env=environment)


def lines(run) -> list[dict]:
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


@pytest.fixture
def container(azurite_storage):
    """A fresh dead-letter container on Azurite; (name, {blob name: what it holds})."""
    from azure.storage.blob import BlobServiceClient

    name = f"deadletter-{uuid.uuid4().hex[:12]}"
    with BlobServiceClient.from_connection_string(azurite_storage) as service:
        service.create_container(name)
        yield name, service.get_container_client(name)
        service.delete_container(name)


def fill(client) -> dict[str, str]:
    """Four blobs: two events, a duplicate of one of them, a blob that is not JSON, an event that
    names no resource. Returns {role: blob name}."""
    first, second = b.annotated("AccelnetUnhealthy", target=b.vm_id("vm-dl-1")), b.annotated(target=b.vm_id("vm-dl-2"))
    nameless = b.annotated(target="not-an-arm-id")
    blobs = {
        "two events": (blob_name(9), json.dumps([dead_lettered(first), dead_lettered(second, "UndeliverableDueToClientError", 1)])),
        "a duplicate": (blob_name(10), json.dumps([dead_lettered(first)])),
        "not JSON": (blob_name(11), '[{"id": "cut off'),
        "no resource": (blob_name(12), json.dumps([dead_lettered(nameless)])),
    }
    for name, content in blobs.values():
        client.upload_blob(name, content.encode())
    return {role: name for role, (name, _) in blobs.items()}


@pytest.fixture(params=["sqlite", "table"])
def ledger_env(request, tmp_path, azurite_storage):
    """RESPONDER_LEDGER for the shared ledger: a SQLite file, or Table Storage on Azurite."""
    env = {"RESPONDER_DEADLETTER_CONNECTION_STRING": azurite_storage}
    if request.param == "sqlite":
        return {**env, "RESPONDER_LEDGER": f"sqlite:{tmp_path / 'ledger.sqlite'}"}
    return {**env, "RESPONDER_LEDGER": "table", "RESPONDER_TABLE_CONNECTION_STRING": azurite_storage,
            "RESPONDER_TABLE_PREFIX": "t" + uuid.uuid4().hex[:12]}


def test_each_event_once_with_a_report_per_blob_and_a_second_run_changes_nothing(container, ledger_env):
    name, client = container
    roles = fill(client)
    first = responder("replay", "--deadletter", name, "--json", env=ledger_env)
    assert first.returncode == 2, first.stderr  # some blob was rejected
    assert "temporary ledger" not in first.stderr  # RESPONDER_LEDGER is the ledger
    reports = {line["deadletter"]["blob"]: line["deadletter"] for line in lines(first) if "deadletter" in line}
    assert list(reports) == list(roles.values())  # every blob, in the order written (hours 9 to 12, not 10, 11, 12, 9)
    counts = {role: (reports[blob]["accepted"], reports[blob]["duplicate"], reports[blob]["rejected"]) for role, blob in roles.items()}
    assert counts == {"two events": (2, 0, 0), "a duplicate": (0, 1, 0), "not JSON": (0, 0, 1), "no resource": (0, 0, 1)}
    assert reports[roles["two events"]]["dead_letter_reasons"] == {"MaxDeliveryAttemptsExceeded": 1, "UndeliverableDueToClientError": 1}
    (not_json,) = reports[roles["not JSON"]]["reasons"]
    assert not_json.startswith(f"{roles['not JSON']}: blob: is not JSON")
    (no_resource,) = reports[roles["no resource"]]["reasons"]
    assert no_resource.startswith(roles["no resource"]) and "ARM resource" in no_resource
    decided = [line for line in lines(first) if line.get("status") not in (None, "rejected", "duplicate")]
    assert sorted(line["resource_id"].rsplit("/", 1)[-1] for line in decided) == ["vm-dl-1", "vm-dl-2"]
    (summary,) = [line["deadletters"] for line in lines(first) if "deadletters" in line]
    assert (summary["blobs"], summary["events"], summary["accepted"], summary["duplicate"], summary["rejected"]) == (4, 5, 2, 1, 2)

    audit_before = responder("audit", "--json", env=ledger_env)
    second = responder("replay", "--deadletter", name, env=ledger_env)
    assert second.returncode == 2
    assert "nothing new: every readable event was already in the ledger; 2 rejected" in second.stdout
    assert f"{roles['a duplicate']}: 0 accepted, 1 duplicate, 0 rejected" in second.stdout
    assert f"{roles['two events']}: 0 accepted, 2 duplicate, 0 rejected" in second.stdout
    incidents = [json.loads(line) for line in audit_before.stdout.splitlines()]
    assert len(incidents) == 2
    again = [json.loads(line) for line in responder("audit", "--json", env=ledger_env).stdout.splitlines()]
    assert [(i["incident_id"], i["closed_at"]) for i in again] == [(i["incident_id"], i["closed_at"]) for i in incidents]


def test_a_prefix_reads_only_that_folder(container, tmp_path, azurite_storage):
    name, client = container
    fill(client)
    other = f"OTHER-SUBSCRIPTION/2026/12/4/9/{uuid.uuid4()}.json"
    client.upload_blob(other, json.dumps([dead_lettered(b.annotated(target=b.vm_id("vm-dl-9")))]).encode())
    run = responder("replay", "--deadletter", name, "--deadletter-prefix", "OTHER-SUBSCRIPTION/", "--state", str(tmp_path / "l.sqlite"),
                    env={"RESPONDER_DEADLETTER_CONNECTION_STRING": azurite_storage})
    assert run.returncode == 0, run.stderr
    assert f"{other}: 1 accepted, 0 duplicate, 0 rejected" in run.stdout and "1 blobs, 1 events" in run.stdout


def test_files_and_dead_letters_in_one_run_share_the_ledger(container, tmp_path, azurite_storage):
    name, client = container
    event = b.annotated("AccelnetUnhealthy", target=b.vm_id("vm-dl-1"))
    client.upload_blob(blob_name(9), json.dumps([dead_lettered(event)]).encode())
    delivered = tmp_path / "delivered.json"
    delivered.write_bytes(b.body([event]))  # it was delivered after all, before the replay
    run = responder("replay", str(delivered), "--deadletter", name, "--json",
                    env={"RESPONDER_DEADLETTER_CONNECTION_STRING": azurite_storage})
    assert run.returncode == 0, run.stderr
    assert [line["status"] for line in lines(run) if "status" in line] == ["planned", "duplicate"]
    assert "temporary ledger" in run.stderr


def test_an_empty_container_says_there_is_nothing(container, tmp_path, azurite_storage):
    run = responder("replay", "--deadletter", container[0], "--state", str(tmp_path / "l.sqlite"),
                    env={"RESPONDER_DEADLETTER_CONNECTION_STRING": azurite_storage})
    assert run.returncode == 0 and "nothing to replay: the container holds no dead letters" in run.stdout


@pytest.mark.parametrize(("where", "connection", "problem"), [
    ("no-such-container", "azurite", "--deadletter no-such-container: no such container"),
    ("{container}", "wrong key", "access denied; the identity needs Storage Blob Data Reader"),
    ("eventgrid-deadletter", None, "a container name alone needs RESPONDER_DEADLETTER_CONNECTION_STRING"),
    ("http://account.blob.core.windows.net/c", None, "expected https://ACCOUNT.blob.core.windows.net/CONTAINER"),
    ("https://account.blob.core.windows.net/c/HEALTH/2026", None, "a folder inside it goes in --deadletter-prefix"),
    ("a/b/c", None, "expected https://ACCOUNT.blob.core.windows.net/CONTAINER, ACCOUNT/CONTAINER"),
])
def test_a_container_that_cannot_be_read_is_a_clear_error(where, connection, problem, tmp_path, azurite_storage, container):
    from tests.azurite import ACCOUNT_KEY

    strings = {"azurite": azurite_storage, "wrong key": azurite_storage.replace(ACCOUNT_KEY, "d3Jvbmcta2V5" * 7 + "AA==")}
    env = {"RESPONDER_DEADLETTER_CONNECTION_STRING": strings[connection]} if connection else {}
    run = responder("replay", "--deadletter", where.replace("{container}", container[0]), "--state", str(tmp_path / "l.sqlite"), env=env)
    assert run.returncode == 1 and problem in run.stderr, run.stderr


def test_a_blob_too_large_is_rejected_unread_and_a_blob_larger_than_a_batch_goes_in_slices(container, tmp_path, azurite_storage,
                                                                                            monkeypatch):
    from pipeline import Settings
    from responder import deadletters
    from responder.replay import replay

    name, client = container
    events = [dead_lettered(b.annotated(target=b.vm_id(f"vm-dl-{n}"))) for n in range(3)]
    sliced, large = blob_name(9), blob_name(10)
    client.upload_blob(sliced, json.dumps(events).encode())
    client.upload_blob(large, json.dumps(events * 20).encode())
    monkeypatch.setattr(deadletters, "MAX_EVENTS", 2)
    monkeypatch.setattr(deadletters, "MAX_BLOB_BYTES", len(json.dumps(events)) + 1)
    out, err = io.StringIO(), io.StringIO()
    source = DeadLetterSource.parse(name, connection_string=azurite_storage)
    status = replay([], Settings(ledger=f"sqlite:{tmp_path / 'l.sqlite'}"), True, out, err=err, deadletter=source)
    found = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 2
    assert [(o["input"], o["status"]) for o in found if "status" in o] == [
        (f"{sliced}[0:2]", "planned"), (f"{sliced}[0:2]", "planned"), (f"{sliced}[2:3]", "planned"), (large, "rejected")]
    (rejected,) = [o["reason"] for o in found if o.get("status") == "rejected"]
    assert f"{large}: blob: is {len(json.dumps(events * 20))} bytes, more than the" in rejected


def test_replay_needs_files_or_dead_letters():
    run = responder("replay")
    assert run.returncode == 2 and "replay needs FILE... or --deadletter CONTAINER" in run.stderr


@pytest.mark.parametrize(("where", "container", "account_url"), [
    ("https://stresponder.blob.core.windows.net/eventgrid-deadletter", "eventgrid-deadletter", "https://stresponder.blob.core.windows.net"),
    ("https://stresponder.blob.core.windows.net/eventgrid-deadletter/", "eventgrid-deadletter", "https://stresponder.blob.core.windows.net"),
    ("stresponder/eventgrid-deadletter", "eventgrid-deadletter", "https://stresponder.blob.core.windows.net"),
])
def test_the_container_is_named_by_url_or_account(where, container, account_url):
    source = DeadLetterSource.parse(where, "HEALTH/")
    assert (source.container, source.account_url, source.connection_string, source.prefix) == (container, account_url, "", "HEALTH/")


def test_with_a_connection_string_a_bare_container_will_do():
    source = DeadLetterSource.parse("eventgrid-deadletter", connection_string="UseDevelopmentStorage=true")
    assert (source.container, source.account_url) == ("eventgrid-deadletter", "")
    with pytest.raises(DeadLetterError, match="ACCOUNT/eventgrid-deadletter"):
        DeadLetterSource.parse("eventgrid-deadletter")
