"""Each backend held by the type checker to the ports it stands behind, one function each: a
backend that lacks a port's method, or has one with another signature, fails `mypy` here
(tests/ledger/test_ports_conformance.py names a missing method at run time too). `Store` is every
port of rules/ports.py (the pipeline's and those of approvals/, waves/, sweep/ and the command
line), so a ledger that is a Store is each of them. Nothing here runs: the imports are for the
checker only, so the Azure SDK stays unimported."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notify.outbox import OutboxStore
    from rules.ports import Store

    from .sqlite.ledger import SqliteLedger
    from .sqlite.outbox import SqliteOutbox
    from .table.ledger import TableLedger
    from .table.outbox import TableOutbox


def _sqlite_ledger_is_a_store(ledger: SqliteLedger) -> Store:
    return ledger


def _table_ledger_is_a_store(ledger: TableLedger) -> Store:
    return ledger


def _sqlite_outbox_is_an_outbox_store(outbox: SqliteOutbox) -> OutboxStore:
    return outbox


def _table_outbox_is_an_outbox_store(outbox: TableOutbox) -> OutboxStore:
    return outbox
