"""Every error the ledger raises, drawn once.

    LedgerError                  the ledger cannot be opened or written
    ├── LedgerConfigError        RESPONDER_LEDGER (or its settings) cannot be used
    ├── LedgerUnavailableError   the store did not answer, or answered 5xx/408/429: try again later
    ├── LedgerAccessError        the store refused who we are (401/403): fix the identity or role
    └── LedgerContentionError    a conditional write kept losing to other workers; try again later

Backends wrap their SDK's errors in these (`raise ... from exc`), so a caller can tell a transient
outage (retry the delivery) from a configuration mistake (page a person).
"""


class LedgerError(Exception):
    """The ledger cannot be opened or written."""


class LedgerConfigError(LedgerError):
    """RESPONDER_LEDGER names a backend or location that cannot be used."""


class LedgerUnavailableError(LedgerError):
    """The store could not be reached or failed on its side: transient, worth retrying."""


class LedgerAccessError(LedgerError):
    """The store refused our identity: a missing role assignment or a wrong key, not transient."""


class LedgerContentionError(LedgerError):
    """A conditional write lost to other workers more times than allowed."""
