"""What the ledger's mixins (one per concern: operations, safety, approvals, waves...) reach on the
backend class they are mixed into: its connection or tables, its lock, its SDK condition types and
its plumbing. Written down so mypy checks each mixin against it, and each backend (SqliteLedger,
TableLedger, TableOutbox) against what its mixins use.

For the type checker only: at run time each name is `object`, so every class's bases and method
order are what they were without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
    import threading
    from collections.abc import Mapping
    from contextlib import AbstractContextManager
    from datetime import datetime
    from typing import Any, Protocol

    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import TableEntity, TableTransactionError, UpdateMode

    from .table.keys import Ids
    from .table.storm_counters import Counters
    from .table.unit import Snapshot, Unit

    class SqliteState(Protocol):
        """SqliteLedger's: one connection, used under one lock, and its transaction."""

        _db: sqlite3.Connection
        _lock: threading.RLock

        def _transaction(self) -> AbstractContextManager[None]: ...

    class TableConditions(Protocol):
        """A Table Storage backend's (TableLedger, TableOutbox): its table clients and the SDK's
        error and condition types, imported when the backend is built (the SDK is heavy)."""

        _exists: type[ResourceExistsError]
        _modified: type[ResourceModifiedError]
        _missing: type[ResourceNotFoundError]
        _transaction_error: type[TableTransactionError]
        _if_unchanged: MatchConditions
        _replace: UpdateMode
        _ids: Ids

        def _table(self, role: str) -> Any: ...

    class TableState(TableConditions, Protocol):
        """TableLedger's: the conditional writes every concern uses, and the operation index the
        safety and the waves read."""

        _merge: UpdateMode
        _counters: Counters  # the storm breaker's per-minute counts this worker holds

        def _transaction(self, table: Any, operations: list[tuple[Any, ...]]) -> int | None: ...

        # A decision's unit of writes (table_unit.py): one transaction per partition.
        def _unit(self) -> Unit | None: ...

        def _writes(self) -> AbstractContextManager[Unit]: ...

        def _flush(self) -> None: ...

        def _snapshot(self, partition: str, at: datetime, fresh: bool = False) -> Snapshot: ...

        def _known(self, partition: str) -> Snapshot | None: ...

        def _get(self, table: Any, partition: str, row: str) -> TableEntity | None: ...

        def _insert(self, table: Any, entity: Mapping[str, Any]) -> bool: ...

        def _replace_if_unchanged(self, table: Any, entity: Mapping[str, Any], read: Any) -> bool: ...

        def indexed_operations(self, partition: str, since: str = "", newest_first: bool = False) -> list[dict[str, Any]]: ...

else:
    SqliteState = TableConditions = TableState = object
