"""Build a pipeline from settings: the one place that knows which backend fills which port."""

from __future__ import annotations

from rules import Engine, load_catalog, load_policy

from . import metrics
from .azure import Connect, connector
from .core import Pipeline, utc_now
from .remediation import Remediation
from .settings import Settings


def build_pipeline(settings: Settings, ledger=None, clock=None, connect: Connect | None = None) -> Pipeline:
    """`connect` (or RESPONDER_AZURE) gives the pipeline an Azure to verify against and act on."""
    from ledger import open_ledger

    catalog = load_catalog(settings.catalog_path)
    policy = load_policy(settings.policy_path, catalog)
    engine = Engine(catalog, policy, mode_override=settings.mode)
    clock = clock or utc_now
    store = ledger or open_ledger(settings.ledger)
    connect = connect or connector(settings)
    remediator = Remediation(store, connect, clock) if connect else None
    return Pipeline(store, engine, clock=clock, remediator=remediator, listeners=[metrics.count])
