"""Every error the ledger raises, drawn once."""


class LedgerError(Exception):
    """The ledger cannot be opened or written."""


class LedgerConfigError(LedgerError):
    """RESPONDER_LEDGER names a backend or location that cannot be used."""
