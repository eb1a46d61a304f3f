"""Approval tokens as a table: each link a person (or an attacker) might hold, and what it gets."""

from __future__ import annotations

import base64

import pytest

from approvals import (
    AlreadyDecidedError, Approvals, ApprovalConfigError, ExpiredTokenError, ForgedTokenError, MalformedTokenError,
)
from approvals.tokens import Signer
from tests.approvals.conftest import PUBLIC_URL, SECRET, request, token_of


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(token: str) -> bytes:
    text = token.split(".")[0]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tampered_payload(pending, clock):
    # The approve link's payload says reject (or a later expiry); the signature stays the old one.
    token = token_of(pending.approve_url)
    forged = _payload(token).replace(b":approve:", b":reject:")
    return f"{_b64(forged)}.{token.split('.')[1]}"


def later_expiry(pending, clock):
    token = token_of(pending.approve_url)
    version, approval_id, choice, expiry = _payload(token).decode().split(":")
    return f"{_b64(f'{version}:{approval_id}:{choice}:{int(expiry) + 86400}'.encode())}.{token.split('.')[1]}"


def tampered_signature(pending, clock):
    token = token_of(pending.approve_url)
    payload, mac = token.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)))
    flipped[0] ^= 1
    return f"{payload}.{_b64(bytes(flipped))}"


def wrong_secret(pending, clock):
    other = Signer("another-deployment-secret-0123456789")
    return other.sign(pending.id, "approve", pending.expires_at)


def expired(pending, clock):
    clock.advance(hours=4)  # the default ttl: the link dies exactly at its expiry
    return token_of(pending.approve_url)


def cut_short(pending, clock):
    return token_of(pending.approve_url)[:-6]


@pytest.mark.parametrize(
    "make_token,state,refusal,status",
    [
        (lambda p, c: token_of(p.approve_url), "approved", None, 200),
        (lambda p, c: token_of(p.reject_url), "rejected", None, 200),
        (tampered_payload, "pending", ForgedTokenError, 403),
        (later_expiry, "pending", ForgedTokenError, 403),
        (tampered_signature, "pending", ForgedTokenError, 403),
        (wrong_secret, "pending", ForgedTokenError, 403),
        (expired, "pending", ExpiredTokenError, 410),
        (cut_short, "pending", MalformedTokenError, 400),
        (lambda p, c: "not-a-token", "pending", MalformedTokenError, 400),
        (lambda p, c: "%%%.$$$", "pending", MalformedTokenError, 400),
        (lambda p, c: "a" * 600 + ".b", "pending", MalformedTokenError, 400),
        (lambda p, c: "", "pending", MalformedTokenError, 400),
        (lambda p, c: None, "pending", MalformedTokenError, 400),
    ],
    ids=["approve", "reject", "tampered-payload", "tampered-expiry", "tampered-signature", "wrong-secret",
         "expired", "cut-short", "garbage", "not-base64url", "too-long", "empty", "missing"],
)
def test_token(service, ledger, clock, make_token, state, refusal, status):
    pending = request(service)
    token = make_token(pending, clock)
    if refusal is None:
        decided = service.decide(token, by="ana@contoso.com")
        assert decided.choice in ("approve", "reject") and decided.record.decided_by == "ana@contoso.com"
    else:
        with pytest.raises(refusal) as caught:
            service.decide(token, by="mallory")
        assert caught.value.status == status
        assert SECRET not in str(caught.value) and (not token or token not in str(caught.value))
    assert ledger.approval(pending.id)["state"] == state


@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_token_is_used_once(service, second):
    pending = request(service)
    service.decide(token_of(pending.approve_url), by="ana")
    with pytest.raises(AlreadyDecidedError) as caught:
        service.decide(token_of(getattr(pending, f"{second}_url")), by="ben")
    assert caught.value.status == 410 and "already approved by ana" in str(caught.value)


def test_links_are_url_safe_and_point_at_the_route(service):
    pending = request(service)
    for url in (pending.approve_url, pending.reject_url):
        assert url.startswith(f"{PUBLIC_URL}/api/approvals/")
        assert set(token_of(url)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert pending.approve_url != pending.reject_url


@pytest.mark.parametrize("secret", [None, "", "short", "x" * 31, "é" * 15])
def test_no_links_without_a_strong_secret(ledger, clock, secret):
    with pytest.raises(ApprovalConfigError, match="at least 32 bytes"):
        Approvals(ledger, secret, PUBLIC_URL, clock)


@pytest.mark.parametrize(
    "url,refused",
    [
        ("https://responder.example/", False),
        ("http://localhost:7071", False),
        ("http://responder.example", True),  # a credential over plain http
        ("ftp://responder.example", True),
        ("responder.example", True),
        ("https://responder.example/?x=1", True),
    ],
)
def test_public_url(ledger, clock, url, refused):
    if refused:
        with pytest.raises(ApprovalConfigError, match="RESPONDER_PUBLIC_URL"):
            Approvals(ledger, SECRET, url, clock)
    else:
        assert Approvals(ledger, SECRET, url, clock).public_url == url.rstrip("/")
