"""The simulated fleet: subscriptions, VMs and scale sets, keyed case-insensitively by ARM id.

(Placeholder while the fleet model is written; the full model replaces it.)
"""

from __future__ import annotations

import json
import os
from typing import Any


class Fleet:
    def __init__(self) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_any(cls, source: "Fleet | dict | str | os.PathLike | None") -> "Fleet":
        if isinstance(source, Fleet):
            return source
        if source is None:
            return cls()
        if isinstance(source, dict):
            return cls.from_dict(source)
        with open(source, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fleet":
        return cls()
