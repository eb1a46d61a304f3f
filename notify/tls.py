"""TLS trust for the channels: the system's CAs, or a CA bundle (the simulated Azure's)."""

from __future__ import annotations

import ssl
from typing import Any


def verify_arg(verify: Any) -> Any:
    """httpx's `verify=`: True/False as given, a CA bundle path as an SSL context (httpx no
    longer takes a path)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify
