"""Build a pipeline from settings: the one place that knows which backend fills which port."""

from __future__ import annotations

from rules import Engine, load_catalog, load_policy

from .core import Pipeline
from .settings import Settings


def build_pipeline(settings: Settings, ledger=None, clock=None) -> Pipeline:
    from ledger import open_ledger

    catalog = load_catalog(settings.catalog_path)
    policy = load_policy(settings.policy_path, catalog)
    engine = Engine(catalog, policy, mode_override=settings.mode)
    kwargs = {"clock": clock} if clock else {}
    return Pipeline(ledger or open_ledger(settings.ledger), engine, **kwargs)
