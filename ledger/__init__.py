"""State behind one port (rules.ports.Ledger): SQLite embedded; Table Storage in Azure."""

from __future__ import annotations

from .errors import LedgerConfigError, LedgerError
from .sqlite import SqliteLedger


def open_ledger(url: str | None):
    """`sqlite:PATH` (or a bare path), `sqlite::memory:`, or `table` (Azure Table Storage)."""
    url = (url or "sqlite::memory:").strip()
    if url == "table":
        raise LedgerConfigError("RESPONDER_LEDGER=table: the Table Storage ledger is not part of this build yet")
    path = url[len("sqlite:"):] if url.startswith("sqlite:") else url
    return SqliteLedger(path or ":memory:")


__all__ = ["LedgerConfigError", "LedgerError", "SqliteLedger", "open_ledger"]
