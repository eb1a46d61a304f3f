"""The Teams channel: POST a card to a Workflows webhook ("When a Teams webhook request is received").

Any URL is accepted (Workflows URLs live on many hosts; no host-name check). Webhooks are named
in RESPONDER_TEAMS_WEBHOOKS and chosen by policy routes. Teams' answers, read into errors:

    202/200, empty body (or "1")          accepted
    200/202 carrying an error text        throttled (text mentions 429) or unavailable: retry
    429                                   throttled, honour Retry-After
    408, 5xx, connection refused          unavailable: retry
    timeout / connection lost mid-request uncertain: a webhook cannot be asked afterwards, so
                                          the outbox resends (a duplicate card is the lesser harm)
    3xx, other 4xx                        rejected: bad card, flow turned off, URL moved or gone
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import NotifyConfigError, RejectedError, ThrottledError, UnavailableError, UncertainDeliveryError
from .retry import parse_retry_after
from .tls import verify_arg

if TYPE_CHECKING:  # types only: httpx is imported when the first card is posted
    import httpx

DEFAULT_THROTTLE_WAIT = 5.0  # seconds, when Teams throttles inside a 200 without Retry-After

# httpx logs every request's full URL at INFO, and a Workflows webhook's `sig` query parameter is
# its credential: keep those lines out of the Functions logs and Application Insights.
logging.getLogger("httpx").setLevel(logging.WARNING)


def encode(payload: dict) -> bytes:
    """The bytes posted to the webhook (and written by the --outbox writer, unchanged)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def looks_like_error(text: str) -> bool:
    body = text.strip()
    if not body or body == "1":  # Workflows answers 202 with no body; old connectors "1"
        return False
    lowered = body.lower()
    return "error" in lowered or "fail" in lowered or "throttl" in lowered or "429" in lowered


class TeamsWebhookChannel:
    channel = "teams"

    def __init__(self, webhooks: Mapping[str, str], *, verify: Any = True, timeout: float = 15.0,
                 resend_when_unsure: bool = True) -> None:
        # A webhook post cannot be read back: after a lost answer, post again (a rare duplicate
        # card) or keep the message failed for a person (never a duplicate, maybe a missing card).
        self.resend_when_unsure = resend_when_unsure
        self.webhooks = dict(webhooks)
        self.verify = verify
        self.timeout = timeout
        self._client: httpx.Client | None = None  # built on first use
        self._lock = threading.Lock()

    def _http(self):
        with self._lock:
            if self._client is None:
                import httpx  # lazy: keeps `import notify` cheap

                self._client = httpx.Client(verify=verify_arg(self.verify), timeout=self.timeout, follow_redirects=False)
            return self._client

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        """Post one card; returns a short receipt, raises a ChannelError subclass otherwise."""
        import httpx

        url = self.webhooks.get(target)
        if not url:
            raise NotifyConfigError(f"no Teams webhook named {target!r} in RESPONDER_TEAMS_WEBHOOKS")
        body = encode(payload)
        try:
            response = self._http().post(url, content=body, headers={"Content-Type": "application/json"})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UnavailableError(f"Teams webhook {target!r} unreachable: {exc}") from exc
        except httpx.HTTPError as exc:  # the request may have arrived
            raise UncertainDeliveryError(f"Teams webhook {target!r}: no answer ({type(exc).__name__}: {exc})") from exc
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        text = response.text[:500]
        if status == 429:
            raise ThrottledError(f"Teams webhook {target!r} throttled (429)", status=status, retry_after=retry_after)
        if status == 408 or status >= 500:
            raise UnavailableError(f"Teams webhook {target!r} answered {status}: {text}", status=status, retry_after=retry_after)
        if status >= 300:  # a redirect is a moved or mistyped URL: the card was not posted
            raise RejectedError(f"Teams webhook {target!r} refused the card ({status}): {text}", status=status)
        if looks_like_error(text):
            if "429" in text or "throttl" in text.lower():
                raise ThrottledError(
                    f"Teams webhook {target!r} answered {status} with a throttling error: {text}",
                    status=status,
                    retry_after=retry_after if retry_after is not None else DEFAULT_THROTTLE_WAIT,
                )
            raise UnavailableError(f"Teams webhook {target!r} answered {status} with an error: {text}", status=status, retry_after=retry_after)
        return f"{status}"

    def confirm(self, target: str, payload: dict) -> bool | None:
        return None  # a webhook keeps no record we could read

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
