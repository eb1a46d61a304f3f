"""ISO 8601 durations as the policy writes them (PT30M, PT24H, P1D, P1DT6H)."""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import PolicyError

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def parse_duration(text: str, where: str = "duration") -> timedelta:
    match = _DURATION.match(str(text).strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise PolicyError(f"{where}: {text!r} is not an ISO 8601 duration such as PT30M or P1D")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)
