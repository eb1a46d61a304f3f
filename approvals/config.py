"""Where approvals get their settings: the secret and public URL (app settings, as
pipeline/settings.py reads them) and the time
a person has (the policy's `approvals` section):

    approvals:
      ttl: PT4H              # how long a link lives (default 4 hours)
      deadline_margin: PT5M  # when the signal has a deadline, links die this long before it
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from rules import PolicyError, parse_duration

from .errors import ApprovalConfigError

DEFAULT_TTL = timedelta(hours=4)
DEFAULT_DEADLINE_MARGIN = timedelta(minutes=5)
LONGEST_TTL = timedelta(days=7)  # a link that lives for weeks is a standing credential
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
LOCAL_URL = "http://localhost:7071"  # `func start`'s address, for a run on this machine


def times_from_policy(section: Mapping[str, Any] | None, where: str = "policy: approvals") -> tuple[timedelta, timedelta]:
    """(ttl, deadline margin) from the policy's `approvals` section."""
    section = section or {}
    if not isinstance(section, Mapping):
        raise ApprovalConfigError(f"{where}: expected a mapping with ttl and deadline_margin")
    unknown = sorted(set(section) - {"ttl", "deadline_margin"})
    if unknown:
        raise ApprovalConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected ttl, deadline_margin")
    try:
        ttl = parse_duration(section["ttl"], f"{where}.ttl") if "ttl" in section else DEFAULT_TTL
        margin = (parse_duration(section["deadline_margin"], f"{where}.deadline_margin")
                  if "deadline_margin" in section else DEFAULT_DEADLINE_MARGIN)
    except PolicyError as exc:
        raise ApprovalConfigError(str(exc)) from exc
    if not timedelta(minutes=1) <= ttl <= LONGEST_TTL:
        raise ApprovalConfigError(f"{where}.ttl: {section['ttl']!r} must be between one minute and seven days")
    return ttl, margin


def public_base(url: str | None, website_hostname: str = "") -> str:
    """The base of the links: RESPONDER_PUBLIC_URL, else the app's own host name in Azure
    (WEBSITE_HOSTNAME, from the settings), else the local Functions host. Plain http only for this machine."""
    url = (url or "").strip()
    if not url:
        host = (website_hostname or "").strip()
        url = f"https://{host}" if host else LOCAL_URL
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ApprovalConfigError(f"RESPONDER_PUBLIC_URL={url!r}: expected an absolute https:// URL")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ApprovalConfigError(
            f"RESPONDER_PUBLIC_URL={url!r}: approval links carry a credential; use https:// (plain http only for localhost)"
        )
    if parts.query or parts.fragment:
        raise ApprovalConfigError(f"RESPONDER_PUBLIC_URL={url!r}: expected a base URL without query or fragment")
    return url.rstrip("/")


def approval_needed(mode_override: str | None, policy) -> bool:
    """Whether any decision can wait for a person under these settings and this policy."""
    return policy.waits_for_a_person(mode_override)
