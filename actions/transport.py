"""How the ARM clients reach Azure: one HTTP session for every client of the worker, bounded waits, and retries that never hold a trigger for minutes.

Each SDK client would otherwise open its own `requests` session: a new TLS connection for the
compute and the Resource Health client of every subscription, though they all talk to the same
host (management.azure.com, or the simulated Azure). The SDK's defaults wait up to 300 s for a
connection and for an answer, retry 10 times with up to 120 s between tries, and sleep for any
Retry-After ARM sends, however long. A Functions invocation has 10 minutes (host.json) for every
signal of its delivery, and the app has its own, safer retry: a transient refusal leaves an
intent that the next tick reads the live state for and tries again. So the SDK retries briefly
and gives up early, and a long Retry-After is handed to the tick rather than slept through.

The SDK is imported here at module level: import this module only where a client is built.
"""

from __future__ import annotations

import threading
from typing import Any

from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import RequestsTransport

CONNECTION_TIMEOUT = 10  # seconds to connect (the SDK's default: 300)
READ_TIMEOUT = 30  # seconds to wait for an answer (the SDK's default: 300)
RETRY_TOTAL = 3  # tries after the first (the SDK's default: 10)
RETRY_BACKOFF_MAX = 8  # seconds between tries at most, without a Retry-After (the SDK's default: 120)
LONGEST_RETRY_AFTER = 10  # seconds: a longer Retry-After is the tick's to honour, not this call's
RETRY_TIMEOUT = 60  # seconds one call may take, its tries and waits included (the SDK's default: 7 days)


class BoundedRetryPolicy(RetryPolicy):
    """The SDK's retries (429, 5xx, lost connections; a POST whose answer was lost is not sent
    again), except that an answer asking to wait longer than LONGEST_RETRY_AFTER is returned at
    once, so the caller records it and the tick tries again after that time."""

    def is_retry(self, settings: dict[str, Any], response: Any) -> bool:
        wait = self.get_retry_after(response)
        if wait is not None and wait > LONGEST_RETRY_AFTER:
            return False
        return super().is_retry(settings, response)


def retry_policy(**overrides: Any) -> BoundedRetryPolicy:
    """`overrides`: retry_* settings a caller gives (tests shorten the backoff)."""
    settings = {"retry_total": RETRY_TOTAL, "retry_backoff_max": RETRY_BACKOFF_MAX, "timeout": RETRY_TIMEOUT, **overrides}
    return BoundedRetryPolicy(**settings)


class SharedSession:
    """One `requests` session to one endpoint, for every client that talks to it.

    Each client gets a transport of its own over the session (a client closes its transport,
    which leaves a session it does not own open); `close` ends the session itself."""

    def __init__(self, connection_verify: bool | str) -> None:
        self.connection_verify = connection_verify
        self._owner: RequestsTransport | None = None
        self._lock = threading.Lock()

    def transport(self) -> RequestsTransport:
        with self._lock:
            if self._owner is None:
                self._owner = RequestsTransport(**self._settings())
                self._owner.open()  # creates the session, its adapters mounted as the SDK mounts its own
            session = self._owner.session
        return RequestsTransport(session=session, session_owner=False, **self._settings())

    def close(self) -> None:
        with self._lock:
            owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()

    def _settings(self) -> dict[str, Any]:
        return {"connection_verify": self.connection_verify, "connection_timeout": CONNECTION_TIMEOUT,
                "read_timeout": READ_TIMEOUT}
