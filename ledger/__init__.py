"""State behind every port of rules/ports.py (a rules.ports.Store): SQLite embedded; Table Storage in Azure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import LedgerConfigError, LedgerError
from .sqlite import SqliteLedger

if TYPE_CHECKING:  # types only: the backends are checked against the pipeline's port here
    from notify.outbox import OutboxStore
    from rules.ports import Store


def open_ledger(url: str | None, settings: Any = None) -> Store:
    """`sqlite:PATH` (or a bare path), `sqlite::memory:`, or `table` (Azure Table Storage).

    `table` reads `table_connection_string`, `table_endpoint` and `table_prefix` from `settings`
    (a Settings object, which has them from RESPONDER_TABLE_CONNECTION_STRING,
    RESPONDER_TABLE_ENDPOINT and RESPONDER_TABLE_PREFIX, or a mapping).
    """
    url = (url or "sqlite::memory:").strip()
    if url == "table":
        from .table import TableLedger  # here, so only this backend pays for the Azure SDK

        return TableLedger.from_settings(settings)
    path = url[len("sqlite:"):] if url.startswith("sqlite:") else url
    return SqliteLedger(path or ":memory:")


def outbox_for(ledger: Store) -> OutboxStore:
    """The outbox beside a ledger: on its table service and prefix for Table Storage, else in its
    SQLite file (in memory when the ledger is)."""
    if isinstance(ledger, SqliteLedger):
        from .sqlite.outbox import SqliteOutbox

        return SqliteOutbox(ledger.path or ":memory:")
    from .table.ledger import TableLedger  # here: only a Table Storage ledger's outbox needs the SDK

    if isinstance(ledger, TableLedger):
        from .table.outbox import TableOutbox

        return TableOutbox(ledger.service, ledger.prefix)
    raise LedgerConfigError(f"no outbox beside a {type(ledger).__name__}: the outbox lives beside a SQLite or Table Storage ledger")


__all__ = ["LedgerConfigError", "LedgerError", "SqliteLedger", "open_ledger", "outbox_for"]
