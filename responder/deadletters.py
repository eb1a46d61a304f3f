"""`python -m responder replay --deadletter WHERE`: the events Event Grid dead-lettered, replayed
into the ledger through the same intake as a delivery file.

Event Grid writes an event it gave up on (its retries spent or its time to live over, or at once
after a 400 or 413) into the subscription's dead-letter container: a blob holding a JSON array
of events in the subscription's schema, each with the story of its delivery added
(`deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`, `publishTime`,
`lastDeliveryAttemptTime`). Blobs are named by subscription and the hour they were written:
`{SUBSCRIPTION NAME IN CAPITALS}/{yyyy}/{M}/{d}/{H}/{guid}.json` (learn.microsoft.com: Azure Event
Grid, "Delivery and retry" and "Set dead-letter location and retry policy"). The replay reads
every blob (or those under `--deadletter-prefix`) in the order they were written: by the hour
in the name (not padded, so `.../4/10/` sorts before `.../4/9/` as text), then by the time the
blob was last written.

Each event is replayed once: the ledger keeps every event id it saw, so an event already in it
(delivered before it was dead-lettered, or replayed by an earlier run) is a duplicate, and a
second run replays nothing new and says so. Blobs are only read, never moved or deleted:
reading needs no more than Storage Blob Data Reader, and a run can be repeated safely; the
operator deletes what is done (or lets a lifecycle rule expire it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from intake.deliveries import MAX_EVENTS, parse_delivery
from pipeline import Outcome, Pipeline

# A dead-letter blob gathers the events of one subscription over a while; far more than one
# delivery body, so its own bound, large enough for any Event Grid batch of events at 1 MB each.
MAX_BLOB_BYTES = 64 * 1024 * 1024
BLOB_SUFFIX = "blob.core.windows.net"


class DeadLetterError(ValueError):
    """The dead-letter container cannot be named or read; the message says which and why."""


@dataclass(frozen=True)
class DeadLetterSource:
    """Where the dead letters are: a container, reached with a connection string or an identity."""

    container: str
    account_url: str = ""  # https://ACCOUNT.blob.core.windows.net, read with DefaultAzureCredential
    connection_string: str = ""  # RESPONDER_DEADLETTER_CONNECTION_STRING (Azurite, or a key)
    prefix: str = ""

    @classmethod
    def parse(cls, where: str, prefix: str = "", connection_string: str = "") -> DeadLetterSource:
        """`https://ACCOUNT.blob.core.windows.net/CONTAINER` or `ACCOUNT/CONTAINER` (read with
        DefaultAzureCredential), or a bare `CONTAINER` with RESPONDER_DEADLETTER_CONNECTION_STRING."""
        text = where.strip().rstrip("/")
        if "://" in text:
            url = urlsplit(text)
            parts = [p for p in url.path.split("/") if p]
            if url.scheme != "https" or not url.netloc or len(parts) != 1:
                raise DeadLetterError(f"--deadletter {where}: expected https://ACCOUNT.{BLOB_SUFFIX}/CONTAINER "
                                      "(a folder inside it goes in --deadletter-prefix)")
            return cls(parts[0], account_url=f"https://{url.netloc}", prefix=prefix)
        parts = [p for p in text.split("/") if p]
        if len(parts) == 2:
            return cls(parts[1], account_url=f"https://{parts[0]}.{BLOB_SUFFIX}", prefix=prefix)
        if len(parts) == 1 and connection_string:
            return cls(parts[0], connection_string=connection_string, prefix=prefix)
        if len(parts) == 1:
            raise DeadLetterError(f"--deadletter {where}: a container name alone needs RESPONDER_DEADLETTER_CONNECTION_STRING; "
                                  f"otherwise name the account: ACCOUNT/{parts[0]} or https://ACCOUNT.{BLOB_SUFFIX}/{parts[0]}")
        raise DeadLetterError(f"--deadletter {where}: expected https://ACCOUNT.{BLOB_SUFFIX}/CONTAINER, ACCOUNT/CONTAINER, "
                              "or CONTAINER with RESPONDER_DEADLETTER_CONNECTION_STRING")

    @property
    def name(self) -> str:
        return f"{self.account_url}/{self.container}" if self.account_url else self.container

    def client(self) -> Any:
        from azure.storage.blob import ContainerClient  # here: only this command pays for the SDK

        if self.connection_string:
            return ContainerClient.from_connection_string(self.connection_string, self.container)
        from azure.identity import DefaultAzureCredential

        return ContainerClient(self.account_url, self.container, credential=DefaultAzureCredential())


@dataclass
class BlobReport:
    """What became of one blob's events."""

    blob: str
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)  # each rejection's reason
    dead_lettered: Counter = field(default_factory=Counter)  # Event Grid's deadLetterReason -> events

    def count(self, outcome: Outcome) -> None:
        if outcome.status == "duplicate":
            self.duplicate += 1
        elif outcome.status == "rejected":
            self.rejected += 1
            self.reasons.append(outcome.reason)
        else:
            self.accepted += 1

    def to_dict(self) -> dict[str, Any]:
        return {"blob": self.blob, "accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected,
                "reasons": self.reasons, "dead_letter_reasons": dict(self.dead_lettered)}

    def line(self) -> str:
        told = f"{self.blob}: {self.accepted} accepted, {self.duplicate} duplicate, {self.rejected} rejected"
        if self.dead_lettered:
            told += " (dead-lettered: " + ", ".join(f"{reason} x{n}" for reason, n in sorted(self.dead_lettered.items())) + ")"
        return "\n".join([told, *(f"    rejected: {reason}" for reason in self.reasons)])


