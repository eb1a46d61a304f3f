"""The SQLite backend: one embedded database file (or `:memory:`) behind the ledger's ports.

`ledger.py` is the ledger class; each other module is one store's SQL (mixed into it).
"""

from __future__ import annotations

from .ledger import SqliteLedger

__all__ = ["SqliteLedger"]
