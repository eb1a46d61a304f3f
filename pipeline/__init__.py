"""The pipeline every host runs: Functions triggers, the command line and the tests."""

from .core import Pipeline, utc_now
from .errors import PipelineError, SettingsError
from .outcome import Outcome
from .settings import Settings
from .wiring import build_pipeline

__all__ = ["Outcome", "Pipeline", "PipelineError", "Settings", "SettingsError", "build_pipeline", "utc_now"]
