"""A static token credential for talking to the simulated Azure with the real SDKs."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class SimCredential:
    """A TokenCredential (and SupportsTokenInfo) that hands out one fixed bearer token.

    The simulated Azure does not check tokens; the SDKs just need something to send.
    """

    def __init__(self, token: str = "simulated-azure-token", lifetime: int = 3600) -> None:
        self.token = token
        self.lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + self.lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self.token, int(time.time()) + self.lifetime)

    def close(self) -> None:
        pass

    def __enter__(self) -> "SimCredential":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
