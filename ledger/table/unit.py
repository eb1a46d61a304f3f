"""A decision's writes as one transaction on Table Storage (mixed into TableLedger).

Inside `atomically()` the hot path's writes (the open-incident pointer, the incident, the
signal, the decision, the resource's storm mark, the claim's settling) are not sent one by one:
they wait in the thread's unit and go as one entity-group transaction per partition when the
delivery is settled (all of them share the incident key's IncidentLog partition), or sooner when
a call needs them stored (holding the incident's action). The reads the decision needs of that
partition (the pointer, the resource's recent signals and marks) are one query, kept in the
unit. The pointer is written with the ETag read, so a transaction that lost to another worker
keeps nothing and raises `Superseded`: the pipeline decides again from a fresh read. A
transaction that failed because the delivery's own claim or lease row is gone (404) raises
`ClaimLost` instead: deciding again would not bring the claim back.

Outside `atomically()` every method writes at once, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rules.ports import ClaimLost, Superseded

from ..backend_state import TableConditions
from . import keys

# A signal's recent history read with its partition: repeat rules look back this far without
# another request (the default policy's windows are 24 hours; a longer one costs a query).
HORIZON_HOURS = 24
SIGNAL_ROW = "sig|"
MARK_ROW = "mark|"
# A delivery's claim rows beside its incident (ledger.py `_claim_rows`).
CLAIM_ROWS = ("lease|", "claim|")
# What the snapshot keeps of each row: enough for the pointer, repeats and marks.
SNAPSHOT_FIELDS = ["RowKey", "name", "key", "incident_id", "resource_id", "opened_at", "last_signal_at", "scope", "at"]


@dataclass
class Snapshot:
    """The rows of one partition read at the start of a decision."""

    rows: dict[str, Any]
    signals_since: str  # the stamp from which the signal rows are all here


@dataclass
class Unit:
    pending: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)  # partition -> operations
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    after: list[Callable[[], None]] = field(default_factory=list)  # run once the writes are stored
    last: str = ""  # the partition to send last (the one that settles the claim)

    def add(self, partition: str, operation: tuple[Any, ...]) -> None:
        self.pending.setdefault(partition, []).append(operation)

    def reset(self) -> None:
        self.pending.clear()
        self.snapshots.clear()
        self.after.clear()
        self.last = ""


class TableUnits(TableConditions):
    """Uses TableLedger's `_table`, `_transaction_error`."""

    _local: threading.local

    def _unit(self) -> Unit | None:
        return getattr(self._local, "unit", None)

    @contextmanager
    def atomically(self) -> Iterator[None]:
        """The writes inside as one transaction per partition, sent when the delivery is settled
        or on leaving the block; dropped when the block raises."""
        if self._unit() is not None:
            yield
            return
        unit = self._local.unit = Unit()
        try:
            yield
            self._commit(unit)
        finally:
            unit.reset()
            self._local.unit = None

    @contextmanager
    def _writes(self) -> Iterator[Unit]:
        """The thread's unit, or one for this call alone, sent when the call ends."""
        unit = self._unit()
        if unit is not None:
            yield unit
            return
        own = Unit()
        yield own
        self._commit(own)

    def _commit(self, unit: Unit) -> None:
        """Send what the unit holds, the partition that settles last; then its follow-ups."""
        order = sorted(unit.pending, key=lambda partition: partition == unit.last)
        table = self._table("log")
        try:
            for partition in order:
                operations = unit.pending[partition]
                for start in range(0, len(operations), 100):  # Table Storage's limit per transaction
                    sent = operations[start:start + 100]
                    try:
                        table.submit_transaction(sent)
                    except self._transaction_error as exc:
                        if exc.status_code == 404 and _claim_row(sent, exc.index):
                            raise ClaimLost("the delivery's claim is gone (purged, or given back by a later attempt "
                                            "that took it over once its lease ran out)") from exc
                        if exc.status_code in (404, 409, 412):
                            raise Superseded(f"another worker wrote first ({exc.status_code}): decide again") from exc
                        raise
                del unit.pending[partition]
        except BaseException:
            unit.reset()
            raise
        follow_ups = list(unit.after)
        unit.reset()
        for follow_up in follow_ups:
            follow_up()

    def _flush(self) -> None:
        """Store what waits in this thread's unit now: a call needs it stored (its snapshot stays)."""
        unit = self._unit()
        if unit is not None and unit.pending:
            snapshots = dict(unit.snapshots)
            self._commit(unit)
            unit.snapshots.update(snapshots)

    # -- the partition read once per decision ----------------------------------------------

    def _snapshot(self, partition: str, at: datetime, fresh: bool = False) -> Snapshot:
        unit = self._unit()
        if unit is not None and not fresh and partition in unit.snapshots:
            return unit.snapshots[partition]
        since = keys.stamp(at.replace(microsecond=0) - timedelta(hours=HORIZON_HOURS))
        rows = self._table("log").query_entities(
            "PartitionKey eq @p and ( RowKey eq @open or ( RowKey ge @marks and RowKey lt @marks_end )"
            " or ( RowKey ge @signals and RowKey lt @signals_end ) )",  # spaced: the SDK finds @names between spaces
            parameters={"p": partition, "open": keys.POINTER_ROW, "marks": MARK_ROW, "marks_end": "mark}",
                        "signals": SIGNAL_ROW + since, "signals_end": "sig}"},
            select=SNAPSHOT_FIELDS,
        )
        snapshot = Snapshot({row["RowKey"]: row for row in rows}, since)
        if unit is not None:
            unit.snapshots[partition] = snapshot
        return snapshot

    def _known(self, partition: str) -> Snapshot | None:
        unit = self._unit()
        return unit.snapshots.get(partition) if unit is not None else None



def _claim_row(operations: list[tuple[Any, ...]], index: int | None) -> bool:
    """The transaction's failing operation is on the delivery's claim or lease row."""
    if index is None or not 0 <= index < len(operations):
        return False
    return str(operations[index][1].get("RowKey", "")).startswith(CLAIM_ROWS)
