"""Every backend has every method of the ports it stands behind. mypy checks the signatures
(`open_ledger` answers a `rules.ports.Store`, `outbox_for` a `notify.outbox.OutboxStore`); this
says by name which method a backend lacks, whichever way it is built."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

from ledger.sqlite.ledger import SqliteLedger
from ledger.sqlite.outbox import SqliteOutbox
from ledger.table.ledger import TableLedger
from ledger.table.outbox import TableOutbox
from notify.outbox import OutboxStore
from rules.ports import Ledger, OperationStore, SafetyStore, Store


def port_methods(port: type) -> set[str]:
    """The public methods a Protocol declares, its bases' included."""
    return {name for cls in port.__mro__ if cls not in (object, Protocol) and Protocol in cls.__mro__
            for name, value in vars(cls).items() if not name.startswith("_") and inspect.isfunction(value)}


def missing(backend: type, port: type) -> list[str]:
    return sorted(name for name in port_methods(port) if not callable(getattr(backend, name, None)))


@pytest.mark.parametrize(("backend", "port"), [
    (SqliteLedger, Store), (TableLedger, Store), (SqliteOutbox, OutboxStore), (TableOutbox, OutboxStore),
], ids=lambda value: value.__name__)
def test_a_backend_has_every_method_of_its_port(backend, port):
    assert missing(backend, port) == []


def test_the_store_port_is_the_ledger_operations_and_safety_ports():
    assert port_methods(Store) == port_methods(Ledger) | port_methods(OperationStore) | port_methods(SafetyStore)
    assert {"claim_delivery", "record_signal"} <= port_methods(Store)


def test_a_backend_lacking_a_method_is_named():
    class Partial(SqliteLedger):
        claim_delivery = None  # type: ignore[assignment]

    assert missing(Partial, Store) == ["claim_delivery"]
