"""The demo's payloads as if they arrived now.

The payloads in payloads/ are dated around SCENARIO_NOW, as Azure would have sent them. The
app never acts on an event that was hours old when it arrived (max_event_age), and the demo
fleet's maintenance windows are relative to the wall clock, so the demo moves every time in a
payload by the same span: the scenario happens now, with its order and spacing kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

SCENARIO_NOW = datetime(2026, 11, 20, 8, 10, tzinfo=UTC)

# ISO 8601 as Azure writes it (up to seven fractional digits, Z or an offset), and RFC 1123
# (a scheduled event's NotBefore).
_ISO = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?(?:Z|[+-]\d\d:\d\d)")
_RFC1123 = re.compile(rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      rb"\d{4} \d\d:\d\d:\d\d GMT")


def as_of(now: datetime) -> Callable[[bytes], bytes]:
    """A function that moves every time in a payload so that SCENARIO_NOW becomes `now`."""
    span = now - SCENARIO_NOW

    def iso(match: re.Match) -> bytes:
        text = match.group(0).decode()
        head, dot, rest = text.partition(".")
        if dot:
            digits = "".join(ch for ch in rest if ch.isdigit())
            text = f"{head}.{digits[:6]:0<6}{rest[len(digits):]}"
        moved = datetime.fromisoformat(text.replace("Z", "+00:00")) + span
        return moved.astimezone(UTC).isoformat().replace("+00:00", "Z").encode()

    def rfc1123(match: re.Match) -> bytes:
        moved = parsedate_to_datetime(match.group(0).decode()) + span
        return format_datetime(moved.astimezone(UTC), usegmt=True).encode()

    def shift(body: bytes) -> bytes:
        return _RFC1123.sub(rfc1123, _ISO.sub(iso, body))

    return shift