def blobs(source: DeadLetterSource) -> Iterator[tuple[str, int, bytes | None]]:
    """(name, size, content) for each blob under the prefix, in name order; content None when the
    blob is too large to read."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

    client = source.client()
    try:
        listed = sorted(client.list_blobs(name_starts_with=source.prefix or None), key=written)
        for item in listed:
            content = client.download_blob(item.name).readall() if item.size <= MAX_BLOB_BYTES else None
            yield item.name, item.size, content
    except ResourceNotFoundError:
        raise DeadLetterError(f"--deadletter {source.name}: no such container (or a blob vanished while it was read)") from None
    except ClientAuthenticationError as exc:
        raise DeadLetterError(f"--deadletter {source.name}: cannot sign in to read it: {_first_line(exc)}") from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise DeadLetterError(f"--deadletter {source.name}: access denied; the identity needs Storage Blob Data Reader "
                                  "on the container (or the account)") from None
        raise DeadLetterError(f"--deadletter {source.name}: {_first_line(exc)}") from None
    finally:
        client.close()


def written(blob: Any) -> tuple:
    """When a blob was written: the hour of its name's {yyyy}/{M}/{d}/{H} folders, when it has
    them, then its last write, then its name."""
    folders = blob.name.split("/")[-5:-1]
    hour = tuple(int(f) for f in folders) if len(folders) == 4 and all(f.isdigit() for f in folders) else ()
    modified = blob.last_modified.timestamp() if blob.last_modified else 0.0
    return (hour, modified, blob.name)


def replay_blob(name: str, size: int, content: bytes | None, pipeline: Pipeline) -> tuple[list[Outcome], BlobReport]:
    """One blob's events through the intake, with what became of them."""
    report = BlobReport(name)
    outcomes = _intake(name, size, content, pipeline, report)
    for outcome in outcomes:
        report.count(outcome)
    return outcomes, report


def _intake(name: str, size: int, content: bytes | None, pipeline: Pipeline, report: BlobReport) -> list[Outcome]:
    if content is None:
        return [pipeline.reject(name, "blob", f"is {size} bytes, more than the {MAX_BLOB_BYTES} a dead-letter blob is read up to")]
    try:
        document = json.loads(content)
    except ValueError as exc:  # UnicodeDecodeError is one too
        return [pipeline.reject(name, "blob", f"is not JSON: {exc}")]
    if not isinstance(document, list):
        return pipeline.process(parse_delivery(document, input_name=name))  # the intake says what it is instead
    report.dead_lettered.update(str(e.get("deadLetterReason") or e.get("deadletterreason")) for e in document
                                if isinstance(e, dict) and (e.get("deadLetterReason") or e.get("deadletterreason")))
    outcomes: list[Outcome] = []
    # The intake takes at most Event Grid's largest batch at once; a larger blob goes in slices.
    for start in range(0, max(len(document), 1), MAX_EVENTS):
        piece = document[start:start + MAX_EVENTS]
        label = name if len(document) <= MAX_EVENTS else f"{name}[{start}:{start + len(piece)}]"
        outcomes += pipeline.process(parse_delivery(piece, input_name=label))
    return outcomes


def summary(source: DeadLetterSource, reports: list[BlobReport]) -> dict[str, Any]:
    """The run's totals, and the text a person reads: each blob, then what the run changed."""
    totals = {key: sum(getattr(r, key) for r in reports) for key in ("accepted", "duplicate", "rejected")}
    events = sum(totals.values())
    where = source.name + (f" (names starting {source.prefix})" if source.prefix else "")
    lines = [f"Dead letters in {where}: {len(reports)} blobs, {events} events"]
    lines += ["  " + r.line().replace("\n", "\n  ") for r in reports]
    if not reports:
        lines.append("nothing to replay: the container holds no dead letters")
    elif totals["accepted"] == 0:
        lines.append("nothing new: every readable event was already in the ledger"
                     + (f"; {totals['rejected']} rejected" if totals["rejected"] else ""))
    else:
        lines.append(f"{totals['accepted']} events replayed into the ledger, {totals['duplicate']} already there, "
                     f"{totals['rejected']} rejected")
    return {"container": source.name, "prefix": source.prefix, "blobs": len(reports), "events": events, **totals,
            "nothing_new": totals["accepted"] == 0, "text": "\n".join(lines)}


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
