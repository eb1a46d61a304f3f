"""GET/POST /api/approvals/{token}: a person following an Approve or Reject link.

Anonymous to the Functions host (no function key): the signed token names the approval, and in
Azure App Service sign-in (Entra ID) names the person. The deployment turns sign-in on for the
app without requiring it everywhere (Event Grid and action groups cannot sign in), so this route
requires it itself: with RESPONDER_APPROVER_SIGN_IN on, a GET without a signed-in person is sent
to the sign-in page and back, a POST without one is 401, and only members of the approvers may
decide (403 names who may). Without sign-in (a run on this machine) the link alone decides, as
before, and a request carrying sign-in headers is refused: nothing but the platform may write them.

GET shows what would happen and never acts, because mail scanners follow links; POST (the page's
button) decides once and carries the decision out. 302 to sign in (GET), 400 malformed, 401 nobody
signed in (POST), 403 forged or foreign, not an approver, or sign-in headers where sign-in is off,
404 unknown approval, 410 expired or already decided, 413 a body larger than the form needs
(recorded as a rejection, as on the delivery routes); no answer carries a token or the secret.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import azure.functions as func

from telemetry.logs import log

from . import runtime
from .http import too_large

bp = func.Blueprint()

MAX_FORM_BYTES = 1024
SIGN_IN = "/.auth/login/aad"  # App Service's Entra sign-in; it returns to post_login_redirect_uri
FROM_LIST = "list"  # ?from=list: the approval was opened from a scope's list page


# The approvals package is imported by the first approval request, not with the app: most workers
# never serve one, and the cold start of the ones that handle events should not pay for it.


def html(status: int, page: str) -> func.HttpResponse:
    from approvals.page import HEADERS

    return func.HttpResponse(page, status_code=status, mimetype="text/html", charset="utf-8", headers=dict(HEADERS))


@bp.function_name("approvals")
@bp.route(route="approvals/{token}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def approvals(req: func.HttpRequest) -> func.HttpResponse:
    from approvals import (
        ApprovalConfigError,
        ApprovalNotFoundError,
        NotAnApproverError,
        SignInRefusedError,
        TokenRefusedError,
        approvals_of,
        settle,
    )
    from approvals.page import list_page, not_an_approver_page, outcome_page, refusal_page, view_page

    token = req.route_params.get("token")
    try:
        pipeline = runtime.pipeline()  # approve mode without a secret refuses to build: 503 below
        if too_large(req, MAX_FORM_BYTES):
            problem = f"is larger than the {MAX_FORM_BYTES} bytes an approval form needs"
            pipeline.reject(f"{req.method.upper()} /api/approvals", "body", problem)
            return html(413, refusal_page(413, f"The request body {problem}."))
        service = approvals_of(pipeline)
        approver = _approver(req, service.gate.sign_in, pipeline)  # sign-in headers nobody enforced: refused
        if service.gate.sign_in and approver is None:
            return _sign_in_first(req)
        if service.signer.is_list(token):  # a digest's link: the list of what waits in its scope, never a decision
            if req.method.upper() != "GET":
                return html(405, refusal_page(405, "This page lists approvals; each is decided on its own page."))
            scope, pending = service.pending_in(token)
            return html(200, list_page(scope, pending, lambda r, choice: f"{service.link(r, choice)}?from={FROM_LIST}"))
        view = service.view(token)  # a malformed or forged token is refused here (400, 403)
        signed_in_as = approver.name if approver else None
        if not view.actionable:
            return html(410, view_page(view, signed_in_as))  # expired or decided: the page says which, and by whom
        if req.method.upper() != "POST":
            return html(200, view_page(view, signed_in_as, _not_yours(service, view.record, approver)))
        if _confirmed(req) != view.choice:
            return html(400, refusal_page(400, "Use the button on the approval page: a bare request decides nothing."))
        decided = service.decide(token, by=approver or _via(req))
        outcome = settle(pipeline, decided)
        return html(200, outcome_page(decided.choice, outcome))
    except NotAnApproverError as exc:
        log("approval refused: not an approver", reason=str(exc))
        return html(403, not_an_approver_page(str(exc)))
    except SignInRefusedError as exc:
        log("approval sign-in refused", reason=str(exc))
        return html(exc.status, refusal_page(exc.status, str(exc), title="This sign-in is not one the app can trust"))
    except (TokenRefusedError, ApprovalNotFoundError) as exc:
        log("approval link refused", status=exc.status, reason=str(exc))
        return html(exc.status, refusal_page(exc.status, str(exc)))
    except ApprovalConfigError as exc:
        log("approvals unavailable", reason=str(exc))
        return html(503, refusal_page(503, "Approvals are not configured in this app; ask its operators."))


def signed_in_name(req: func.HttpRequest, pipeline) -> str | None:
    """The signed-in person's name for another route (closing a wave), only where the deployment
    has sign-in on: elsewhere the header is whatever the caller wrote."""
    from approvals import ApprovalConfigError, approvals_of
    from approvals.approvers import PRINCIPAL_NAME, printable

    try:
        sign_in = approvals_of(pipeline).gate.sign_in
    except ApprovalConfigError:
        return None
    return printable(req.headers.get(PRINCIPAL_NAME) or "") or None if sign_in else None


def _not_yours(service, record, approver) -> str | None:
    """Why a signed-in person may not decide this approval (looking is allowed); None if they may."""
    from approvals import NotAnApproverError

    if approver is None:
        return None
    try:
        service.may_decide(record, approver)
    except NotAnApproverError as exc:
        return str(exc)
    return None


def _via(req: func.HttpRequest):
    """Nobody signed in (sign-in is off: a run on this machine): the link's bearer, and how they came."""
    from approvals import LINK, PAGE, Approver

    return Approver("someone with the link", None, PAGE if req.params.get("from") == FROM_LIST else LINK)


def _approver(req: func.HttpRequest, sign_in: bool, pipeline):
    """The signed-in person, when the deployment has sign-in on; None when nobody is. Sign-in
    headers on a request where sign-in is off were written by the caller: refused and recorded."""
    from approvals import LINK, PAGE, SignInRefusedError
    from approvals.approvers import carries_sign_in, signed_in

    if not sign_in:
        if carries_sign_in(req.headers):
            problem = "carries App Service sign-in headers, but sign-in is not on for this app (RESPONDER_APPROVER_SIGN_IN)"
            pipeline.reject(f"{req.method.upper()} /api/approvals", "headers", problem)
            raise SignInRefusedError(f"The request {problem}: only the platform may name who signed in.")
        return None
    return signed_in(req.headers, PAGE if req.params.get("from") == FROM_LIST else LINK)


def _sign_in_first(req: func.HttpRequest) -> func.HttpResponse:
    """GET: to App Service's Entra sign-in and back to this page. POST: 401 (a form is only
    posted from the page, which a person reaches signed in)."""
    from approvals.page import sign_in_page

    parts = urlsplit(req.url)
    back = parts.path + (f"?{parts.query}" if parts.query else "")
    target = f"{SIGN_IN}?post_login_redirect_uri={quote(back, safe='')}"
    if req.method.upper() == "GET":
        from approvals.page import HEADERS

        return func.HttpResponse(status_code=302, headers={**HEADERS, "Location": target})
    return html(401, sign_in_page(target))


def _confirmed(req: func.HttpRequest) -> str:
    from approvals.page import CONFIRM_FIELD

    body = req.get_body() or b""  # at most MAX_FORM_BYTES: larger was refused with 413
    values = parse_qs(body.decode("utf-8", "replace")).get(CONFIRM_FIELD) or [""]
    return values[0]
