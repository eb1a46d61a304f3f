"""How the Table Storage ledger names and shapes things: tables, keys, times, ids and text sizes.

Table Storage forbids `/ \\ # ?` and control characters in PartitionKey and RowKey and caps each at
1 KiB; resource ids, delivery keys and alert ids break all of those rules. Keys are therefore the
sha256 hex of the value (readable value kept as a property beside it). Times are stored as fixed
width UTC ISO strings, so string order is time order in filters and RowKeys.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from datetime import UTC, datetime

from ..errors import LedgerConfigError
from ..rows import utc_text

# Table name = prefix + one of these. Table names: 3-63 letters and digits, starting with a letter.
TABLES = {
    "deliveries": "Deliveries",  # claims made without an incident key (the hot path's are in IncidentLog)
    "open": "OpenIncidents",  # the earlier layout's open-incident pointers (read for its incidents)
    "incidents": "Incidents",  # the earlier layout's incidents and holds (`INC-` + 10 hex ids)
    "signals": "Signals",  # the earlier layout's signals (read by id, purged)
    "decisions": "Decisions",  # decisions with no incident (deferred deliveries) or about an earlier-layout incident
    "rejections": "Rejections",  # one partition per day
    "operations": "Operations",  # one partition per remediation operation
    "unhealthy": "UnhealthyMarks",  # one partition per scope: the storm breaker's counter rows per minute and worker
    "storms": "Storms",  # one entity per scope
    "switches": "Switches",  # one entity per switch (pause)
    "slots": "Slots",  # one partition per capped scope: a row per slot (in-flight and hourly caps)
    "approvals": "Approvals",  # one partition per approval, one per incident and action pending
    "waves": "Waves",  # one partition per maintenance wave (the wave and its members)
    "outbox": "OutboxMessages",  # the notification outbox: messages, their notices, windows (one partition)
    "outbox_unsent": "OutboxUnsent",  # notices recorded and not sent, one partition per day
    "outbox_sends": "OutboxSends",  # rate-limit slots, one partition per channel key
    "sweep_cursors": "SweepCursors",  # one entity per sweep: where its last run stopped
    "log": "IncidentLog",  # the hot path: one partition per incident key (hot_table.py)
}
DEFAULT_PREFIX = "responder"
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,47}$")

# RowKeys of the fixed entities in a partition.
INCIDENT_ROW = "incident"
HOLD_ROW = "action-hold"
POINTER_ROW = "open"
# A delivery's partition: its claim (kept once decided) and its lease (while it is being decided).
CLAIM_ROW = ""
LEASE_ROW = "lease"

# Free text is clipped well below Table Storage's 64 KiB per property (strings are UTF-16).
TEXT_LIMIT = 8000

# Decisions with no incident (a duplicate delivery) go to one partition per day.
NO_INCIDENT_PARTITION = "no-incident-{day}"


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    return (text or "")[:limit]


def table_names(prefix: str | None) -> dict[str, str]:
    prefix = DEFAULT_PREFIX if prefix is None else prefix
    if not _PREFIX.match(prefix):
        raise LedgerConfigError(
            f"RESPONDER_TABLE_PREFIX={prefix!r}: expected 1-48 letters and digits, starting with a letter"
        )
    return {role: prefix + suffix for role, suffix in TABLES.items()}


def hashed(value: str) -> str:
    """A key safe for Table Storage whatever the value holds; the value itself is kept as a property."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


_READABLE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def incident_partition(incident_id: str) -> str:
    """Incident ids (`INC-…`) are keys as they are, readable in Storage Explorer; anything else is hashed."""
    return incident_id if _READABLE.match(incident_id) else hashed(incident_id)


def resource_partition(resource_key: str) -> str:
    return hashed(resource_key.lower())


# The hot path's partitions (hot_table.py): 80 bits of the incident key's sha256, short enough
# for the incident ids that name them (two keys sharing one needs about 2**40 keys).
LOG_PARTITION_HEX = 20
_LOGGED_INCIDENT = re.compile(r"^INC-(?P<partition>[0-9a-f]{20})-[0-9a-f]{6}$")


def log_partition(incident_key: str) -> str:
    return hashed(incident_key)[:LOG_PARTITION_HEX]


def resource_log_partition(resource_key: str) -> str:
    """Where a resource's signals and marks are: its incident key's partition (rules.Signal.incident_key)."""
    return log_partition("resource:" + resource_key.lower())


def new_incident_id(partition: str) -> str:
    return f"INC-{partition}-{secrets.token_hex(3)}"


def logged_incident(incident_id: str) -> str | None:
    """The IncidentLog partition an incident id names; None for an id of the earlier layout
    (`INC-` and 10 hex digits: its own partition in Incidents, its pointer in OpenIncidents)."""
    match = _LOGGED_INCIDENT.match(incident_id or "")
    return match.group("partition") if match else None


def minute(at: datetime) -> str:
    return stamp(at)[:16]


def stamp(at: datetime) -> str:
    """UTC, always with microseconds: `2026-11-20T09:00:00.000000+00:00` (sorts as it reads)."""
    return utc_text(at if at.tzinfo is not None else at.replace(tzinfo=UTC))


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day(at: datetime) -> str:
    return stamp(at)[:10]


def id_key(value: int) -> str:
    """Ids as RowKeys: zero-padded, so string order is id order."""
    return f"{value:019d}"


def derived_id(*parts: str) -> int:
    """An id drawn from what names a thing rather than from the clock: the same on every attempt
    at it, so a retry writes over the row an earlier attempt left. 63 bits of the parts' sha256
    (a positive signed 64-bit integer, like `Ids`); two things sharing one needs about 2**31 of them."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Ids:
    """Integer ids that sort in the order they were made, unique across workers without a counter.

    Microseconds since the epoch, shifted left 10 bits, with 10 random bits below: strictly
    increasing within a process, and two workers colliding need the same microsecond and the
    same 10 random bits; the conditional insert that stores the id catches even that (retry).
    Fits a signed 64-bit integer for centuries.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            fresh = (time.time_ns() // 1000) << 10 | secrets.randbits(10)
            self._last = max(self._last + 1, fresh)
            return self._last
