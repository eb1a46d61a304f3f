"""The notification outbox on Azure Table Storage (notify.outbox.OutboxStore), shared by every
Function instance; `outbox_for(ledger)` picks the outbox that lives beside a ledger.

Everything a message's life depends on (the message, its notices, its digest window, the marker
naming an incident's open message, and one index entity per message) is in the partition of its
destination and scope in `OutboxMessages` (outbox_rows.py; what a recording reads and writes there: outbox_scope.py, driven by notify/recording.py), so workers recording notices
for different scopes never meet, and every move is an entity-group transaction guarded by the
ETags read:

- the claim replaces the message (pending -> sending) with its ETag and swaps its index entity in
  the same transaction: of many workers, one commits; the others get 412, re-read, see `sending`
  and move on;
- a follow-up joins a pending message by replacing it (notices + 1) with its ETag and inserting
  the notice in the same transaction, so a notice can never land on a message already rendered;
- the digest rule's window is replaced with its ETag in the transaction that acts on it.

The index entity says where a message is in its life and when, in its RowKey
(`due-<next attempt>-<id>`, `lease-<lease until>-<id>`, `sent-<sent at>-<id>`, `failed-<at>-<id>`),
so "due now" is a RowKey range of a partition. The sender finds the partitions to look at in a
directory (`due`: a row per partition and time, upserted blind by whoever makes a message due)
and reads of each at most what its rate limit lets go now (`due`'s allowance); leases are listed
in `leases`, so a message whose sender died is found without a scan. Layout: docs/ledger.md.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from notify.outbox import (
    DIGEST,
    FAILED,
    INCIDENT,
    PENDING,
    SENDING,
    SENT,
    STATES,
    Allowance,
    Entry,
    Message,
    Placement,
    Window,
)
from notify.recording import fold_incident, record_entry
from notify.routes import Destination

from ..errors import LedgerContentionError
from . import keys
from .keys import clip
from .outbox_rows import (
    BATCH_CHARS,
    BATCH_ENTITIES,
    BUCKETS,
    DIRECTORY,
    ENTITIES_PER_ENTRY,
    INDEX,
    LAST_ID,
    LEASES,
    MESSAGE,
    NOTICE,
    OPEN,
    WINDOW,
    MessageIds,
    Work,
    bucket_of,
    get_text,
    index_entity,
    index_row,
    message_of,
    partition_of,
    put_text,
    told_partition,
    window_of,
)
from .outbox_scope import TableScope, window_row
from .outbox_sends import TableSendSlots
from .service import ATTEMPTS, backoff, sdk_errors, service_client, setting

# Messages this process wrote last, with the ETag the store gave back: the next move of the same
# message (claim -> rendering -> sent) starts from it instead of a read; a stale one costs a 412.
RECENT = 256

# How long a directory row found pointing at nothing is kept: longer than an enqueue takes from
# writing it to committing the message it names (25 lost conditional writes with their backoff).
POINTER_GRACE = timedelta(minutes=2)

# What `due` reads of a pending message: enough to choose, rate-limit and claim it, never its rendering.
DUE_COLUMNS = ["id", "destination", "route", "channel", "target", "kind", "incident_id", "cause", "state", "created_at",
               "due_at", "next_attempt_at", "attempts", "uncertain", "last_error", "note", "notices"]

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
        self._message_ids = MessageIds()
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
        ids: dict[int, int] = {}
        by_bucket: dict[int, list[tuple[int, Entry]]] = {}
        for number, entry in enumerate(entries):
            by_bucket.setdefault(bucket_of(cast(Destination, entry.destination).key, entry.cause), []).append((number, entry))
        with sdk_errors("recording notifications"):
            for bucket, numbered in by_bucket.items():
                chunk: list[tuple[int, Entry]] = []
                for item in numbered:
                    chunk.append(item)
                    if len(chunk) * ENTITIES_PER_ENTRY >= BATCH_ENTITIES or sum(len(e.notice_json) for _, e in chunk) >= BATCH_CHARS:
                        ids.update(zip([n for n, _ in chunk], self._enqueue_chunk(bucket, [e for _, e in chunk], place), strict=True))
                        chunk = []
                if chunk:
                    ids.update(zip([n for n, _ in chunk], self._enqueue_chunk(bucket, [e for _, e in chunk], place), strict=True))
            self._tell_where(entries)
        return [ids[number] for number in range(len(entries))]

    def _tell_where(self, entries: Sequence[Entry]) -> None:
        """Where each incident is told, written blind once its messages are (the same row for the
        same place, one partition per incident): one range read finds them for a follow-up. Never
        before: a delivery that failed between the two would leave its redelivery believing the
        incident told. If this write fails, the delivery fails and its redelivery records the
        notices again (a message twice, rarely; never none)."""
        by_incident: dict[str, dict[str, dict[str, Any]]] = {}
        for entry in entries:
            dest = cast(Destination, entry.destination)  # enqueue is given routed entries
            by_incident.setdefault(entry.incident_id, {})[keys.hashed(dest.key)] = {
                "PartitionKey": told_partition(entry.incident_id), "RowKey": keys.hashed(dest.key),
                "destination": dest.key, "route": dest.route, "incident_id": clip(entry.incident_id, 4000)}
        for rows in by_incident.values():
            self._table("outbox").submit_transaction([("upsert", row, {"mode": self._replace}) for row in rows.values()])

    def _enqueue_chunk(self, bucket: int, entries: Sequence[Entry], place: Callable[[Entry, Window | None], Placement]) -> list[int]:
        for attempt in range(ATTEMPTS):
            work = Work(self, partition_of(bucket), doubting=attempt > 0)
            scope = TableScope(work, self, self._message_ids, self._ids)
            ids = []
            for entry in entries:
                message, fold = record_entry(scope, entry, place)
                ids.append(message)
                if fold:
                    work.folds.append((entry, message))
            if self._commit(work, bucket):
                for entry, keep in work.folds:
                    self._fold(entry, keep)
                return ids
            backoff(attempt)
        raise LedgerContentionError(f"recording notifications: lost {ATTEMPTS} conditional writes in a row")

    def _commit(self, work: Work, bucket: int) -> bool:
        """The work's transaction, the sender's directory told first of the messages it makes (a
        pointer to nothing costs one empty read); False when another worker wrote first."""
        for message in work.created:
            self._point(DIRECTORY, message["due_at"], bucket, message)
        return self._transact(work.operations(self)) is not None

    def _fold(self, entry: Entry, keep: int) -> None:
        """The window's incident messages not yet claimed, moved into its digest (notify/recording.py):
        one transaction per message, guarded by the ETags read, redone from fresh reads when another
        worker wrote first. A message claimed meanwhile, or too big for one transaction, goes out alone."""
        dest = cast(Destination, entry.destination)  # enqueue is given routed entries; record() keeps the others
        stored = self._get(partition_of(keep), window_row(dest.key, entry.cause))
        for incident in window_of(stored).individual if stored else ():
            for attempt in range(ATTEMPTS):
                work = Work(self, partition_of(keep))
                if not fold_incident(TableScope(work, self, self._message_ids, self._ids), entry, incident, keep):
                    break
                if self._commit(work, keep % BUCKETS):
                    break
                backoff(attempt)

    def record(self, unsent: Sequence[tuple[Entry, str, str]]) -> None:
        """Notices recorded and not sent, with why: one partition per day, in transactions per day.
        A keyed notice's row is named by its key and written blind, so a second recording is a no-op."""
        by_day: dict[str, dict[str, dict[str, Any]]] = {}
        for entry, state, why in unsent:
            row = f"key-{keys.hashed(entry.key)}" if entry.key is not None else keys.id_key(self._ids.next())
            entity = {
                "PartitionKey": keys.day(entry.submitted_at), "RowKey": row,
                "destination": entry.destination.key if entry.destination else "",
                "route": entry.destination.route if entry.destination else "", "incident_id": clip(entry.incident_id, 4000),
                "cause": clip(entry.cause, 4000), "state": state, "why": clip(why), "submitted_at": keys.stamp(entry.submitted_at),
            }
            put_text(entity, "body", entry.notice_json)
            by_day.setdefault(entity["PartitionKey"], {})[entity["RowKey"]] = entity  # a key twice in one batch: once
        table = self._table("outbox_unsent")
        with sdk_errors("recording unsent notifications"):
            for day in by_day.values():
                rows = list(day.values())
                for start in range(0, len(rows), BATCH_ENTITIES):
                    table.submit_transaction([("upsert", row, {"mode": self._replace}) if row["RowKey"].startswith("key-")
                                              else ("create", row) for row in rows[start:start + BATCH_ENTITIES]])

    # -- sending ----------------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 100, allowance: Allowance | None = None) -> list[Message]:
        """The directory's rows up to now name the partitions to look at; of each, one RowKey range
        of `due-` copies up to now, in due order, without their renderings, and no more than the
        allowance lets go now (a partition whose channel has no room is not read at all). A
        partition found empty has its directory rows up to now removed."""
        at = keys.stamp(now)
        found: list[Message] = []
        with sdk_errors("listing due notifications"):
            pointers: dict[int, list[Any]] = {}
            for row in self._range(DIRECTORY, "", f"{at}-~"):
                pointers.setdefault(int(row["RowKey"].rsplit("-", 1)[1]), []).append(row)
            for bucket, rows in pointers.items():
                room = limit - len(found)
                if room <= 0:
                    break
                if allowance is not None:
                    room = min(room, allowance.left(rows[-1].get("channel") or "", rows[-1].get("target") or ""))
                    if room <= 0:
                        continue
                index = self._range(partition_of(bucket), INDEX[PENDING], f"{INDEX[PENDING]}{at}-{LAST_ID}", limit=room,
                                    select=DUE_COLUMNS)
                if not index:
                    self._forget(rows)  # nothing due there
                    continue
                for row in index:
                    message = message_of(row)
                    if allowance is not None:
                        if allowance.left(message.channel, message.target) <= 0:
                            continue
                        allowance.take(message.channel, message.target)
                    found.append(message)
        return found

    def next_due(self) -> datetime | None:
        """The first directory row whose partition still holds a pending message due then or
        earlier; rows pointing at messages that moved on are passed over (and forgotten once old)."""
        firsts: dict[int, str | None] = {}  # per bucket, its first pending time: read once per call
        with sdk_errors("reading the next due notification"):
            for pointer in self._table("outbox").query_entities("PartitionKey eq @pk", parameters={"pk": DIRECTORY}):
                at, bucket = pointer["RowKey"].rsplit("-", 1)[0], int(pointer["RowKey"].rsplit("-", 1)[1])
                if bucket not in firsts:
                    first = self._range(partition_of(bucket), INDEX[PENDING], INDEX[PENDING][:-1] + ".", limit=1,
                                        select=["next_attempt_at"])
                    firsts[bucket] = first[0]["next_attempt_at"] if first else None
                found = firsts[bucket]
                if found is not None and found <= at:
                    return keys.parse_stamp(found)
                self._forget([pointer])
        return None

    def _forget(self, pointers: Sequence[Any]) -> None:
        """Delete directory rows found pointing at nothing, unless rewritten since they were read, or
        written less than POINTER_GRACE ago: a worker may have written one just before the
        transaction that makes its message, and that message must not be left without a pointer."""
        from datetime import UTC
        from datetime import datetime as clock

        for row in pointers:
            written = row.metadata.get("timestamp")
            if written is not None and clock.now(UTC) - written < POINTER_GRACE:
                continue
            self._transact([("delete", row, {"etag": row.metadata["etag"], "match_condition": self._if_unchanged})])

    def _point(self, where: str, at: str, bucket: int, message: Mapping[str, Any]) -> None:
        """A directory row (blind upsert): look at this bucket at `at`."""
        row = f"{at}-{bucket:04d}" if where == DIRECTORY else f"{at}-{message['id']}"
        self._table("outbox").upsert_entity({"PartitionKey": where, "RowKey": row, "message": message["id"],
                                             "channel": message["channel"], "target": message["target"],
                                             "destination": message["destination"], "cause": message["cause"],
                                             "kind": message["kind"]},
                                            mode=self._replace)

    def _unlease(self, message: Mapping[str, Any]) -> None:
        """The lease row of a message no longer sending (blind; gone already is fine)."""
        if message.get("lease_until"):
            try:
                self._table("outbox").delete_entity(LEASES, f"{message['lease_until']}-{message['id']}")
            except self._missing:
                pass

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
        with sdk_errors("reading where an incident was told"):
            rows = self._range(told_partition(incident_id), "", "~", select=["destination", "route"])
        return [(row["destination"], row.get("route") or "") for row in rows]

    def notices(self, message_id: int) -> list[str]:
        prefix = f"{NOTICE}{keys.id_key(message_id)}-"
        with sdk_errors("reading a notification's notices"):
            rows = self._range(partition_of(message_id), prefix, prefix[:-1] + ".")
        return [get_text(row, "body") or "" for row in rows]

    def save_payload(self, message_id: int, payload: dict[str, Any]) -> None:
        def change(message):
            changed = dict(message)
            put_text(changed, "payload", json.dumps(payload, ensure_ascii=False))
            return changed

        self._move(message_id, lambda m: True, change, "storing a notification's rendering")

    def mark_sent(self, message_id: int, now: datetime, note: str | None = None) -> None:
        self._move(message_id, lambda m: True, lambda m: {"state": SENT, "sent_at": keys.stamp(now), "lease_until": None,
                                                          "uncertain": False, **({"note": note} if note else {})},
                   "marking a notification sent")

    def active_scopes(self) -> dict[str, dict[str, bool]]:
        """From the sender's directory (every row, its future included): the scopes with messages
        on their way per destination. A row left pointing at a message already gone counts until
        it is forgotten: a crowd is seen a little longer, never missed."""
        found: dict[str, dict[str, bool]] = {}
        with sdk_errors("reading the notification directory"):
            for row in self._range(DIRECTORY, "", "~", select=["destination", "cause", "kind"]):
                if row.get("destination"):
                    causes = found.setdefault(row["destination"], {})
                    cause = row.get("cause") or ""
                    causes[cause] = causes.get(cause, False) or row.get("kind") == DIGEST
        return found

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
        """Messages whose lease ran out (the `leases` rows before now) go back to pending, uncertain."""
        at = keys.stamp(now)
        with sdk_errors("listing expired notification leases"):
            expired = self._range(LEASES, "", at)
        moved = 0
        for row in expired:
            if self._move(
                int(row["message"]), lambda m: m["state"] == SENDING and (m.get("lease_until") or "") < at,
                lambda m: {"state": PENDING, "uncertain": True, "lease_until": None, "next_attempt_at": at,
                           "last_error": m.get("last_error") or "worker stopped while sending"},
                "recovering a notification",
            ) is not None:
                moved += 1
            with sdk_errors("forgetting a notification's lease"):
                self._transact([("delete", row, {"etag": row.metadata["etag"], "match_condition": self._if_unchanged})])
        return moved

    def purge(self, before: datetime) -> int:
        """Forget messages sent before `before` (with their notices), notices recorded but not sent,
        and closed windows; failed and pending messages stay. Each message goes in transactions of
        its own (its notices first); a message another purge removed first is not counted."""
        at = keys.stamp(before)
        purged = 0
        with sdk_errors("purging sent notifications"):
            for row in self._scan(INDEX[SENT], INDEX[SENT] + at):
                purged += self._purgemessage_of(row)
            for window in self._scan(WINDOW, WINDOW[:-1] + ".", where="closes_at lt @at", at=at):
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
        partition = index["PartitionKey"]
        message = self._get(partition, MESSAGE + index["message"])
        if message is None or message["state"] != SENT:
            return 0
        prefix = f"{NOTICE}{message['id']}-"
        notices: list[tuple] = []
        for row in self._range(partition, prefix, prefix[:-1] + ".", select=["PartitionKey", "RowKey", "seen"]):
            notices.append(("delete", {"PartitionKey": partition, "RowKey": row["RowKey"]}))
            if row.get("seen"):  # its marker goes with it (one gone already fails the transaction: left to the next purge)
                notices.append(("delete", {"PartitionKey": partition, "RowKey": row["seen"]}))
        for start in range(0, len(notices), BATCH_ENTITIES):
            self._transact(notices[start:start + BATCH_ENTITIES])
        last = [("delete", message, {"etag": message.metadata["etag"], "match_condition": self._if_unchanged}),
                ("delete", {"PartitionKey": partition, "RowKey": index["RowKey"]})]
        if message.get("kind") == INCIDENT:
            marker = self._get(partition, OPEN + keys.hashed(f"{message['destination']}\n{message.get('incident_id') or ''}"))
            if marker is not None and marker["message"] == message["id"]:
                last.append(("delete", marker, {"etag": marker.metadata["etag"], "match_condition": self._if_unchanged}))
        return 1 if self._transact(last) is not None else 0

    # -- looking ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out = {state: 0 for state in STATES}
        with sdk_errors("counting notifications"):
            for row in self._scan(MESSAGE, MESSAGE[:-1] + ".", select=["state"]):
                out[row["state"]] = out.get(row["state"], 0) + 1
            for row in self._table("outbox_unsent").list_entities(select=["state"]):
                out[f"notices-{row['state']}"] = out.get(f"notices-{row['state']}", 0) + 1
        return out

    def messages(self, state: str | None = None, limit: int = 1000) -> list[Message]:
        """Oldest first (ids grow with time). A read of the message rows, filtered by state in the service."""
        with sdk_errors("listing notifications"):
            if state is None:
                rows = self._scan(MESSAGE, MESSAGE[:-1] + ".")
            else:
                rows = self._scan(MESSAGE, MESSAGE[:-1] + ".", where="state eq @state", state=state)
        return [message_of(row) for row in sorted(rows, key=lambda r: r["RowKey"])[:limit]]

    # -- plumbing ---------------------------------------------------------------------------

    def _move(self, message_id: int, allowed: Callable[[Mapping[str, Any]], bool],
              change: Callable[[Mapping[str, Any]], Mapping[str, Any]], doing: str) -> dict[str, Any] | None:
        """Change a message if `allowed(message)` holds, its index entity following in the same
        transaction, with the message's ETag: the message as written if this call did it, else None."""
        row, partition = MESSAGE + keys.id_key(message_id), partition_of(message_id)
        with sdk_errors(doing):
            for attempt in range(ATTEMPTS):
                message, etag = self._recalled(row) if attempt == 0 else (None, None)
                if message is None:
                    message = self._get(partition, row)
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
                    operations.append(("delete", {"PartitionKey": partition, "RowKey": index_row(message)}))
                operations.append(("upsert", index_entity(changed), {"mode": self._replace}))
                # The directories first: a row pointing at a message that moved on costs one empty read.
                if changed["state"] == PENDING and changed["next_attempt_at"] != message["next_attempt_at"]:
                    self._point(DIRECTORY, changed["next_attempt_at"], message_id % BUCKETS, changed)
                if changed["state"] == SENDING and changed.get("lease_until") != message.get("lease_until"):
                    self._point(LEASES, changed["lease_until"], message_id % BUCKETS, changed)
                done = self._transact(operations)
                if done is not None:
                    self._remember(row, changed, done[0].get("etag"))
                    if message["state"] == SENDING and changed["state"] != SENDING:
                        self._unlease(message)
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

    def _get(self, partition: str, row: str):
        try:
            return self._table("outbox").get_entity(partition, row)
        except self._missing:
            return None

    def _scan(self, low: str, high: str, *, where: str = "", select: list[str] | None = None, **parameters: Any) -> list:
        """Entities of every partition with low <= RowKey < high: for looking and purging, never the hot path."""
        query = "RowKey ge @low and RowKey lt @high and PartitionKey ge 'outbox-' and PartitionKey lt 'outbox.'" + (
            f" and {where}" if where else "")
        return list(self._table("outbox").query_entities(query, parameters={"low": low, "high": high, **parameters}, select=select))

    def _range(self, partition: str, low: str, high: str, *, limit: int | None = None, where: str = "",
               select: list[str] | None = None, **parameters: Any) -> list:
        """Entities of one partition with low <= RowKey < high (a key range)."""
        query = "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high" + (f" and {where}" if where else "")
        rows = self._table("outbox").query_entities(
            query, parameters={"pk": partition, "low": low, "high": high, **parameters}, select=select,
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
