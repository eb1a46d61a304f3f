"""The notification outbox on Azure Table Storage (notify.outbox.OutboxStore), shared by every
Function instance; `outbox_for(ledger)` picks the outbox that lives beside a ledger.

Everything a message's life depends on (the message, its notices, its digest window, the marker
naming an incident's open message, and one index entity per message) is in ONE partition of
`OutboxMessages`, so every move is an entity-group transaction guarded by the ETags read:

- the claim replaces the message (pending -> sending) with its ETag and swaps its index entity in
  the same transaction: of many workers, one commits; the others get 412, re-read, see `sending`
  and move on;
- a follow-up joins a pending message by replacing it (notices + 1) with its ETag and inserting
  the notice in the same transaction, so a notice can never land on a message already rendered;
- the digest rule's window is replaced with its ETag in the transaction that acts on it.

The index entity says where a message is in its life and when, in its RowKey
(`due-<next attempt>-<id>`, `lease-<lease until>-<id>`, `sent-<sent at>-<id>`, `failed-<at>-<id>`),
so "due now", "leases run out" and "sent before" are RowKey ranges of that one partition, never a
scan of the messages. Layout and limits: docs/ledger.md.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from notify.outbox import DIGEST, FAILED, INCIDENT, PENDING, SENDING, SENT, STATES, Entry, Message, OutboxStore, Placement, Window
from notify.routes import Destination

from . import table_keys as keys
from .errors import LedgerContentionError
from .outbox_sends_table import TableSendSlots
from .outbox_table_rows import (
    BATCH_CHARS,
    BATCH_ENTITIES,
    ENTITIES_PER_ENTRY,
    INDEX,
    LAST_ID,
    MESSAGE,
    NOTICE,
    OPEN,
    PARTITION,
    TOLD,
    WINDOW,
    Work,
    get_text,
    index_entity,
    index_row,
    is_open,
    message_of,
    put_text,
    window_entity,
    window_of,
)
from .table_keys import clip
from .table_service import ATTEMPTS, backoff, sdk_errors, service_client, setting

# Messages this process wrote last, with the ETag the store gave back: the next move of the same
# message (claim -> rendering -> sent) starts from it instead of a read; a stale one costs a 412.
RECENT = 256

# What `due` reads of a pending message: enough to choose, rate-limit and claim it, never its rendering.
DUE_COLUMNS = ["id", "destination", "route", "channel", "target", "kind", "incident_id", "cause", "state", "created_at",
               "due_at", "next_attempt_at", "attempts", "uncertain", "last_error", "note", "notices"]

def outbox_for(ledger: Any) -> OutboxStore:
    """The outbox beside a ledger: on its table service and prefix for Table Storage, else in its
    SQLite file (in memory when the ledger is)."""
    from .table import TableLedger

    if isinstance(ledger, TableLedger):
        return TableOutbox(ledger.service, ledger.prefix)
    from .outbox_sqlite import SqliteOutbox

    return SqliteOutbox(getattr(ledger, "path", None) or ":memory:")


class TableOutbox(TableSendSlots):
    """`notify.outbox.OutboxStore` on Table Storage. Safe to share across threads and processes."""

    def __init__(self, service: Any, prefix: str | None = None, *, owns_service: bool = False) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import TableTransactionError, UpdateMode

        self._exists, self._modified, self._missing = ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        self._if_unchanged, self._replace = MatchConditions.IfNotModified, UpdateMode.REPLACE
        self._transaction_error = TableTransactionError
        self.service = service
        self.prefix = keys.DEFAULT_PREFIX if prefix is None else prefix
        self.tables = {role: name for role, name in keys.table_names(self.prefix).items() if role.startswith("outbox")}
        self._owns_service = owns_service
        self._clients: dict[str, Any] = {}
        self._ids = keys.Ids()
        self._recent: OrderedDict[str, tuple[dict[str, Any], str]] = OrderedDict()
        self._recent_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any = None, **client_options: Any) -> TableOutbox:
        """From the ledger's settings (`table_connection_string`, `table_endpoint`, `table_prefix`)."""
        service = service_client(
            connection_string=setting(settings, "table_connection_string"),
            endpoint=setting(settings, "table_endpoint"),
            **client_options,
        )
        return cls(service, setting(settings, "table_prefix") or None, owns_service=True)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._owns_service and self.service is not None:
            self.service.close()
            self.service = None

    # -- recording --------------------------------------------------------------------------

    def enqueue(self, entries: Sequence[Entry], place: Callable[[Entry, Window | None], Placement]) -> list[int]:
        """Record notices and attach each to a message. Atomic per transaction of up to ~18 entries
        (Table Storage has no larger transaction); a chunk that loses a race is redone from fresh reads."""
        ids: list[int] = []
        chunk: list[Entry] = []
        with sdk_errors("recording notifications"):
            for entry in entries:
                chunk.append(entry)
                if len(chunk) * ENTITIES_PER_ENTRY >= BATCH_ENTITIES or sum(len(e.notice_json) for e in chunk) >= BATCH_CHARS:
                    ids += self._enqueue_chunk(chunk, place)
                    chunk = []
            if chunk:
                ids += self._enqueue_chunk(chunk, place)
        return ids

    def _enqueue_chunk(self, entries: Sequence[Entry], place: Callable[[Entry, Window | None], Placement]) -> list[int]:
        for attempt in range(ATTEMPTS):
            work = Work(self)
            ids = [self._enqueue_one(work, entry, place) for entry in entries]
            if self._transact(work.operations(self)) is not None:
                for entry, keep in work.folds:
                    self._fold(entry, keep)
                return ids
            backoff(attempt)
        raise LedgerContentionError(f"recording notifications: lost {ATTEMPTS} conditional writes in a row")

    def _enqueue_one(self, work: Work, entry: Entry, place: Callable[[Entry, Window | None], Placement]) -> int:
        dest = cast(Destination, entry.destination)  # enqueue is given routed entries; record() keeps the others
        window_row = WINDOW + keys.hashed(f"{dest.key}\n{entry.cause}")
        stored = work.get(window_row)
        placement = place(entry, window_of(stored) if stored else None)
        window = placement.window
        if placement.kind == DIGEST:
            message = work.get(MESSAGE + keys.id_key(window.digest_message)) if window.digest_message is not None else None
            if not is_open(message):
                message = self._new_message(work, entry, DIGEST, None, created=window.opened_at, due=window.closes_at)
                window = replace(window, digest_message=int(message["id"]))
        elif placement.alone:  # the storm notice: a message of its own, which no follow-up joins
            now = entry.submitted_at
            message = self._new_message(work, entry, INCIDENT, entry.incident_id, created=now, due=placement.due_at or now)
        else:
            marker_row = OPEN + keys.hashed(f"{dest.key}\n{entry.incident_id}")
            marker = work.get(marker_row)
            message = work.get(MESSAGE + marker["message"]) if marker else None
            if not is_open(message):
                now = entry.submitted_at
                message = self._new_message(work, entry, INCIDENT, entry.incident_id, created=now, due=placement.due_at or now)
                work.put({"PartitionKey": PARTITION, "RowKey": marker_row, "message": message["id"],
                          "destination": dest.key, "incident_id": clip(entry.incident_id, 4000)})
        if placement.fold:
            work.folds.append((entry, int(message["id"])))
        work.put(window_entity(window_row, window))
        message = {**message, "notices": int(message.get("notices") or 0) + 1}
        work.put(message)
        work.put(index_entity(message), upsert=True)
        notice = {
            "PartitionKey": PARTITION, "RowKey": f"{NOTICE}{message['id']}-{keys.id_key(self._ids.next())}",
            "message": message["id"], "destination": dest.key, "route": dest.route, "incident_id": clip(entry.incident_id, 4000),
            "cause": clip(entry.cause, 4000), "submitted_at": keys.stamp(entry.submitted_at),
        }
        put_text(notice, "body", entry.notice_json)
        work.put(notice)
        # Where the incident was told, written blind (the same row for the same place): one range
        # read finds them all for a follow-up, however large the outbox (told()).
        work.put({"PartitionKey": PARTITION, "RowKey": f"{TOLD}{keys.hashed(entry.incident_id)}-{keys.hashed(dest.key)}",
                  "destination": dest.key, "route": dest.route, "incident_id": clip(entry.incident_id, 4000)}, upsert=True)
        return int(message["id"])

    def _fold(self, entry: Entry, keep: int) -> None:
        """Move the window's incident messages not yet claimed into its digest: one transaction
        per message (its notices, copied under the digest and deleted, the message, its index
        entity and its marker deleted, the digest and window written), guarded by the ETags read.
        A message claimed meanwhile, or too big for one transaction, is left to go out alone."""
        dest = cast(Destination, entry.destination)  # enqueue is given routed entries; record() keeps the others
        window_row = WINDOW + keys.hashed(f"{dest.key}\n{entry.cause}")
        stored = self._get(window_row)
        for incident in window_of(stored).individual if stored else ():
            for attempt in range(ATTEMPTS):
                work = Work(self)
                window = window_of(cast(Mapping[str, Any], work.get(window_row)))  # read just above: the window exists
                marker_row = OPEN + keys.hashed(f"{dest.key}\n{incident}")
                marker = work.get(marker_row)
                message = work.get(MESSAGE + marker["message"]) if marker else None
                if not is_open(message) or int(message["id"]) == keep or message.get("cause") != clip(entry.cause, 4000):
                    break
                prefix = f"{NOTICE}{message['id']}-"
                notices = self._range(prefix, prefix[:-1] + ".")
                if len(notices) * 2 + 8 > BATCH_ENTITIES:
                    break
                digest = work.get(MESSAGE + keys.id_key(window.digest_message)) if window.digest_message is not None else None
                if not is_open(digest):
                    digest = self._new_message(work, entry, DIGEST, None, created=window.opened_at, due=window.closes_at)
                    window = replace(window, digest_message=int(digest["id"]))
                for notice in notices:
                    work.put({**notice, "RowKey": f"{NOTICE}{digest['id']}-{notice['RowKey'][len(prefix):]}", "message": digest["id"]})
                    work.delete(notice["RowKey"])
                digest = {**digest, "notices": int(digest.get("notices") or 0) + len(notices)}
                work.put(digest)
                work.put(index_entity(digest), upsert=True)
                for row in (MESSAGE + message["id"], index_row(message), marker_row):
                    work.delete(row)
                work.put(window_entity(window_row, window))
                if self._transact(work.operations(self)) is not None:
                    break
                backoff(attempt)

    def _new_message(self, work: Work, entry: Entry, kind: str, incident_id: str | None, *, created: datetime, due: datetime) -> dict[str, Any]:
        dest = cast(Destination, entry.destination)  # enqueue is given routed entries; record() keeps the others
        message_id = keys.id_key(self._ids.next())
        message = {
            "PartitionKey": PARTITION, "RowKey": MESSAGE + message_id, "id": message_id, "destination": dest.key,
            "route": dest.route, "channel": dest.channel, "target": dest.target, "kind": kind,
            "incident_id": incident_id or "", "cause": clip(entry.cause, 4000), "state": PENDING, "sealed": False,
            "created_at": keys.stamp(created), "due_at": keys.stamp(due), "next_attempt_at": keys.stamp(due),
            "attempts": 0, "uncertain": False, "notices": 0, "note": dest.note or "",
        }
        put_text(message, "payload", None)
        work.put(message)
        return message

    def record(self, unsent: Sequence[tuple[Entry, str, str]]) -> None:
        """Notices recorded and not sent, with why: one partition per day, in transactions per day."""
        by_day: dict[str, list[dict[str, Any]]] = {}
        for entry, state, why in unsent:
            entity = {
                "PartitionKey": keys.day(entry.submitted_at), "RowKey": keys.id_key(self._ids.next()),
                "destination": entry.destination.key if entry.destination else "",
                "route": entry.destination.route if entry.destination else "", "incident_id": clip(entry.incident_id, 4000),
                "cause": clip(entry.cause, 4000), "state": state, "why": clip(why), "submitted_at": keys.stamp(entry.submitted_at),
            }
            put_text(entity, "body", entry.notice_json)
            by_day.setdefault(entity["PartitionKey"], []).append(entity)
        table = self._table("outbox_unsent")
        with sdk_errors("recording unsent notifications"):
            for rows in by_day.values():
                for start in range(0, len(rows), BATCH_ENTITIES):
                    table.submit_transaction([("create", row) for row in rows[start:start + BATCH_ENTITIES]])

    # -- sending ----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100) -> list[Message]:
        """One RowKey range of the one partition: the `due-` copies up to now, in due order, without
        their renderings (a retried message carries one, tens of KB): the claim reads the message
        whole, and only for what a rate limit lets go now."""
        with sdk_errors("listing due notifications"):
            index = self._range(INDEX[PENDING], f"{INDEX[PENDING]}{keys.stamp(now)}-{LAST_ID}", limit=limit, select=DUE_COLUMNS)
        return [message_of(row) for row in index]

    def next_due(self) -> datetime | None:
        with sdk_errors("reading the next due notification"):
            first = self._range(INDEX[PENDING], INDEX[PENDING][:-1] + ".", limit=1)
        return keys.parse_stamp(first[0]["RowKey"][len(INDEX[PENDING]):-20]) if first else None

    def claim(self, message_id: int, now: datetime, lease_until: datetime) -> Message | None:
        at = keys.stamp(now)
        claimed = self._move(
            message_id, lambda m: m["state"] == PENDING and m["next_attempt_at"] <= at,
            lambda m: {"state": SENDING, "sealed": True, "attempts": int(m.get("attempts") or 0) + 1,
                       "lease_until": keys.stamp(lease_until)},
            "claiming a notification",
        )
        return message_of(claimed) if claimed is not None else None

    def told(self, incident_id: str) -> list[tuple[str, str]]:
        """(destination key, route) of every place the incident was told: one RowKey range."""
        prefix = f"{TOLD}{keys.hashed(incident_id)}-"
        with sdk_errors("reading where an incident was told"):
            rows = self._range(prefix, prefix[:-1] + ".", select=["destination", "route"])
        return [(row["destination"], row.get("route") or "") for row in rows]

    def notices(self, message_id: int) -> list[str]:
        prefix = f"{NOTICE}{keys.id_key(message_id)}-"
        with sdk_errors("reading a notification's notices"):
            rows = self._range(prefix, prefix[:-1] + ".")
        return [get_text(row, "body") or "" for row in rows]

    def save_payload(self, message_id: int, payload: dict[str, Any]) -> None:
        def change(message):
            changed = dict(message)
            put_text(changed, "payload", json.dumps(payload, ensure_ascii=False))
            return changed

        self._move(message_id, lambda m: True, change, "storing a notification's rendering")

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self._move(message_id, lambda m: True, lambda m: {"state": SENT, "sent_at": keys.stamp(now), "lease_until": None,
                                                          "uncertain": False}, "marking a notification sent")

    def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str, *, uncertain: bool) -> None:
        self._move(message_id, lambda m: True, lambda m: {
            "state": PENDING, "next_attempt_at": keys.stamp(next_attempt_at), "last_error": clip(error),
            "uncertain": bool(uncertain), "lease_until": None,
        }, "scheduling a notification's retry")

    def mark_failed(self, message_id: int, now: datetime, error: str) -> None:
        self._move(message_id, lambda m: True, lambda m: {
            "state": FAILED, "last_error": clip(error), "lease_until": None, "next_attempt_at": keys.stamp(now),
        }, "marking a notification failed")

    def recover(self, now: datetime) -> int:
        """Messages whose lease ran out (`lease-` index before now) go back to pending, uncertain."""
        at = keys.stamp(now)
        with sdk_errors("listing expired notification leases"):
            expired = self._range(INDEX[SENDING], INDEX[SENDING] + at)
        moved = 0
        for row in expired:
            if self._move(
                int(row["message"]), lambda m: m["state"] == SENDING and (m.get("lease_until") or "") < at,
                lambda m: {"state": PENDING, "uncertain": True, "lease_until": None, "next_attempt_at": at,
                           "last_error": m.get("last_error") or "worker stopped while sending"},
                "recovering a notification",
            ) is not None:
                moved += 1
        return moved

    def purge(self, before: datetime) -> int:
        """Forget messages sent before `before` (with their notices), notices recorded but not sent,
        and closed windows; failed and pending messages stay. Each message goes in transactions of
        its own (its notices first); a message another purge removed first is not counted."""
        at = keys.stamp(before)
        purged = 0
        with sdk_errors("purging sent notifications"):
            for row in self._range(INDEX[SENT], INDEX[SENT] + at):
                purged += self._purgemessage_of(row)
            for window in self._range(WINDOW, WINDOW[:-1] + ".", where="closes_at lt @at", at=at):
                self._transact([("delete", window, {"etag": window.metadata["etag"], "match_condition": self._if_unchanged})])
            unsent = self._table("outbox_unsent")
            old: dict[str, list] = {}
            for row in unsent.query_entities("submitted_at lt @at", parameters={"at": at}, select=["PartitionKey", "RowKey"]):
                old.setdefault(row["PartitionKey"], []).append(row)
            for rows in old.values():
                for start in range(0, len(rows), BATCH_ENTITIES):
                    self._transact([("delete", r) for r in rows[start:start + BATCH_ENTITIES]], unsent)
        return purged

    def _purgemessage_of(self, index: Mapping[str, Any]) -> int:
        message = self._get(MESSAGE + index["message"])
        if message is None or message["state"] != SENT:
            return 0
        prefix = f"{NOTICE}{message['id']}-"
        notices = [("delete", row) for row in self._range(prefix, prefix[:-1] + ".", select=["PartitionKey", "RowKey"])]
        for start in range(0, len(notices), BATCH_ENTITIES):
            self._transact(notices[start:start + BATCH_ENTITIES])
        last = [("delete", message, {"etag": message.metadata["etag"], "match_condition": self._if_unchanged}),
                ("delete", {"PartitionKey": PARTITION, "RowKey": index["RowKey"]})]
        if message.get("kind") == INCIDENT:
            marker = self._get(OPEN + keys.hashed(f"{message['destination']}\n{message.get('incident_id') or ''}"))
            if marker is not None and marker["message"] == message["id"]:
                last.append(("delete", marker, {"etag": marker.metadata["etag"], "match_condition": self._if_unchanged}))
        return 1 if self._transact(last) is not None else 0

    # -- looking ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out = {state: 0 for state in STATES}
        with sdk_errors("counting notifications"):
            for row in self._range(MESSAGE, MESSAGE[:-1] + ".", select=["state"]):
                out[row["state"]] = out.get(row["state"], 0) + 1
            for row in self._table("outbox_unsent").list_entities(select=["state"]):
                out[f"notices-{row['state']}"] = out.get(f"notices-{row['state']}", 0) + 1
        return out

    def messages(self, state: str | None = None, limit: int = 1000) -> list[Message]:
        """Oldest first (ids grow with time). A read of the message rows, filtered by state in the service."""
        with sdk_errors("listing notifications"):
            if state is None:
                rows = self._range(MESSAGE, MESSAGE[:-1] + ".", limit=limit)
            else:
                rows = self._range(MESSAGE, MESSAGE[:-1] + ".", limit=limit, where="state eq @state", state=state)
        return [message_of(row) for row in rows]

    # -- plumbing ---------------------------------------------------------------------------

    def _move(self, message_id: int, allowed: Callable[[Mapping[str, Any]], bool],
              change: Callable[[Mapping[str, Any]], Mapping[str, Any]], doing: str) -> dict[str, Any] | None:
        """Change a message if `allowed(message)` holds, its index entity following in the same
        transaction, with the message's ETag: the message as written if this call did it, else None."""
        row = MESSAGE + keys.id_key(message_id)
        with sdk_errors(doing):
            for attempt in range(ATTEMPTS):
                message, etag = self._recalled(row) if attempt == 0 else (None, None)
                if message is None:
                    message = self._get(row)
                    if message is None:
                        return None
                    etag = message.metadata["etag"]
                if not allowed(message):
                    if attempt == 0 and self._recalled_once(row, message):
                        continue  # what this worker remembered may be old: decide on a fresh read
                    return None
                changed = {name: value for name, value in {**message, **change(message)}.items() if value is not None}
                operations: list[tuple[Any, ...]] = [("update", changed, {"mode": self._replace, "etag": etag, "match_condition": self._if_unchanged})]
                if index_row(message) != index_row(changed):
                    operations.append(("delete", {"PartitionKey": PARTITION, "RowKey": index_row(message)}))
                operations.append(("upsert", index_entity(changed), {"mode": self._replace}))
                done = self._transact(operations)
                if done is not None:
                    self._remember(row, changed, done[0].get("etag"))
                    return changed
                backoff(attempt)
        raise LedgerContentionError(f"{doing} {message_id}: lost {ATTEMPTS} conditional writes in a row")

    def _recalled(self, row: str) -> tuple[dict[str, Any] | None, str | None]:
        with self._recent_lock:
            message, etag = self._recent.pop(row, (None, None))
        return (message, etag) if etag else (None, None)

    @staticmethod
    def _recalled_once(row: str, message: Any) -> bool:
        """True when `message` came from memory (no metadata), not from the store."""
        return not hasattr(message, "metadata")

    def _remember(self, row: str, message: dict[str, Any], etag: str | None) -> None:
        if not etag:
            return
        with self._recent_lock:
            self._recent[row] = (message, etag)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)

    def _transact(self, operations: list, table: Any = None) -> list | None:
        """What the store answered per operation when committed; None when an ETag had moved, an
        insert found its entity or a delete did not (another worker wrote first): read again."""
        if not operations:
            return []
        try:
            return (table or self._table("outbox")).submit_transaction(operations)
        except self._transaction_error as exc:
            if exc.status_code in (404, 409, 412):
                return None
            raise

    def _get(self, row: str):
        try:
            return self._table("outbox").get_entity(PARTITION, row)
        except self._missing:
            return None

    def _range(self, low: str, high: str, *, limit: int | None = None, where: str = "", select: list[str] | None = None,
               **parameters: Any) -> list:
        """Entities of the partition with low <= RowKey < high (one partition, a key range)."""
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high" + (f" and {where}" if where else "")
        rows = self._table("outbox").query_entities(
            query, parameters={"pk": PARTITION, "low": low, "high": high, **parameters}, select=select,
            results_per_page=min(limit, 1000) if limit else None,
        )
        found = []
        for row in rows:
            found.append(row)
            if limit is not None and len(found) >= limit:
                break
        return found

    def _table(self, role: str):
        """The table client for a role, the table created on first use in this process."""
        client = self._clients.get(role)
        if client is None:
            with sdk_errors(f"creating the table {self.tables[role]}"):
                client = self._clients[role] = self.service.create_table_if_not_exists(self.tables[role])
        return client
