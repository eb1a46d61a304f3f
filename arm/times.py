"""Azure's times, read by one reader for every floor: what ARM answers, what a payload holds and
what a message's text says.

ARM and Event Grid write ISO 8601 with `Z` or an offset and up to seven fractional digits;
Activity Log alerts and some annotation messages write RFC 1123 (`Thu, 10 Dec 2026 08:00:00
GMT`); people write `UTC`. A time without a zone is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 or RFC 1123 time as an aware datetime (UTC when no zone is given), or None
    when the value is absent or no time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    iso = re.sub(r"\s*(Z|UTC)$", "+00:00", text).replace(" ", "T", 1) if re.match(r"\d{4}-", text) else None
    if iso is not None:
        iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)  # Azure writes seven fractional digits
        try:
            found = datetime.fromisoformat(iso)
        except ValueError:
            return None
    else:
        try:
            found = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)
