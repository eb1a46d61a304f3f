"""Reaching Table Storage: which client to build from the settings, and what its errors mean.

The SDK (azure-data-tables, azure-identity) is imported inside these functions only: the
Functions cold start and every host that uses the SQLite ledger never load it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..errors import LedgerAccessError, LedgerConfigError, LedgerError, LedgerUnavailableError

# The app settings behind each value (pipeline/settings.py reads them; the ledger reads none).
ENV = {
    "table_connection_string": "RESPONDER_TABLE_CONNECTION_STRING",
    "table_endpoint": "RESPONDER_TABLE_ENDPOINT",
    "table_prefix": "RESPONDER_TABLE_PREFIX",
}

# A worker should give up on an unreachable store in seconds, not minutes: the delivery is retried
# by Event Grid or the action group anyway. The SDK's own default is 10 retries with backoff.
CLIENT_OPTIONS = {"retry_total": 3, "retry_backoff_factor": 0.4, "connection_timeout": 10, "read_timeout": 30}

# How often a conditional write may lose to other workers before the caller is told.
ATTEMPTS = 25


def backoff(attempt: int) -> None:
    """Losers of a conditional write wait a little, with jitter, so they do not collide again."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # nosec B311 - back-off jitter, not a secret


def setting(settings: Any, name: str) -> str:
    """`name` (a key of ENV) from a Settings-like object or a mapping; empty when absent."""
    if isinstance(settings, Mapping):
        value = settings.get(name)
    else:
        value = getattr(settings, name, None)
    return str(value or "").strip()


def service_client(connection_string: str = "", endpoint: str = "", credential: Any = None, **options: Any):
    """A TableServiceClient from a connection string (locally, Azurite) or an endpoint and an identity.

    In Azure the endpoint is used with DefaultAzureCredential: the Function App's user-assigned
    managed identity, chosen by AZURE_CLIENT_ID, which needs Storage Table Data Contributor.
    """
    options = {**CLIENT_OPTIONS, **options}
    from azure.data.tables import TableServiceClient

    if connection_string:
        try:
            return TableServiceClient.from_connection_string(connection_string, **options)
        except ValueError as exc:
            raise LedgerConfigError(f"RESPONDER_TABLE_CONNECTION_STRING cannot be used: {exc}") from exc
    if endpoint:
        if not endpoint.lower().startswith("https://") and credential is None:
            raise LedgerConfigError(
                f"RESPONDER_TABLE_ENDPOINT={endpoint!r}: an identity is only sent over https; "
                "use RESPONDER_TABLE_CONNECTION_STRING for a local emulator"
            )
        if credential is None:
            from azure.identity import DefaultAzureCredential

            # AZURE_CLIENT_ID, when set, selects the user-assigned managed identity.
            credential = DefaultAzureCredential()
        try:
            return TableServiceClient(endpoint=endpoint, credential=credential, **options)
        except ValueError as exc:
            raise LedgerConfigError(f"RESPONDER_TABLE_ENDPOINT={endpoint!r} cannot be used: {exc}") from exc
    raise LedgerConfigError(
        "RESPONDER_LEDGER=table needs RESPONDER_TABLE_CONNECTION_STRING (locally, e.g. Azurite) "
        "or RESPONDER_TABLE_ENDPOINT (in Azure, with the app's managed identity)"
    )


@contextmanager
def sdk_errors(doing: str) -> Iterator[None]:
    """Turn what the SDK raises while `doing` something into the ledger's own errors.

    Conditional-write outcomes (409, 412, 404) are handled by the caller inside this block,
    before they reach it; whatever arrives here is a failure.
    """
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    try:
        yield
    except ClientAuthenticationError as exc:
        raise LedgerAccessError(f"Table Storage refused the app's identity while {doing}: {_short(exc)}") from exc
    except HttpResponseError as exc:
        status = exc.status_code or 0
        if status in (401, 403):
            raise LedgerAccessError(
                f"Table Storage refused access while {doing} (HTTP {status}); the identity needs "
                f"Storage Table Data Contributor: {_short(exc)}"
            ) from exc
        if status >= 500 or status in (408, 429):
            raise LedgerUnavailableError(f"Table Storage failed while {doing} (HTTP {status}): {_short(exc)}") from exc
        raise LedgerError(f"Table Storage refused a request while {doing} (HTTP {status}): {_short(exc)}") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise LedgerUnavailableError(f"Table Storage could not be reached while {doing}: {_short(exc)}") from exc
    except AzureError as exc:
        raise LedgerError(f"Table Storage failed while {doing}: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
