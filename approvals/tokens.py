"""Approval tokens: what an Approve or Reject link carries.

    token   = base64url(payload) "." base64url(HMAC-SHA256(key, payload))
    payload = "1:" approval id ":" choice ":" expiry (Unix seconds)
    key     = HMAC-SHA256(RESPONDER_APPROVAL_SECRET, "resource-health-responder approval links v1")

The token names the approval, the choice and the expiry, and nothing else: the ledger holds
what will be done. It is deterministic, so the links can be shown again from the record and
the ledger never needs the token itself. Single use is the ledger's job (a conditional update
from pending); the token only proves who made the link and until when it may be used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import ApprovalConfigError, ExpiredTokenError, ForgedTokenError, MalformedTokenError

CHOICES = ("approve", "reject")
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 512  # a real token is about 110; anything much longer is not ours
VERSION = "1"
_KEY_LABEL = b"resource-health-responder approval links v1"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_ID = re.compile(r"^APR-[0-9a-f]{16}$")


LIST_VERSION = "L1"  # a list page's payload: never read as an approval's (those start "1:")


@dataclass(frozen=True, slots=True)
class ListToken:
    scope: str  # the storm breaker's scope (notify/digest.py scope_of), e.g. "vm:<subscription>:<region>"
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Token:
    approval_id: str
    choice: str  # approve | reject
    expires_at: datetime  # UTC, whole seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Makes and reads tokens with one secret. Refuses to exist without a strong enough one."""

    def __init__(self, secret: str | bytes):
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret or b"")
        if len(raw) < MIN_SECRET_BYTES:
            raise ApprovalConfigError(
                f"RESPONDER_APPROVAL_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                f" ({'it is not set' if not raw else f'it has {len(raw)}'}); approval links cannot be signed without it"
            )
        # A key of its own, so the same secret used elsewhere never signs something that reads as a link.
        self._key = hmac.new(raw, _KEY_LABEL, hashlib.sha256).digest()

    def sign(self, approval_id: str, choice: str, expires_at: datetime) -> str:
        if choice not in CHOICES:
            raise ValueError(f"choice {choice!r}: expected approve or reject")
        payload = f"{VERSION}:{approval_id}:{choice}:{int(expires_at.timestamp())}".encode("ascii")
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str | None, now: datetime, allow_expired: bool = False) -> Token:
        """The token's content, once its shape, signature and expiry are good; else a refusal.
        `allow_expired` reads a genuine but expired token (to explain it, never to decide)."""
        if not token:
            raise MalformedTokenError("the link carries no approval token")
        payload = self._signed_payload(token)
        parsed = self._parse(payload)
        if now >= parsed.expires_at and not allow_expired:
            raise ExpiredTokenError(f"the link expired at {parsed.expires_at.isoformat()}; nothing was done")
        return parsed

    def _signed_payload(self, token: str) -> bytes:
        """The payload of a token whose shape and signature are good (an approval's or a list's);
        nothing in an unsigned payload is read, not even its expiry."""
        if len(token) > MAX_TOKEN_CHARS or not _SHAPE.match(token):
            raise MalformedTokenError("the link's approval token is not one this app makes (wrong shape)")
        payload_text, mac_text = token.split(".")
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise MalformedTokenError("the link's approval token is not one this app makes (not base64url)") from None
        if len(mac) != hashlib.sha256().digest_size:
            raise MalformedTokenError("the link's approval token is cut short (its signature is incomplete)")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise ForgedTokenError(
                "the link's signature does not match: it was changed, or it was made by another deployment"
                " (another RESPONDER_APPROVAL_SECRET)"
            )
        return payload

    # -- the page of approvals pending in one scope (a digest's one link) -----------------------

    def sign_list(self, scope: str, expires_at: datetime) -> str:
        """A link to the list of approvals pending in `scope`. It decides nothing: each approval
        on the page has its own signed Approve and Reject links and confirm step."""
        payload = f"{LIST_VERSION}:{int(expires_at.timestamp())}:{scope}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read_list(self, token: str | None, now: datetime) -> ListToken:
        """The scope a list link names, once its shape, signature and expiry are good."""
        if not token:
            raise MalformedTokenError("the link carries no token")
        payload = self._signed_payload(token)
        try:
            version, expiry, scope = payload.decode("utf-8").split(":", 2)
            expires_at = datetime.fromtimestamp(int(expiry), UTC)
        except (UnicodeDecodeError, ValueError, OverflowError, OSError):
            raise MalformedTokenError("the link's token has an unreadable payload") from None
        if version != LIST_VERSION or not scope:
            raise MalformedTokenError("the link's token has an unreadable payload")
        if now >= expires_at:
            raise ExpiredTokenError(f"the link expired at {expires_at.isoformat()}; ask for a fresh digest")
        return ListToken(scope, expires_at)

    @staticmethod
    def is_list(token: str | None) -> bool:
        """Whether a well-shaped token names a list page (its payload says so before any check)."""
        if not token or len(token) > MAX_TOKEN_CHARS or not _SHAPE.match(token):
            return False
        try:
            return _unb64(token.split(".")[0]).startswith(f"{LIST_VERSION}:".encode())
        except (binascii.Error, ValueError):
            return False

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    @staticmethod
    def _parse(payload: bytes) -> Token:
        try:
            version, approval_id, choice, expiry = payload.decode("ascii").split(":")
            expires_at = datetime.fromtimestamp(int(expiry), UTC)
        except (UnicodeDecodeError, ValueError, OverflowError, OSError):
            raise MalformedTokenError("the link's approval token has an unreadable payload") from None
        if version != VERSION or choice not in CHOICES or not _ID.match(approval_id):
            raise MalformedTokenError("the link's approval token has an unreadable payload")
        return Token(approval_id, choice, expires_at)
