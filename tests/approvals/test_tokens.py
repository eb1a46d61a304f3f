"""Approval tokens as a table: each link a person (or an attacker) might hold, and what it gets."""

from __future__ import annotations

import base64
from datetime import UTC

import pytest

from approvals import (
    AlreadyDecidedError,
    ApprovalConfigError,
    Approvals,
    ExpiredTokenError,
    ForgedTokenError,
    MalformedTokenError,
)
from approvals.tokens import ListToken, Signer
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


# -- the signer alone: each refusal in the words a person reads, and the expiry's edge ------------

def _signer_cases():
    from datetime import datetime, timedelta

    signer = Signer(SECRET)
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    good = signer.sign("APR-0123456789abcdef", "approve", at + timedelta(hours=1))
    payload, mac = good.split(".")

    def signed(text: bytes) -> str:  # a payload this secret signs, whatever it says
        return f"{_b64(text)}.{_b64(signer._mac(text))}"

    return signer, at, [
        # (id, token, now, refusal, its words)
        ("valid-until-the-second-before", good, at + timedelta(hours=1) - timedelta(seconds=1), None, ""),
        ("expired-at-the-second", good, at + timedelta(hours=1), ExpiredTokenError,
         "the link expired at 2026-11-20T10:00:00+00:00; nothing was done"),
        ("none", None, at, MalformedTokenError, "the link carries no approval token"),
        ("empty", "", at, MalformedTokenError, "the link carries no approval token"),
        ("no-dot", payload + mac, at, MalformedTokenError, "the link's approval token is not one this app makes (wrong shape)"),
        ("too-long", payload + "A" * 600 + "." + mac, at, MalformedTokenError, "the link's approval token is not one this app makes (wrong shape)"),
        ("not-base64url", "AAAAA." + mac, at, MalformedTokenError, "the link's approval token is not one this app makes (not base64url)"),
        ("signature-cut", f"{payload}.{mac[:20]}", at, MalformedTokenError, "the link's approval token is cut short (its signature is incomplete)"),
        ("another-secret", Signer("another-deployment-secret-0123456789abcdef").sign("APR-0123456789abcdef", "approve", at + timedelta(hours=1)),
         at, ForgedTokenError, "the link's signature does not match: it was changed, or it was made by another deployment (another RESPONDER_APPROVAL_SECRET)"),
        ("signed-but-not-ascii", signed("1:APR-0123456789abcdef:approve:\u00e9".encode()), at, MalformedTokenError, "the link's approval token has an unreadable payload"),
        ("signed-wrong-version", signed(b"9:APR-0123456789abcdef:approve:1795000000"), at, MalformedTokenError, "the link's approval token has an unreadable payload"),
        ("signed-wrong-choice", signed(b"1:APR-0123456789abcdef:maybe:1795000000"), at, MalformedTokenError, "the link's approval token has an unreadable payload"),
        ("signed-bad-id", signed(b"1:../etc/passwd:approve:1795000000"), at, MalformedTokenError, "the link's approval token has an unreadable payload"),
    ]


SIGNER, SIGNED_AT, SIGNER_CASES = _signer_cases()


@pytest.mark.parametrize("token,now,refusal,words", [c[1:] for c in SIGNER_CASES], ids=[c[0] for c in SIGNER_CASES])
def test_the_signer_reads_or_refuses_in_words(token, now, refusal, words):
    if refusal is None:
        read = SIGNER.read(token, now)
        assert (read.approval_id, read.choice) == ("APR-0123456789abcdef", "approve")
        return
    with pytest.raises(refusal) as raised:
        SIGNER.read(token, now)
    assert str(raised.value) == words


def test_an_expired_token_is_read_only_when_asked_to_explain_it():
    from datetime import timedelta

    token = SIGNER.sign("APR-0123456789abcdef", "reject", SIGNED_AT)
    with pytest.raises(ExpiredTokenError):
        SIGNER.read(token, SIGNED_AT + timedelta(days=1))
    assert SIGNER.read(token, SIGNED_AT + timedelta(days=1), allow_expired=True).choice == "reject"


@pytest.mark.parametrize("secret,words", [
    ("", "RESPONDER_APPROVAL_SECRET must be at least 32 bytes (it is not set); approval links cannot be signed without it"),
    (None, "RESPONDER_APPROVAL_SECRET must be at least 32 bytes (it is not set); approval links cannot be signed without it"),
    ("x" * 31, "RESPONDER_APPROVAL_SECRET must be at least 32 bytes (it has 31); approval links cannot be signed without it"),
    (b"x" * 31, "RESPONDER_APPROVAL_SECRET must be at least 32 bytes (it has 31); approval links cannot be signed without it"),
])
def test_a_short_secret_is_refused_saying_how_short(secret, words):
    with pytest.raises(ApprovalConfigError) as raised:
        Signer(secret)
    assert str(raised.value) == words


def test_the_same_secret_as_text_or_bytes_signs_the_same():
    from datetime import timedelta

    assert Signer(SECRET).sign("APR-0123456789abcdef", "approve", SIGNED_AT + timedelta(hours=1)) == \
        Signer(SECRET.encode()).sign("APR-0123456789abcdef", "approve", SIGNED_AT + timedelta(hours=1))


def test_a_secret_of_exactly_the_minimum_is_enough():
    assert Signer("s" * 32).sign("APR-0123456789abcdef", "approve", SIGNED_AT)


