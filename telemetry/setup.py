"""Turn on Azure Monitor export when the app runs with an Application Insights resource.

The distro (`azure-monitor-opentelemetry`) pulls in the OpenTelemetry SDK and a dozen
instrumentations, so it is imported here, inside `configure()`, and only when a connection
string is present: a local run or a test pays nothing for it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# Set by the infrastructure when the Application Insights resource refuses key-based ingestion:
# "Authorization=AAD;ClientId=<user-assigned identity client id>".
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

# The Functions host already ships the worker's log records to Application Insights; exporting
# them here as well would count every line twice. The distro collects logs from this one logger
# only, which the app leaves to records meant for export alone.
EXPORTED_LOGGER = "resource_health_responder.exported"



@dataclass(frozen=True)
class TelemetrySettings:
    """The settings telemetry needs, as the app's one settings reader (pipeline/settings.py)
    parses them: the Functions platform sets these names, not the operator's app settings."""

    connection_string: str = ""  # APPLICATIONINSIGHTS_CONNECTION_STRING
    authentication_string: str = ""  # APPLICATIONINSIGHTS_AUTHENTICATION_STRING
    client_id: str = ""  # AZURE_CLIENT_ID: the user-assigned identity when the string names none


_lock = threading.Lock()
_configured = False


def _parse_pairs(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip()
    return pairs


def _credential(settings: TelemetrySettings):
    """The Entra credential for ingestion, or None when the connection string's key suffices."""
    auth = _parse_pairs(settings.authentication_string)
    if auth.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = auth.get("clientid") or settings.client_id or None
    return ManagedIdentityCredential(client_id=client_id)


def configure(settings: TelemetrySettings) -> bool:
    """Set up Azure Monitor export once; True when it is (or already was) on.

    Without APPLICATIONINSIGHTS_CONNECTION_STRING this does nothing and returns False. A failure
    to set up export is logged, not raised: losing metrics must not stop a remediation.
    """
    global _configured
    with _lock:
        if _configured:
            return True
        connection_string = settings.connection_string.strip()
        if not connection_string:
            return False
        try:
            from azure.monitor.opentelemetry import configure_azure_monitor

            options = {"connection_string": connection_string, "logger_name": EXPORTED_LOGGER}
            credential = _credential(settings)
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
