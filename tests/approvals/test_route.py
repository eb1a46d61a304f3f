"""/api/approvals/{token} called as the Functions host calls it: a FunctionApp with the
Blueprint registered, real func.HttpRequest objects, the pipeline acting on the simulated Azure."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest

from intake.deliveries import parse_delivery
from tests import builders as b
from tests.approvals.conftest import SECRET, token_of, with_approvals
from tests.approvals.sign_in import ANA_ID, APPROVERS_GROUP, ana, mallory, principal_headers
from tests.conftest import DEMO_SUBSCRIPTION, accepted_writes

DEGRADED_VM = b.vm_id("vm-degraded-hw", rg="rg-demo", sub=DEMO_SUBSCRIPTION)


@pytest.fixture
def route():
    from handlers import approvals

    app = func.FunctionApp()
    app.register_functions(approvals.bp)
    (function,) = app.get_functions()
    return function


@pytest.fixture
def waiting(acting):
    """A degraded-hardware redeploy waiting for a person, with the route's pipeline installed."""
    from handlers import runtime

    pipeline = acting("approve", approval_secret=SECRET)
    service = with_approvals(pipeline)
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))
    assert outcome.status == "awaiting-approval"
    (pending,) = [service.pending_of(r) for r in service.pending()]
    runtime.use(pipeline)
    yield pipeline, pending
    runtime.use(None)


@pytest.fixture
def signed_in(waiting):
    """As deployed: App Service sign-in on for the app, the approvers' group named."""
    from approvals import Approvers, Gate, approvals_of

    pipeline, pending = waiting
    approvals_of(pipeline).gate = Gate(True, Approvers.parse([f"group:{APPROVERS_GROUP}"], "test"))
    return pipeline, pending


def call(route, method: str, url: str, body: bytes = b"", headers: dict | None = None) -> func.HttpResponse:
    parts = urlsplit(url)  # as the host gives them: the route's token, and the query's parameters
    token = parts.path.rsplit("/", 1)[-1]
    req = func.HttpRequest(method, url, headers=headers or {}, body=body, route_params={"token": token},
                           params=dict(parse_qsl(parts.query)))
    return route.get_user_function()(req)


def confirm(choice: str) -> dict:
    return {"body": f"confirm={choice}".encode(), "headers": {"content-type": "application/x-www-form-urlencoded"}}


def test_the_route_is_anonymous_get_and_post_on_approvals_token(route):
    trigger = route.get_trigger()
    assert trigger.route == "approvals/{token}"
    assert {str(m).upper().split(".")[-1] for m in trigger.methods} == {"GET", "POST"}
    assert str(trigger.auth_level).upper().endswith("ANONYMOUS")


def test_get_shows_what_will_happen_and_does_not_act(route, waiting, sim):
    pipeline, pending = waiting
    for _ in range(3):  # a mail scanner, a preview, the person
        response = call(route, "GET", pending.approve_url)
        page = response.get_body().decode()
        assert response.status_code == 200 and response.mimetype == "text/html"
        assert "redeploy" in page and DEGRADED_VM in page and "<form method=\"post\">" in page
        assert "verified: " in page and "(evidence: " in page
        assert "What the live state showed" in page and "westeurope" in page  # the facts read at decision time
        assert token_of(pending.approve_url) not in page and SECRET not in page
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert not accepted_writes(sim)
    assert pipeline.ledger.approval(pending.id)["state"] == "pending"


def signed(who: dict, choice: str) -> dict:
    form = confirm(choice)
    return {"body": form["body"], "headers": {**form["headers"], **who}}


def test_post_acts_once_and_a_second_post_is_gone(route, signed_in, sim):
    pipeline, pending = signed_in
    first = call(route, "POST", pending.approve_url, **signed(ana(), "approve"))
    assert first.status_code == 200 and "started" in first.get_body().decode()
    row = pipeline.ledger.approval(pending.id)
    assert (row["decided_by"], row["decided_by_id"], row["decided_via"]) == ("ana@contoso.com", ANA_ID, "link")
    second = call(route, "POST", pending.approve_url, **signed(ana(), "approve"))
    assert second.status_code == 410 and f"already approved by ana@contoso.com (object id {ANA_ID}) from the approval link at " in second.get_body().decode()
    rejected_after = call(route, "POST", pending.reject_url, **signed(ana(), "reject"))
    assert rejected_after.status_code == 410
    assert len(accepted_writes(sim, "/virtualMachines/vm-degraded-hw/redeploy")) == 1 == len(accepted_writes(sim))
    assert call(route, "GET", pending.approve_url, headers=ana()).status_code == 410  # the page says what happened


