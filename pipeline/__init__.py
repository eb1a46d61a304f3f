"""The pipeline every host runs: Functions triggers, the command line and the tests."""

from .core import CLAIM_LEASE, DEFERRED, Pipeline, utc_now
from .errors import DeliveryDeferred, PipelineError, SettingsError
from .outcome import Outcome
from .settings import Settings
from .wiring import build_pipeline

__all__ = ["CLAIM_LEASE", "DEFERRED", "DeliveryDeferred", "Outcome", "Pipeline", "PipelineError", "Settings", "SettingsError", "build_pipeline", "utc_now"]
