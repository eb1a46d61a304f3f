"""How the app reaches Azure Resource Manager: live (DefaultAzureCredential, a managed identity
in Azure), or the simulated Azure (its URL, its certificate, a static token). One function
from a subscription id to the worker's cached clients: one AzureClients for every subscription,
so that all of them share one HTTP session (one TLS connection pool) to ARM."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

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
            credential = LocalToken()

    def connect(subscription_id: str) -> Any:
        # Every caller names the subscription of each client it asks for (clients.compute(sub)).
        return AzureClients.build(settings.default_subscription or None, base_url=base_url, connection_verify=verify,
                                  credential=credential, polling_interval=0, scale_set_write=settings.scale_set_write,
                                  client_id=settings.client_id or None)

    return connect


class LocalToken:
    """A TokenCredential (and SupportsTokenInfo) that hands out one fixed bearer token, for a
    stand-in of Azure on this machine (RESPONDER_AZURE=sim): it checks no token, but the SDKs
    need one to send. Whoever builds the pipeline may inject another credential instead."""

    def __init__(self, token: str = "local-azure-token", lifetime: int = 3600) -> None:  # nosec B107 - not a secret: a stand-in checks no token
        self.token = token
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self.token, int(time.time()) + self.lifetime)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalToken:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
