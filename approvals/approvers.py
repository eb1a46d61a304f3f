"""Who decided an approval, and who may.

A person decides by following a link (`link`), from the list of what waits in a storm scope
(`page`), or from a shell (`command line`). On the approval pages App Service sign-in (Entra ID)
names them: the platform puts the signed-in principal in X-MS-CLIENT-PRINCIPAL (base64 JSON of
the token's claims, groups and app roles among them), X-MS-CLIENT-PRINCIPAL-NAME and
X-MS-CLIENT-PRINCIPAL-ID, and removes those headers from what a caller sends. Those headers
are read only when the deployment says sign-in is on (RESPONDER_APPROVER_SIGN_IN); anywhere
else a caller could have written them, so a request carrying them is refused.

Who may decide: RESPONDER_APPROVERS (or a rule's `approvers:`) names Entra groups by object id
and app roles by value, e.g. `group:6f1c…,role:Responder.Approve`; a member of any may decide.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rules.approvers import approver_entries

from .errors import ApprovalConfigError, NotAnApproverError, SignInRefusedError

LINK, PAGE, COMMAND_LINE = "link", "page", "command line"
VIAS = (LINK, PAGE, COMMAND_LINE)
_VIA_WORDS = {LINK: "from the approval link", PAGE: "from the list of pending approvals", COMMAND_LINE: "on the command line"}

PRINCIPAL = "x-ms-client-principal"
PRINCIPAL_NAME = "x-ms-client-principal-name"
PRINCIPAL_ID = "x-ms-client-principal-id"
PRINCIPAL_IDP = "x-ms-client-principal-idp"
SIGN_IN_HEADERS = (PRINCIPAL, PRINCIPAL_NAME, PRINCIPAL_ID, PRINCIPAL_IDP)
MAX_PRINCIPAL_CHARS = 64_000  # a principal with hundreds of groups is some kilobytes; more is not App Service's

# Claim types as App Service maps them (a token's short names, or the long URIs of its default mapping).
GROUP_CLAIMS = ("groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups")
ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
NAME_CLAIMS = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")



@dataclass(frozen=True)
class Approver:
    """A person who decides: a name to show, their Entra object id when known, and how they decided."""

    name: str
    object_id: str | None = None
    via: str = LINK
    groups: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.via not in VIAS:
            raise ValueError(f"via {self.via!r}: expected one of {', '.join(VIAS)}")
        object.__setattr__(self, "name", printable(self.name) or "someone with the link")
        object.__setattr__(self, "object_id", printable(self.object_id or "")[:64] or None)


def printable(text: str, limit: int = 200) -> str:
    """A name for the audit trail: printable, one line, bounded."""
    return " ".join("".join(ch for ch in str(text or "") if ch.isprintable()).split())[:limit]


def says_who(name: str | None, object_id: str | None, via: str | None, at: datetime | None = None) -> str:
    """"Ana Lopez (object id 1b2c…) at 02:14 UTC from the approval link", for reasons and the audit."""
    text = name or "someone"
    if object_id:
        text += f" (object id {object_id})"
    if at is not None:
        text += f" at {at.astimezone(UTC):%H:%M} UTC"
    return text + (f" {_VIA_WORDS[via]}" if via in _VIA_WORDS else "")


# -- who may decide ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Approvers:
    """Entra groups (object ids) and app roles whose members may decide."""

    groups: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str], where: str) -> Approvers:
        try:
            spelled = approver_entries(entries, where)
        except ValueError as exc:
            raise ApprovalConfigError(str(exc)) from None
        kinds = [entry.partition(":") for entry in spelled]
        return cls(frozenset(value for kind, _, value in kinds if kind == "group"),
                   frozenset(value for kind, _, value in kinds if kind == "role"))

    def __bool__(self) -> bool:
        return bool(self.groups or self.roles)

    def admit(self, approver: Approver) -> bool:
        return bool(self.groups & {g.lower() for g in approver.groups} or self.roles & approver.roles)

    def entries(self) -> list[str]:
        return [f"group:{g}" for g in sorted(self.groups)] + [f"role:{r}" for r in sorted(self.roles)]

    def words(self) -> str:
        """Who may decide, as the refusal page says it."""
        parts = [f"members of the Entra group {g}" for g in sorted(self.groups)]
        parts += [f"people given the app role {r}" for r in sorted(self.roles)]
        return " or ".join(parts) if parts else "nobody (no approvers are configured)"


# -- the signed-in principal -----------------------------------------------------------------


def carries_sign_in(headers: Mapping[str, str]) -> bool:
    """Whether a request carries any of the headers App Service sign-in sets."""
    return any((headers.get(name) or "").strip() for name in SIGN_IN_HEADERS)


def signed_in(headers: Mapping[str, str], via: str = LINK) -> Approver | None:
    """The person App Service signed in, from its headers; None when nobody is signed in. Call
    it only where the deployment has sign-in on (the platform then owns these headers)."""
    encoded = (headers.get(PRINCIPAL) or "").strip()
    name = (headers.get(PRINCIPAL_NAME) or "").strip()
    object_id = (headers.get(PRINCIPAL_ID) or "").strip()
    if not (encoded or name or object_id):
        return None
    claims = _claims(encoded)
    values = _values(claims)
    role_type = str((claims or {}).get("role_typ") or "")
    roles = {v for typ in (*ROLE_CLAIMS, role_type) if typ for v in values.get(typ, [])}
    groups = {v.lower() for typ in GROUP_CLAIMS for v in values.get(typ, [])}
    object_id = object_id or next((values[t][0] for t in OBJECT_ID_CLAIMS if values.get(t)), "")
    name = name or next((values[t][0] for t in NAME_CLAIMS if values.get(t)), "")
    if not object_id:
        raise SignInRefusedError("the sign-in names nobody (no object id): sign in again")
    return Approver(name or object_id, object_id, via, frozenset(groups), frozenset(roles))


def _claims(encoded: str) -> Mapping[str, Any] | None:
    if not encoded:
        return None
    if len(encoded) > MAX_PRINCIPAL_CHARS:
        raise SignInRefusedError("the sign-in principal is larger than App Service sends")
    try:
        found = json.loads(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SignInRefusedError("the sign-in principal is not base64 JSON as App Service sends it") from None
    if not isinstance(found, Mapping) or not isinstance(found.get("claims", []), list):
        raise SignInRefusedError("the sign-in principal has no list of claims")
    return found


def _values(claims: Mapping[str, Any] | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for claim in (claims or {}).get("claims") or []:
        if isinstance(claim, Mapping) and isinstance(claim.get("typ"), str) and isinstance(claim.get("val"), str):
            found.setdefault(claim["typ"], []).append(claim["val"])
    return found


@dataclass(frozen=True)
class Gate:
    """The approval pages' rule on people: whether sign-in is on, and who may decide."""

    sign_in: bool = False
    approvers: Approvers = field(default_factory=Approvers)
    by_rule: Mapping[str, Approvers] = field(default_factory=dict)  # a rule's own approvers, by rule name

    def check(self, approver: Approver, rule_approvers: Approvers | None = None) -> None:
        """Refuse (403) a signed-in person who is not among the approvers: the rule's own, when
        it names some, else the app's. Without sign-in there is nobody to check (a run on this
        machine, the command line): today's bearer link stands."""
        wanted = rule_approvers or self.approvers
        if self.sign_in and approver.via != COMMAND_LINE and not wanted.admit(approver):
            raise NotAnApproverError(f"{approver.name} may not decide this approval: only {wanted.words()} may", wanted)
