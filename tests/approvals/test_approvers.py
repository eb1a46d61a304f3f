"""Who may decide, and who the platform says signed in: the approvers a setting or a rule names,
the principal App Service passes (X-MS-CLIENT-PRINCIPAL and its -NAME and -ID companions), and
a rule's own approvers taking the place of the app's for its approvals, through the route."""

from __future__ import annotations

import base64
import json
import re

import pytest

from approvals import LINK, PAGE, ApprovalConfigError, Approver, Approvers, Gate, NotAnApproverError, SignInRefusedError
from approvals.approvers import carries_sign_in, signed_in
from tests.approvals.sign_in import ANA_ID, APPROVERS_GROUP, OTHER_GROUP, ana, principal_headers

ROLE = "Responder.Approve"


def _b64(document) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize("headers,name,object_id,groups,roles", [
    (ana(), "ana@contoso.com", ANA_ID, {OTHER_GROUP, APPROVERS_GROUP}, set()),
    (principal_headers("Ben", "b0000000-0000-4000-8000-000000000000", roles=(ROLE,)), "Ben", "b0000000-0000-4000-8000-000000000000", set(), {ROLE}),
    # Only the principal: the name and object id come from its claims; short claim names, "roles".
    ({"X-MS-CLIENT-PRINCIPAL": _b64({"claims": [{"typ": "oid", "val": "c1"}, {"typ": "preferred_username", "val": "cy@contoso.com"},
                                                {"typ": "roles", "val": ROLE}, {"typ": "groups", "val": APPROVERS_GROUP.upper()}]})},
     "cy@contoso.com", "c1", {APPROVERS_GROUP}, {ROLE}),
    # The long group claim name of App Service's default mapping.
    ({"X-MS-CLIENT-PRINCIPAL": _b64({"claims": [{"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "val": OTHER_GROUP}]}),
      "X-MS-CLIENT-PRINCIPAL-ID": "d1", "X-MS-CLIENT-PRINCIPAL-NAME": "Di"}, "Di", "d1", {OTHER_GROUP}, set()),
    # The name and id headers without a principal: a person, in no group the app can see.
    ({"X-MS-CLIENT-PRINCIPAL-ID": "e1", "X-MS-CLIENT-PRINCIPAL-NAME": "Ed"}, "Ed", "e1", set(), set()),
], ids=["groups", "role-by-role_typ", "claims-only", "long-group-claim", "no-principal"])
def test_the_principal_app_service_passes_is_read(headers, name, object_id, groups, roles):
    found = signed_in({k.lower(): v for k, v in headers.items()}, LINK)
    assert (found.name, found.object_id, set(found.groups), set(found.roles), found.via) == (name, object_id, groups, roles, LINK)
    assert carries_sign_in({k.lower(): v for k, v in headers.items()})


@pytest.mark.parametrize("principal,words", [
    ("%%%not-base64%%%", "not base64 JSON"),
    (_b64(["a", "list"]), "no list of claims"),
    (_b64({"claims": "groups"}), "no list of claims"),
    (_b64({"claims": [{"typ": "name", "val": "nobody"}]}), "names nobody (no object id)"),
    ("A" * 70_000, "larger than App Service sends"),
], ids=["garbage", "not-an-object", "claims-not-a-list", "no-object-id", "huge"])
def test_an_unreadable_principal_is_refused(principal, words):
    with pytest.raises(SignInRefusedError, match=words.replace("(", r"\(").replace(")", r"\)")):
        signed_in({"x-ms-client-principal": principal})


def test_nobody_signed_in_is_none():
    assert signed_in({}) is None and not carries_sign_in({"x-ms-client-principal": "  "})


@pytest.mark.parametrize("entries,groups,roles", [
    ([f"group:{APPROVERS_GROUP.upper()}", f"role:{ROLE}"], {APPROVERS_GROUP}, {ROLE}),
    ([f" group:{APPROVERS_GROUP} "], {APPROVERS_GROUP}, set()),
    ([], set(), set()),
])
def test_approvers_are_groups_by_object_id_and_app_roles(entries, groups, roles):
    parsed = Approvers.parse(entries, "RESPONDER_APPROVERS")
    assert (set(parsed.groups), set(parsed.roles), bool(parsed)) == (groups, roles, bool(groups or roles))


@pytest.mark.parametrize("entry", ["ops", "group:ops", "user:ana@contoso.com", "role:", "role:has space"])
def test_an_approver_entry_that_names_no_group_or_role_is_refused_naming_it(entry):
    with pytest.raises(ApprovalConfigError, match=f"RESPONDER_APPROVERS: '{entry}'"):
        Approvers.parse([entry], "RESPONDER_APPROVERS")


APP = Approvers.parse([f"group:{APPROVERS_GROUP}"], "test")
RULE = Approvers.parse([f"role:{ROLE}"], "test")
ANA = Approver("ana", ANA_ID, LINK, frozenset({APPROVERS_GROUP}))
ROLE_HOLDER = Approver("ben", "b1", PAGE, roles=frozenset({ROLE}))


@pytest.mark.parametrize("gate,approver,rule,admitted", [
    (Gate(True, APP), ANA, None, True),
    (Gate(True, APP), ROLE_HOLDER, None, False),
    (Gate(True, APP), ROLE_HOLDER, RULE, True),  # the rule's own approvers replace the app's
    (Gate(True, APP), ANA, RULE, False),
    (Gate(True, APP), Approver("cli", None, "command line"), None, True),  # the ledger's access is the command line's gate
    (Gate(False), Approver("someone with the link"), None, True),  # sign-in off (this machine): the link decides
])
def test_who_may_decide(gate, approver, rule, admitted):
    if admitted:
        gate.check(approver, rule)
    else:
        with pytest.raises(NotAnApproverError) as refused:
            gate.check(approver, rule)
        assert refused.value.approvers == (rule or APP) and "may not decide" in str(refused.value)


def test_a_rule_names_its_own_approvers_in_the_policy():
    from rules import PolicyError, parse_policy

    rule = {"name": "r", "when": {"kind": "annotation"}, "do": "redeploy", "mode": "approve", "approvers": [f"role:{ROLE}"]}
    assert parse_policy({"version": 1, "rules": [rule]}).rules[0].approvers == (f"role:{ROLE}",)
    with pytest.raises(PolicyError, match="approvers"):
        parse_policy({"version": 1, "rules": [{**rule, "approvers": ["ops-team"]}]}, "ops.yaml")
    # The schema's shape holds, but a group is named by its object id: refused when the policy loads.
    with pytest.raises(PolicyError, match=re.escape("ops.yaml: rules/0 (r): approvers: 'group:ops': expected group:<Entra group object id>")):
        parse_policy({"version": 1, "rules": [{**rule, "approvers": ["group:ops"]}]}, "ops.yaml")
    assert parse_policy({"version": 1, "rules": [{**rule, "approvers": [f"group:{APPROVERS_GROUP.upper()}"] * 2}]}).rules[0].approvers == (
        f"group:{APPROVERS_GROUP}",)  # one spelling, once
