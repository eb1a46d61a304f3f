"""Approval links: a stand-in in everything the outbox keeps, the signed link only in what is sent.

A signed Approve or Reject link is a credential: whoever holds it may decide. The outbox is
readable by anyone who can read the ledger (the SQLite file, the storage account), so a notice
carries only its approval's id, a rendering carries a stand-in URL naming that id and the
choice, and the notifier swaps each stand-in for the signed link just before the send. Tokens
are deterministic (approvals/tokens.py), so a retry, or a worker started after a restart,
signs the very same link from the approval's ledger row.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from .errors import ApprovalLinkError

# A valid http(s) URL, so a rendering passes the card schema; .invalid never resolves, so a
# stand-in that somehow went out unsigned leads nowhere.
_STAND_IN = "https://approval-link.invalid/{approval_id}/{choice}"
# One approval (approve|reject), or the page listing every approval pending in a storm scope
# (`scope:` and the scope, base64url, then `list`): a digest links the page, not 2,000 pairs.
_FOUND = re.compile(r"https://approval-link\.invalid/(APR-[0-9a-f]{16}|scope:[A-Za-z0-9_-]+)/(approve|reject|list)")
LIST = "list"
# Bytes a signed link may add over its stand-in (a public URL of up to ~250 characters plus a
# ~110-character token): a card is fitted with this much room per link so it still fits once signed.
ROOM_PER_LINK = 400

# (approval id, choice) -> the signed link; Approvals.link_for in the wiring.
Signer = Callable[[str, str], str]


def stand_in(approval_id: str, choice: str) -> str:
    return _STAND_IN.format(approval_id=approval_id, choice=choice)


def stand_ins(approval_id: str | None) -> tuple[str, str] | None:
    """(approve, reject) stand-ins for a notice's approval, when it has one."""
    return (stand_in(approval_id, "approve"), stand_in(approval_id, "reject")) if approval_id else None


def scope_stand_in(scope: str) -> str:
    """The stand-in for the page of approvals pending in `scope` (notify/digest.py scope_of)."""
    encoded = base64.urlsafe_b64encode(scope.encode("utf-8")).decode("ascii").rstrip("=")
    return _STAND_IN.format(approval_id=f"scope:{encoded}", choice=LIST)


def scope_of_stand_in(found: str) -> str:
    encoded = found.removeprefix("scope:")
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")


def count(text: str) -> int:
    return len(_FOUND.findall(text))


def sign(body: Any, signer: Signer | None) -> Any:
    """`body` with every stand-in replaced by its signed link (strings anywhere in the JSON)."""
    if isinstance(body, str):
        if not _FOUND.search(body):
            return body
        if signer is None:
            raise ApprovalLinkError("the message carries approval links and this app cannot sign them "
                                    "(RESPONDER_APPROVAL_SECRET is not set)")
        return _FOUND.sub(lambda m: _signed(signer, m.group(1), m.group(2)), body)
    if isinstance(body, dict):
        return {key: sign(value, signer) for key, value in body.items()}
    if isinstance(body, list):
        return [sign(value, signer) for value in body]
    return body


def _signed(signer: Signer, approval_id: str, choice: str) -> str:
    try:
        if choice == LIST:  # the signer is given the scope itself: `scope:` and its text
            return signer(f"scope:{scope_of_stand_in(approval_id)}", choice)
        return signer(approval_id, choice)
    except Exception as exc:  # the approval is gone from the ledger, or the secret cannot sign
        raise ApprovalLinkError(f"approval link for {approval_id} cannot be signed: {exc}") from exc