def test_a_token_of_exactly_the_longest_length_is_read_past_its_shape():
    token = "A" * 255 + "." + "A" * 256  # 512 characters: the shape is allowed, the signature is not 32 bytes
    with pytest.raises(MalformedTokenError) as raised:
        SIGNER.read(token, SIGNED_AT)
    assert "cut short" in str(raised.value)


def test_a_link_is_the_hmac_of_its_payload_under_a_key_derived_from_the_secret():
    """The format, computed independently: links made before an upgrade still read after it."""
    import hashlib
    import hmac

    from approvals.tokens import _KEY_LABEL

    payload = b"1:APR-0123456789abcdef:approve:1795000000"
    key = hmac.new(SECRET.encode(), _KEY_LABEL, hashlib.sha256).digest()
    expected = f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest())}"
    from datetime import datetime

    assert Signer(SECRET).sign("APR-0123456789abcdef", "approve", datetime.fromtimestamp(1795000000, UTC)) == expected


def test_signing_an_unknown_choice_is_refused_naming_it():
    with pytest.raises(ValueError) as raised:
        SIGNER.sign("APR-0123456789abcdef", "maybe", SIGNED_AT)
    assert str(raised.value) == "choice 'maybe': expected approve or reject"


# -- the list page's link: the scope it names, and each refusal -----------------------------------

def _list_cases():
    from datetime import datetime, timedelta

    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    scope = "vm:00000000-0000-0000-0000-00000000d3e0:westeurope"
    good = SIGNER.sign_list(scope, at + timedelta(hours=1))

    def signed(text: bytes) -> str:
        return f"{_b64(text)}.{_b64(SIGNER._mac(text))}"

    unreadable = "the link's token has an unreadable payload"
    return scope, at, [
        ("valid-until-the-second-before", good, at + timedelta(hours=1) - timedelta(seconds=1), None, ""),
        ("expired-at-the-second", good, at + timedelta(hours=1), ExpiredTokenError,
         "the link expired at 2026-11-20T10:00:00+00:00; ask for a fresh digest"),
        ("none", None, at, MalformedTokenError, "the link carries no token"),
        ("empty", "", at, MalformedTokenError, "the link carries no token"),
        ("another-secret", Signer("another-deployment-secret-0123456789abcdef").sign_list(scope, at + timedelta(hours=1)),
         at, ForgedTokenError, "the link's signature does not match: it was changed, or it was made by another deployment"
                               " (another RESPONDER_APPROVAL_SECRET)"),
        ("an-approval-link", SIGNER.sign("APR-0123456789abcdef", "approve", at + timedelta(hours=1)), at,
         MalformedTokenError, unreadable),
        ("signed-wrong-version", signed(b"L9:1795000000:vm:x:"), at, MalformedTokenError, unreadable),
        ("signed-no-scope", signed(b"L1:1795000000:"), at, MalformedTokenError, unreadable),
        ("signed-expiry-not-a-number", signed(b"L1:soon:vm:x:"), at, MalformedTokenError, unreadable),
        ("signed-too-few-parts", signed(b"L1:1795000000"), at, MalformedTokenError, unreadable),
        ("signed-not-utf8", signed(b"L1:1795000000:\xff"), at, MalformedTokenError, unreadable),
    ]


LIST_SCOPE, LISTED_AT, LIST_CASES = _list_cases()


@pytest.mark.parametrize("token,now,refusal,words", [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES])
def test_a_list_link_names_its_scope_or_is_refused_in_words(token, now, refusal, words):
    from datetime import timedelta

    if refusal is None:
        assert SIGNER.read_list(token, now) == ListToken(LIST_SCOPE, LISTED_AT + timedelta(hours=1))
        return
    with pytest.raises(refusal) as raised:
        SIGNER.read_list(token, now)
    assert str(raised.value) == words


def test_a_list_link_is_the_hmac_of_its_payload_and_keeps_colons_in_its_scope():
    import hashlib
    import hmac
    from datetime import datetime

    from approvals.tokens import _KEY_LABEL

    payload = b"L1:1795000000:ss:/subscriptions/s/resourcegroups/g/providers/microsoft.compute/virtualmachinescalesets/web"
    key = hmac.new(SECRET.encode(), _KEY_LABEL, hashlib.sha256).digest()
    token = SIGNER.sign_list(payload.decode().split(":", 2)[2], datetime.fromtimestamp(1795000000, UTC))
    assert token == f"{_b64(payload)}.{_b64(hmac.new(key, payload, hashlib.sha256).digest())}"
    assert SIGNER.read_list(token, datetime.fromtimestamp(1795000000 - 1, UTC)).scope == payload.decode().split(":", 2)[2]


@pytest.mark.parametrize(
    "token, is_list",
    [
        (SIGNER.sign_list("vm:s:", SIGNED_AT), True),
        (SIGNER.sign("APR-0123456789abcdef", "approve", SIGNED_AT), False),
        (None, False),
        ("", False),
        ("no-dot-here", False),
        (_b64(b"L1:1795000000:vm:s:") + "." + "A" * 600, False),  # too long to be ours
        (_b64(b"L1:1795000000:vm:s:") + "." + "A" * 43, True),  # what the payload says, before any check
        (_b64(b"L1:1795000000:vm:s:") + "." + "A" * (511 - len(_b64(b"L1:1795000000:vm:s:"))), True),  # 512: the longest
        ("AAAAA.AAAA", False),  # not base64url
    ],
    ids=["list", "approval", "none", "empty", "no-dot", "too-long", "unsigned-list", "longest", "not-base64url"],
)
def test_a_list_link_is_known_by_its_payload(token, is_list):
    assert Signer.is_list(token) is is_list
