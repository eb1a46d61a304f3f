"""The Table Storage outbox's storage primitives for notify/recording.py (its `Scope`): one
partition's records of a destination and scope, read through a `Work` (what one entity-group
transaction read and will write) and committed by the outbox with the ETags read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from notify.outbox import PENDING, Entry, Window
from notify.routes import Destination

from . import keys
from .keys import clip
from .outbox_rows import (
    BATCH_ENTITIES,
    MESSAGE,
    NOTICE,
    OPEN,
    SEEN,
    WINDOW,
    MessageIds,
    Work,
    index_entity,
    index_row,
    is_open,
    put_text,
    window_entity,
    window_of,
)


def window_row(destination: str, cause: str) -> str:
    return WINDOW + keys.hashed(f"{destination}\n{cause}")


def marker_row(destination: str, incident_id: str) -> str:
    return OPEN + keys.hashed(f"{destination}\n{incident_id}")


class TableScope:
    """`notify.recording.Scope` over one Work. Reads go through the Work (each entity read once per
    transaction; what the transaction wrote is seen by its later entries); writes wait for the commit."""

    def __init__(self, work: Work, outbox: Any, ids: MessageIds, notice_ids: keys.Ids) -> None:
        self.work, self._outbox, self._ids, self._notice_ids = work, outbox, ids, notice_ids

    def _message(self, message_id: int | str) -> Mapping[str, Any] | None:
        return self.work.get(MESSAGE + (message_id if isinstance(message_id, str) else keys.id_key(message_id)))

    def seen(self, key: str) -> int | None:
        # Assumed new on a first attempt (no read): the key row's insert fails the transaction if a
        # redelivery's first recording wrote it, and the redo (doubting) reads it and adds nothing.
        found = self.work.get_or_assume_absent(SEEN + keys.hashed(key))
        return int(found["message"]) if found is not None else None

    def window(self, destination: str, cause: str) -> Window | None:
        stored = self.work.get(window_row(destination, cause))
        return window_of(stored) if stored else None

    def is_open(self, message_id: int) -> bool:
        return is_open(self._message(message_id))

    def open_message(self, destination: str, incident_id: str) -> int | None:
        marker = self.work.get(marker_row(destination, incident_id))
        message = self._message(marker["message"]) if marker else None
        return int(message["id"]) if is_open(message) else None

    def new_message(self, entry: Entry, kind: str, incident_id: str | None, *, created: datetime, due: datetime,
                    follows: bool) -> int:
        dest = cast(Destination, entry.destination)  # only routed entries are recorded
        work = self.work
        message_id = keys.id_key(self._ids.next(int(work.partition.rsplit("-", 1)[1])))
        message = {
            "PartitionKey": work.partition, "RowKey": MESSAGE + message_id, "id": message_id, "destination": dest.key,
            "route": dest.route, "channel": dest.channel, "target": dest.target, "kind": kind,
            "incident_id": incident_id or "", "cause": clip(entry.cause, 4000), "state": PENDING, "sealed": False,
            "created_at": keys.stamp(created), "due_at": keys.stamp(due), "next_attempt_at": keys.stamp(due),
            "attempts": 0, "uncertain": False, "notices": 0, "note": dest.note or "",
        }
        put_text(message, "payload", None)
        work.put(message)  # its index entity is written with its count (attach, move)
        work.created.append(message)
        if follows:
            work.put({"PartitionKey": work.partition, "RowKey": marker_row(dest.key, entry.incident_id), "message": message_id,
                      "destination": dest.key, "incident_id": clip(entry.incident_id, 4000)})
        return int(message_id)

    def save_window(self, window: Window) -> None:
        self.work.put(window_entity(self.work.partition, window_row(window.destination, window.cause), window))

    def _count(self, message_id: int, more: int) -> None:
        message = cast(Mapping[str, Any], self._message(message_id))  # read or made in this transaction
        message = {**message, "notices": int(message.get("notices") or 0) + more}
        self.work.put(message)
        self.work.put(index_entity(message), upsert=True)

    def attach(self, message_id: int, entry: Entry) -> None:
        dest = cast(Destination, entry.destination)
        self._count(message_id, 1)
        notice = {
            "PartitionKey": self.work.partition, "RowKey": f"{NOTICE}{keys.id_key(message_id)}-{keys.id_key(self._notice_ids.next())}",
            "message": keys.id_key(message_id), "destination": dest.key, "route": dest.route,
            "incident_id": clip(entry.incident_id, 4000), "cause": clip(entry.cause, 4000),
            "submitted_at": keys.stamp(entry.submitted_at),
        }
        put_text(notice, "body", entry.notice_json)
        if entry.key is not None:
            seen = SEEN + keys.hashed(entry.key)
            notice["seen"] = seen  # purged with the notice
            self.work.put({"PartitionKey": self.work.partition, "RowKey": seen, "message": keys.id_key(message_id)})
        self.work.put(notice)

    def held(self, destination: str, cause: str, incident_id: str, keep: int) -> int | None:
        marker = self.work.get(marker_row(destination, incident_id))
        message = self._message(marker["message"]) if marker else None
        if not is_open(message) or int(message["id"]) == keep or message.get("cause") != clip(cause, 4000):
            return None
        return int(message["id"])

    def move(self, message_id: int, digest_id: int) -> bool:
        """The message's notices copied under the digest (their order kept: `notice-<digest>-<notice
        id>`) and deleted, the message, its index entity and its marker deleted, in this transaction;
        False when that is more than one transaction holds."""
        work = self.work
        message = cast(Mapping[str, Any], self._message(message_id))  # read by `held`
        prefix = f"{NOTICE}{message['id']}-"
        notices = self._outbox._range(work.partition, prefix, prefix[:-1] + ".")
        if len(notices) * 2 + 8 > BATCH_ENTITIES:
            return False
        digest = keys.id_key(digest_id)
        for notice in notices:
            work.put({**notice, "RowKey": f"{NOTICE}{digest}-{notice['RowKey'][len(prefix):]}", "message": digest})
            work.delete(notice["RowKey"])
        self._count(digest_id, len(notices))
        for row in (MESSAGE + message["id"], index_row(message), marker_row(message["destination"], message["incident_id"])):
            work.delete(row)
        return True
