"""The headers App Service sign-in (Entra ID) puts on a request it signed in, for the approval
routes' tests: X-MS-CLIENT-PRINCIPAL (base64 JSON of the claims, groups and app roles among
them, with the long claim names of App Service's default mapping), -NAME and -ID. A test's
stand-in for the platform; the app only reads them."""

from __future__ import annotations

import base64
import json

ROLE_TYPE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OBJECT_ID_TYPE = "http://schemas.microsoft.com/identity/claims/objectidentifier"

APPROVERS_GROUP = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"
OTHER_GROUP = "11111111-2222-4333-8444-555555555555"
ANA_ID = "0f1e2d3c-4b5a-4697-8899-aabbccddeeff"
MALLORY_ID = "99999999-8888-4777-8666-555555555555"


def principal_headers(name: str, object_id: str, groups=(), roles=()) -> dict[str, str]:
    claims = [{"typ": OBJECT_ID_TYPE, "val": object_id}, {"typ": "name", "val": name},
              {"typ": "preferred_username", "val": name}]
    claims += [{"typ": "groups", "val": g} for g in groups]
    claims += [{"typ": ROLE_TYPE, "val": r} for r in roles]
    principal = {"auth_typ": "aad", "name_typ": "name", "role_typ": ROLE_TYPE, "claims": claims}
    return {
        "X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(principal).encode()).decode(),
        "X-MS-CLIENT-PRINCIPAL-NAME": name,
        "X-MS-CLIENT-PRINCIPAL-ID": object_id,
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    }


def ana() -> dict[str, str]:
    """An approver: a member of the approvers' group."""
    return principal_headers("ana@contoso.com", ANA_ID, groups=(OTHER_GROUP, APPROVERS_GROUP))


def mallory() -> dict[str, str]:
    """Signed in to the tenant, but in no approvers' group."""
    return principal_headers("mallory@contoso.com", MALLORY_ID, groups=(OTHER_GROUP,))
