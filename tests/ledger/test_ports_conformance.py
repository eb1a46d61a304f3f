"""Every backend has every method of the ports it stands behind. mypy checks the signatures
(ledger/conformance.py: each ledger is a `rules.ports.Store`, each outbox a
`notify.outbox.OutboxStore`); this says by name which method a backend lacks, whichever way it is
built, for every port in rules/ports.py (a port added there is held here without a line more)."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

import rules.ports
from ledger.sqlite.ledger import SqliteLedger
from ledger.sqlite.outbox import SqliteOutbox
from ledger.table.ledger import TableLedger
from ledger.table.outbox import TableOutbox
from notify.outbox import OutboxStore
from rules.ports import ApprovalStore, Ledger, OperationStore, SafetyStore, Store, SweepCursorStore, Switches, WaveStore

# Every Protocol rules/ports.py declares: what the ledger stands behind for some room.
PORTS = sorted((value for value in vars(rules.ports).values()
                if inspect.isclass(value) and value.__module__ == rules.ports.__name__ and Protocol in value.__mro__),
               key=lambda port: port.__name__)
LEDGERS = (SqliteLedger, TableLedger)


def port_methods(port: type) -> set[str]:
    """The public methods a Protocol declares, its bases' included."""
    return {name for cls in port.__mro__ if cls not in (object, Protocol) and Protocol in cls.__mro__
            for name, value in vars(cls).items() if not name.startswith("_") and inspect.isfunction(value)}


def missing(backend: type, port: type) -> list[str]:
    return sorted(name for name in port_methods(port) if not callable(getattr(backend, name, None)))


def test_the_ports_are_found():
    assert {Ledger, OperationStore, SafetyStore, Switches, ApprovalStore, WaveStore, SweepCursorStore, Store} <= set(PORTS)


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
@pytest.mark.parametrize("backend", LEDGERS, ids=lambda backend: backend.__name__)
def test_a_ledger_has_every_method_of_every_port(backend, port):
    assert missing(backend, port) == []


@pytest.mark.parametrize("backend", (SqliteOutbox, TableOutbox), ids=lambda backend: backend.__name__)
def test_an_outbox_has_every_method_of_its_port(backend):
    assert missing(backend, OutboxStore) == []


def test_the_store_port_is_every_port():
    """What the composition root opens is all of them: no room needs a method the Store lacks."""
    assert port_methods(Store) == set().union(*(port_methods(port) for port in PORTS if port is not Store))
    assert {"claim_delivery", "record_intent", "claim_slot", "add_approval", "claim_group", "sweep_cursor", "close"} <= port_methods(Store)


@pytest.mark.parametrize(("port", "method"), [(Store, "claim_delivery"), (WaveStore, "claim_wave_member"),
                                              (ApprovalStore, "consume_approval"), (SweepCursorStore, "save_sweep_cursor")])
def test_a_backend_lacking_a_method_is_named(port, method):
    Partial = type("Partial", (SqliteLedger,), {method: None})

    assert missing(Partial, port) == [method]
