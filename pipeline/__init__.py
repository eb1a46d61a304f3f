"""The pipeline every host runs: Functions triggers, the command line and the tests. It is built
from settings by wiring/, the floor above."""

from .core import CLAIM_LEASE, DEFERRED, Pipeline, utc_now
from .errors import DeliveryDeferred, NoticesNotRecorded, PipelineError, SettingsError
from .outcome import Outcome
from .settings import Settings

__all__ = ["CLAIM_LEASE", "DEFERRED", "DeliveryDeferred", "NoticesNotRecorded", "Outcome", "Pipeline", "PipelineError", "Settings", "SettingsError", "utc_now"]
