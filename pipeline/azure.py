"""How the app reaches Azure Resource Manager: live (DefaultAzureCredential, a managed identity
in Azure), or the simulated Azure (its URL, its certificate, a static token). One function
from a subscription id to that subscription's cached clients."""

from __future__ import annotations

from typing import Any, Callable

from .errors import SettingsError
from .settings import Settings

Connect = Callable[[str], Any]


def connector(settings: Settings, base_url: str | None = None, ca_bundle: str | None = None, credential: Any = None) -> Connect | None:
    """None when the app has no Azure to talk to (RESPONDER_AZURE=none)."""
    if settings.azure == "none" and base_url is None:
        return None
    from actions import AzureClients

    base_url = base_url or settings.arm_endpoint or None
    verify: bool | str = ca_bundle or settings.ca_bundle or True
    if settings.azure == "sim" or base_url and "127.0.0.1" in base_url:
        if not base_url:
            raise SettingsError("RESPONDER_AZURE=sim needs RESPONDER_ARM_ENDPOINT (the simulated Azure's URL)")
        if credential is None:
            from responder.sim.credential import SimCredential

            credential = SimCredential()

    def connect(subscription_id: str) -> Any:
        return AzureClients.build(subscription_id=subscription_id, base_url=base_url, connection_verify=verify,
                                  credential=credential, polling_interval=0)

    return connect
