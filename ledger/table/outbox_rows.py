"""How the Table Storage outbox lays out its partitions: row keys, the entity of each record, and
the working set of one enqueue transaction. The store that moves them is outbox.py.

A message, its notices, its digest window and its index entities live in the partition of its
destination and scope (`outbox-<bucket>`, the bucket a hash of both, in the low bits of every
message id), so workers recording notices for different scopes never meet, and every move of a
message is an entity-group transaction. RowKeys of such a partition (docs/ledger.md has the table):

    message-<id>                       the message (every field; its rendering split over properties)
    due-<next attempt>-<id>            pending: a copy of the message (so "due now" needs no second read)
    lease-<lease until>-<id>           sending
    sent-<sent at>-<id>                sent
    failed-<at>-<id>                   failed
    notice-<message id>-<notice id>    a notice attached to the message, in submission order
    window-<sha256(destination, cause)>    the digest window
    open-<sha256(destination, incident)>   which incident message still takes follow-ups
    seen-<entry key>                   a notice recorded (Entry.key): a second recording of it is a no-op

Beside them, written blind (upserts: no ETag, so no writer ever loses to another):

    told-<sha256(incident)> / <sha256(destination)>   an incident was told there (its follow-ups go there too)
    due / <at>-<bucket>                the sender's directory: look at this bucket at this time
    leases / <lease until>-<bucket>    a message is being sent there: recover it if the lease runs out
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeGuard, cast

from notify.outbox import FAILED, PENDING, SENDING, SENT, Message, Window

from . import keys

BUCKETS = 1024  # partitions of messages; a message id's low 10 bits name its bucket
DIRECTORY, LEASES = "due", "leases"


def bucket_of(destination_key: str, cause: str) -> int:
    """The partition of a destination and scope: a stable hash, so every worker agrees."""
    return int(keys.hashed(f"{destination_key}\n{cause}")[:8], 16) % BUCKETS


def partition_of(message_id: int) -> str:
    return f"outbox-{message_id % BUCKETS:04d}"


def told_partition(incident_id: str) -> str:
    return f"told-{keys.hashed(incident_id)}"


class MessageIds:
    """Message ids that sort in the order they were made and carry their bucket: microseconds
    since the epoch, strictly increasing within a process, shifted left 10 bits, the bucket below.
    Two workers making an id in one microsecond for one bucket collide; the conditional insert
    of the message catches that (the enqueue is redone)."""

    def __init__(self) -> None:
        import threading

        self._last = 0
        self._lock = threading.Lock()

    def next(self, bucket: int) -> int:
        import time

        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last << 10 | bucket
MESSAGE, NOTICE, WINDOW, OPEN, SEEN = "message-", "notice-", "window-", "open-", "seen-"
TOLD = "told-"  # told-<sha256(incident)>-<sha256(destination)>: where an incident was told (its follow-ups go there)
INDEX = {PENDING: "due-", SENDING: "lease-", SENT: "sent-", FAILED: "failed-"}
LAST_ID = "9" * 19  # the greatest id_key: `due-<now>-` + this bounds "due at or before now"

# One transaction holds at most 100 entities and 4 MiB; an entry writes at most seven.
ENTITIES_PER_ENTRY = 7
BATCH_ENTITIES, BATCH_CHARS = 90, 1_000_000
PIECE = 30000  # characters per string property (64 KiB of UTF-16); longer texts are split


def put_text(entity: dict[str, Any], name: str, text: str | None) -> None:
    """Store text over as many properties as it needs (`name_0`, `name_1`, ...)."""
    for key in [k for k in entity if k.startswith(name + "_")]:
        del entity[key]
    if text is None:
        entity[name + "_parts"] = 0
        return
    pieces = [text[i:i + PIECE] for i in range(0, len(text), PIECE)] or [""]
    entity[name + "_parts"] = len(pieces)
    for i, piece in enumerate(pieces):
        entity[f"{name}_{i}"] = piece


def get_text(entity: Mapping[str, Any], name: str) -> str | None:
    parts = int(entity.get(name + "_parts") or 0)
    return "".join(entity[f"{name}_{i}"] for i in range(parts)) if parts else None


def at_of(entity: Mapping[str, Any], name: str) -> datetime | None:
    return keys.parse_stamp(entity[name]) if entity.get(name) else None


def index_row(message: Mapping[str, Any]) -> str:
    moment = message["lease_until"] if message["state"] == SENDING else message["next_attempt_at"]
    if message["state"] == SENT:
        moment = message["sent_at"]
    return f"{INDEX[message['state']]}{moment}-{message['id']}"


def index_entity(message: Mapping[str, Any]) -> dict[str, Any]:
    """A pending message's index entity is a whole copy of it, rewritten in every transaction that
    writes the message, so `due` is one range query; the others name the message only."""
    partition = message["PartitionKey"]
    if message["state"] == PENDING:
        return {**message, "PartitionKey": partition, "RowKey": index_row(message), "message": message["id"]}
    return {"PartitionKey": partition, "RowKey": index_row(message), "message": message["id"], "state": message["state"]}


def is_open(message: Mapping[str, Any] | None) -> TypeGuard[Mapping[str, Any]]:
    """Still taking notices: pending and never claimed (a claimed message is sealed for good)."""
    return message is not None and message["state"] == PENDING and not message.get("sealed")


def window_of(entity: Mapping[str, Any]) -> Window:
    digest = entity.get("digest_message") or ""
    return Window(
        entity["destination"], entity["cause"], keys.parse_stamp(entity["opened_at"]), keys.parse_stamp(entity["closes_at"]),
        tuple(json.loads(entity["individual"])), int(digest) if digest else None, bool(entity.get("storm")),
    )


def window_entity(partition: str, row: str, window: Window) -> dict[str, Any]:
    return {
        "PartitionKey": partition, "RowKey": row, "destination": window.destination, "cause": window.cause,
        "opened_at": keys.stamp(window.opened_at), "closes_at": keys.stamp(window.closes_at),
        "individual": json.dumps(list(window.individual)),
        "digest_message": keys.id_key(window.digest_message) if window.digest_message is not None else "",
        "storm": window.storm,
    }


def message_of(entity: Mapping[str, Any]) -> Message:
    payload = get_text(entity, "payload")
    return Message(
        id=int(entity["id"]), destination=entity["destination"], route=entity["route"], channel=entity["channel"],
        target=entity["target"], kind=entity["kind"], incident_id=entity.get("incident_id") or None,
        cause=entity["cause"], state=entity["state"], created_at=cast(datetime, at_of(entity, "created_at")),
        due_at=cast(datetime, at_of(entity, "due_at")),
        next_attempt_at=cast(datetime, at_of(entity, "next_attempt_at")),  # every message is written with all three
        attempts=int(entity.get("attempts") or 0), uncertain=bool(entity.get("uncertain")),
        last_error=entity.get("last_error") or None, payload=json.loads(payload) if payload else None,
        sent_at=at_of(entity, "sent_at"), note=entity.get("note") or None, notices=int(entity.get("notices") or 0),
    )


class Work:
    """What one enqueue transaction read and will write: entities by RowKey. A later entry of the
    chunk sees what an earlier one wrote; the commit writes each entity once, replacing what was
    read with its ETag, or inserting what was absent (a 409 or 412 means a race: redo the chunk).
    Index copies are upserted: the ETag of the message written beside them guards them. A fold
    deletes what it moves, with the ETag it read (or unconditionally, for an index entity)."""

    def __init__(self, outbox: Any, partition: str, *, doubting: bool = False) -> None:
        self._outbox = outbox
        self.partition = partition
        self.doubting = doubting  # a redo after a lost race: read what a first attempt assumes absent
        self.created: list[dict[str, Any]] = []  # messages made by this work: the sender's directory names them
        self._read: dict[str, Any] = {}
        self._written: dict[str, dict[str, Any]] = {}
        self._upserts: set[str] = set()
        self._deletes: dict[str, dict[str, Any]] = {}
        self.folds: list[tuple[Any, int]] = []  # (entry, message kept) whose window folds after the commit

    def get(self, row: str) -> Mapping[str, Any] | None:
        if row in self._written:
            return self._written[row]
        if row not in self._read:
            self._read[row] = self._outbox._get(self.partition, row)
        return self._read[row]

    def get_or_assume_absent(self, row: str) -> Mapping[str, Any] | None:
        """What a first attempt takes to be absent without a read (its insert is then conditional:
        a 409 if it was there after all, and the redo, doubting, reads it)."""
        if self.doubting or row in self._written:
            return self.get(row)
        self._read.setdefault(row, None)
        return None

    def put(self, entity: dict[str, Any], *, upsert: bool = False) -> None:
        self._written[entity["RowKey"]] = dict(entity)
        if upsert:
            self._upserts.add(entity["RowKey"])

    def delete(self, row: str) -> None:
        self._written.pop(row, None)
        self._deletes[row] = {"PartitionKey": self.partition, "RowKey": row}

    def operations(self, outbox: Any) -> list[tuple]:
        made: list[tuple] = []
        for row, entity in self._deletes.items():
            read = self._read.get(row)
            if read is not None:
                made.append(("delete", read, {"etag": read.metadata["etag"], "match_condition": outbox._if_unchanged}))
            else:
                made.append(("delete", entity))
        for row, entity in self._written.items():
            read = self._read.get(row)
            if row in self._upserts:
                made.append(("upsert", entity, {"mode": outbox._replace}))
            elif read is None:
                made.append(("create", entity))
            else:
                made.append(("update", entity, {"mode": outbox._replace, "etag": read.metadata["etag"],
                                                "match_condition": outbox._if_unchanged}))
        return made
