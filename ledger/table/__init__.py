"""The Azure Table Storage backend: the ledger's ports over Azure Tables (or Azurite).

`ledger.py` is the ledger class; `service.py` the SDK client, retries and error mapping;
`unit.py` the ETag-guarded transaction plumbing; `keys.py` partition and row keys; each other
module is one store's rows (mixed into the ledger). `TableLedger` is looked up lazily so that
importing a helper module here (keys, say) does not pay for the Azure SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ledger import TableLedger


def __getattr__(name: str) -> Any:
    if name == "TableLedger":
        from .ledger import TableLedger

        return TableLedger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TableLedger"]
