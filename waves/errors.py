"""Every error the maintenance waves raise, drawn once.

    WavesError                    base
    ├── WavePolicyError           the policy's `maintenance:` section cannot be used (also a rules PolicyError,
    │                             so whoever loads the policy reports it like any other policy mistake)
    └── WaveNotFoundError         no wave with this id
"""

from __future__ import annotations

from rules.errors import PolicyError


class WavesError(Exception):
    """Base of the maintenance waves' errors."""


class WavePolicyError(WavesError, PolicyError):
    """The `maintenance:` section of the policy fails its schema or names something unknown."""


class WaveNotFoundError(WavesError):
    """No wave with this id in the ledger."""
