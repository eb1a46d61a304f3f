"""The decision core: signals, the catalog, the policy and the engine.

Pure: imports no Azure SDK and nothing else of the app, so it is fast to import and to test.
"""

from .catalog import Catalog, Classification, load_catalog
from .durations import parse_duration
from .engine import Decision, Engine
from .errors import CatalogError, PolicyError, RulesError
from .policy import Policy, Rule, load_policy, parse_policy
from .signals import Signal
from .vocabulary import ACTIONS, INITIATORS, KINDS, MODES, STATUSES

__all__ = [
    "ACTIONS", "INITIATORS", "KINDS", "MODES", "STATUSES",
    "Catalog", "CatalogError", "Classification", "Decision", "Engine", "Policy", "PolicyError",
    "Rule", "RulesError", "Signal", "load_catalog", "load_policy", "parse_duration", "parse_policy",
]
