"""Turn on Azure Monitor export when the app runs with an Application Insights resource.

The distro (`azure-monitor-opentelemetry`) pulls in the OpenTelemetry SDK and a dozen
instrumentations, so it is imported here, inside `configure()`, and only when a connection
string is present: a local run or a test pays nothing for it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# Set by the infrastructure when the Application Insights resource refuses key-based ingestion:
# "Authorization=AAD;ClientId=<user-assigned identity client id>".
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

# The Functions host already ships the worker's log records to Application Insights; exporting
# them here as well would count every line twice. The distro collects logs from this one logger
# only, which the app leaves to records meant for export alone.
EXPORTED_LOGGER = "resource_health_responder.exported"

_lock = threading.Lock()
_configured = False


def _parse_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip()
    return pairs


def _credential(environ: Mapping[str, str]):
    """The Entra credential for ingestion, or None when the connection string's key suffices."""
    auth = _parse_pairs(environ.get(AUTHENTICATION_STRING, ""))
    if auth.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = auth.get("clientid") or environ.get("AZURE_CLIENT_ID") or None
    return ManagedIdentityCredential(client_id=client_id)


def configure() -> bool:
    """Set up Azure Monitor export once; True when it is (or already was) on.

    Without APPLICATIONINSIGHTS_CONNECTION_STRING this does nothing and returns False. A failure
    to set up export is logged, not raised: losing metrics must not stop a remediation.
    """
    global _configured
    with _lock:
        if _configured:
            return True
        connection_string = os.environ.get(CONNECTION_STRING, "").strip()
        if not connection_string:
            return False
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor

            options = {"connection_string": connection_string, "logger_name": EXPORTED_LOGGER}
            credential = _credential(os.environ)
            if credential is not None:
                options["credential"] = credential
            configure_azure_monitor(**options)
        except Exception:  # noqa: BLE001 - see docstring
            log.exception("Azure Monitor export could not be configured; continuing without it")
            return False
        _configured = True
        return True


def _reset() -> None:
    """Forget that configure() ran (tests only: the distro itself cannot be undone)."""
    global _configured
    with _lock:
        _configured = False
