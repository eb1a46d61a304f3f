"""How an approvers list is written: `group:<Entra group object id>` and `role:<app role value>`.

One grammar for RESPONDER_APPROVERS (pipeline/settings.py) and a policy rule's `approvers:`
(rules/policy.py); approvals/approvers.py turns the entries into the check on a signed-in person."""

from __future__ import annotations

import re
from collections.abc import Iterable

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")  # an app role's value: no spaces, no colon
EXPECTED = "expected group:<Entra group object id> or role:<app role value>"


def approver_entries(entries: Iterable[str], where: str) -> tuple[str, ...]:
    """The entries in one spelling (a group's object id in lower case), in order, once each;
    ValueError naming `where` and the entry that is neither a group nor a role."""
    found: list[str] = []
    for entry in entries:
        kind, sep, value = str(entry).strip().partition(":")
        kind, value = kind.strip(), value.strip()
        if sep and kind == "group" and _GUID.match(value.lower()):
            spelled = f"group:{value.lower()}"
        elif sep and kind == "role" and _ROLE.match(value):
            spelled = f"role:{value}"
        else:
            raise ValueError(f"{where}: {entry!r}: {EXPECTED}")
        if spelled not in found:
            found.append(spelled)
    return tuple(found)
