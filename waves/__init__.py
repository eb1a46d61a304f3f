"""Self-service maintenance waves: Azure announces planned maintenance with a self-service window
in which the customer may start it per VM (performMaintenance) before Azure does it itself. A wave
per scope starts it one update domain at a time, inside the owner's maintenance window, with a
rest between update domains, and stops at the first failure. See docs/waves.md.

    from waves import Waves, parse_maintenance
    waves = Waves(ledger, remediation, policy, clock)     # policy: rules.Policy or MaintenancePolicy
    status, reason = waves.enroll(incident_id=..., signal_id=..., resource_id=..., mode=..., params=..., facts=...)
    ended = waves.advance()                               # on every tick: list[Ended]
"""

from __future__ import annotations

from .admin import close_wave, list_waves
from .errors import WaveNotFoundError, WavePolicyError, WavesError
from .policy import MaintenancePolicy, MaintenanceWindow, parse_maintenance
from .service import ACTION, Ended, Waves

__all__ = [
    "ACTION",
    "Ended",
    "MaintenancePolicy",
    "MaintenanceWindow",
    "WaveNotFoundError",
    "WavePolicyError",
    "Waves",
    "WavesError",
    "close_wave",
    "list_waves",
    "parse_maintenance",
]