def test_without_a_signed_in_person_get_goes_to_sign_in_and_post_is_401(route, signed_in, sim):
    pipeline, pending = signed_in
    shown = call(route, "GET", pending.approve_url + "?from=list")
    token = token_of(pending.approve_url)
    assert shown.status_code == 302
    assert shown.headers["Location"] == f"/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fapprovals%2F{token}%3Ffrom%3Dlist"
    posted = call(route, "POST", pending.approve_url, **confirm("approve"))
    assert posted.status_code == 401 and "/.auth/login/aad" in posted.get_body().decode()
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


def test_a_signed_in_person_outside_the_approvers_is_403_and_told_who_may(route, signed_in, sim):
    pipeline, pending = signed_in
    shown = call(route, "GET", pending.approve_url, headers=mallory())
    page = shown.get_body().decode()
    assert shown.status_code == 200 and "mallory@contoso.com" in page  # looking is allowed; the page says who may decide
    assert "<form" not in page and f"only members of the Entra group {APPROVERS_GROUP} may" in page
    assert "<form" in call(route, "GET", pending.approve_url, headers=ana()).get_body().decode()
    refused = call(route, "POST", pending.approve_url, **signed(mallory(), "approve"))
    page = refused.get_body().decode()
    assert refused.status_code == 403 and "may not decide" in page and APPROVERS_GROUP in page
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("header", ["X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-CLIENT-PRINCIPAL-ID"])
def test_a_sign_in_header_where_sign_in_is_off_is_refused_and_recorded(route, waiting, sim, method, header):
    pipeline, pending = waiting  # RESPONDER_APPROVER_SIGN_IN off: nothing in front of the app strips these
    forged = {header: ana()[header]}
    response = call(route, method, pending.approve_url, **(signed(forged, "approve") if method == "POST" else {"headers": forged}))
    page = response.get_body().decode()
    assert response.status_code == 403 and "only the platform may name who signed in" in page and "not one the app can trust" in page
    (row,) = pipeline.ledger.rejections()
    assert (row["input"], row["location"]) == (f"{method} /api/approvals", "headers")
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


def test_a_decision_from_the_list_page_says_so(route, signed_in, sim):
    pipeline, pending = signed_in
    response = call(route, "POST", pending.reject_url + "?from=list", **signed(ana(), "reject"))
    assert response.status_code == 200
    row = pipeline.ledger.approval(pending.id)
    assert (row["state"], row["decided_via"]) == ("rejected", "page")
    assert pipeline.ledger.history()[-1]["reason"].endswith("from the list of pending approvals")


def test_a_bare_post_decides_nothing(route, waiting, sim):
    pipeline, pending = waiting
    response = call(route, "POST", pending.approve_url)  # no form: a scanner, a script
    assert response.status_code == 400
    wrong = call(route, "POST", pending.approve_url, **confirm("reject"))  # the other link's button
    assert wrong.status_code == 400
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


@pytest.mark.parametrize("body,headers", [
    (b"confirm=approve&" + b"x" * 2000, {"content-type": "application/x-www-form-urlencoded"}),
    (b"confirm=approve", {"content-type": "application/x-www-form-urlencoded", "content-length": "5000000"}),
], ids=["undeclared", "declared"])
def test_an_oversize_form_is_413_recorded_and_decides_nothing(route, waiting, sim, body, headers):
    pipeline, pending = waiting
    response = call(route, "POST", pending.approve_url, body=body, headers=headers)
    assert response.status_code == 413 and token_of(pending.approve_url) not in response.get_body().decode()
    (row,) = pipeline.ledger.rejections()
    assert (row["input"], row["location"]) == ("POST /api/approvals", "body")
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


def _forged(url: str) -> str:
    payload, mac = url.rsplit("/", 1)[-1].split(".")
    return url.rsplit("/", 1)[0] + "/" + payload + "." + ("B" if mac[0] == "A" else "A") + mac[1:]


