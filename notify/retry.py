"""When to try again: Retry-After, backoff between attempts, and per-channel rate limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RateLimit:
    limit: int
    period: float  # seconds


# Teams webhooks: about 4 requests a second; an Exchange Online mailbox: 30 messages a minute.
RATE_LIMITS = {"teams": RateLimit(4, 1.0), "email": RateLimit(30, 60.0)}


@dataclass(frozen=True)
class Backoff:
    base: float = 30.0  # seconds before the second attempt
    factor: float = 2.0
    cap: float = 3600.0
    max_attempts: int = 8
    uncertain_wait: float = 60.0  # before asking whether an uncertain send went out

    def delay(self, attempts: int, retry_after: float | None, message_id: int, *, uncertain: bool = False) -> float:
        if retry_after is not None:  # the channel said when: honour it (capped)
            wait = min(retry_after, self.cap)
        else:
            wait = min(self.cap, self.base * self.factor ** max(0, attempts - 1))
            # Spread retries of many messages (deterministic per message, for reproducible tests).
            spread = int(hashlib.sha256(str(message_id).encode()).hexdigest()[:4], 16) / 0xFFFF
            wait *= 0.8 + 0.4 * spread
        return max(wait, self.uncertain_wait) if uncertain else wait