@pytest.mark.parametrize(
    "make_url,status,words",
    [
        (lambda p: p.approve_url.rsplit("/", 1)[0] + "/garbage", 400, "not one this app makes"),
        (lambda p: _forged(p.approve_url), 403, "signature does not match"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_links_are_refused_with_a_clear_status(route, waiting, sim, caplog, make_url, status, words, method):
    pipeline, pending = waiting
    with caplog.at_level(logging.INFO):
        response = call(route, method, make_url(pending), **(confirm("approve") if method == "POST" else {}))
    page = response.get_body().decode()
    assert response.status_code == status and words in page and SECRET not in page
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "approval link refused" in logged and make_url(pending).rsplit("/", 1)[-1] not in logged
    assert token_of(pending.approve_url) not in logged and SECRET not in logged


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_expired_link_is_gone(route, waiting, sim, method):
    from approvals import approvals_of

    pipeline, pending = waiting
    approvals_of(pipeline).clock = lambda: pending.expires_at  # the moment the link dies
    response = call(route, method, pending.approve_url, **(confirm("approve") if method == "POST" else {}))
    assert response.status_code == 410 and "expired" in response.get_body().decode()
    assert pipeline.ledger.approval(pending.id)["state"] == "pending" and not accepted_writes(sim)


def test_without_approvals_set_up_the_route_says_so(route, acting):
    from handlers import runtime

    runtime.use(acting("observe", approval_secret=""))  # no secret, no rule waiting for a person: no approvals
    try:
        response = call(route, "GET", "https://responder.example/api/approvals/x.y")
    finally:
        runtime.use(None)
    assert response.status_code == 503 and "not configured" in response.get_body().decode()


def test_approve_mode_without_a_secret_answers_503_and_names_no_secret(route, monkeypatch):
    from handlers import runtime

    for name in ("RESPONDER_APPROVAL_SECRET", "RESPONDER_TEAMS_WEBHOOKS", "RESPONDER_MAIL_SENDER", "RESPONDER_OUTBOX_DIR", "RESPONDER_LEDGER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RESPONDER_MODE", "approve")
    runtime.use(None)  # built from the environment, as in Azure
    try:
        response = call(route, "POST", "https://responder.example/api/approvals/x.y", **confirm("approve"))
    finally:
        runtime.use(None)
    assert response.status_code == 503 and "not configured" in response.get_body().decode()


def test_a_rule_with_its_own_approvers_is_decided_by_them(route, acting, sim, tmp_path):
    """The degraded-hardware rule names an app role: a member of the app's approvers' group is
    refused on its approvals (403 naming the role); a holder of the role decides."""
    import yaml

    from approvals import approvals_of
    from handlers import runtime
    from pipeline import Settings

    role = "Responder.Approve"
    document = yaml.safe_load(Settings().policy_path.read_text(encoding="utf-8"))
    for rule in document["rules"]:
        if rule["name"].startswith("degraded-hardware") and rule["do"] == "redeploy":
            rule["approvers"] = [f"role:{role}"]
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(document), encoding="utf-8")
    pipeline = acting("approve", approval_secret=SECRET, policy_path=policy, approvers=(f"group:{APPROVERS_GROUP}",),
                      approver_sign_in=True)
    service = approvals_of(pipeline)
    (outcome,) = pipeline.process(parse_delivery(b.body(b.annotated(target=DEGRADED_VM)), "test"))
    (record,) = service.pending()
    assert outcome.status == "awaiting-approval" and record.approvers == (f"role:{role}",)
    pending = service.pending_of(record)
    runtime.use(pipeline)
    try:
        refused = call(route, "POST", pending.approve_url, **signed(ana(), "approve"))
        assert refused.status_code == 403 and f"app role {role}" in refused.get_body().decode()
        holder = principal_headers("Ben", "b0000000-0000-4000-8000-000000000000", roles=(role,))
        assert call(route, "POST", pending.approve_url, **signed(holder, "approve")).status_code == 200
    finally:
        runtime.use(None)
    assert pipeline.ledger.approval(record.id)["decided_by"] == "Ben" and len(accepted_writes(sim)) == 1
