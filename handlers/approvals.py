"""GET/POST /api/approvals/{token}: a person following an Approve or Reject link.

Anonymous: the signed token is the credential (a person clicks it from Teams or email). GET
shows what would happen and never acts, because mail scanners follow links; POST (the page's
button) decides once and carries the decision out. 400 malformed, 403 forged or foreign,
404 unknown approval, 410 expired or already decided, 413 a body larger than the form needs
(recorded as a rejection, as on the delivery routes); no answer carries a token or the secret.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import azure.functions as func

from telemetry.logs import log

from . import runtime
from .http import too_large

bp = func.Blueprint()

# App Service Authentication (when switched on for this route) names the signed-in person here.
PRINCIPAL_HEADER = "x-ms-client-principal-name"
MAX_FORM_BYTES = 1024


# The approvals package is imported by the first approval request, not with the app: most workers
# never serve one, and the cold start of the ones that handle events should not pay for it.


def html(status: int, page: str) -> func.HttpResponse:
    from approvals.page import HEADERS

    return func.HttpResponse(page, status_code=status, mimetype="text/html", charset="utf-8", headers=dict(HEADERS))


@bp.function_name("approvals")
@bp.route(route="approvals/{token}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def approvals(req: func.HttpRequest) -> func.HttpResponse:
    from approvals import ApprovalConfigError, ApprovalNotFoundError, TokenRefusedError, approvals_of, settle
    from approvals.page import list_page, outcome_page, refusal_page, view_page

    token = req.route_params.get("token")
    try:
        pipeline = runtime.pipeline()  # approve mode without a secret refuses to build: 503 below
        if too_large(req, MAX_FORM_BYTES):
            problem = f"is larger than the {MAX_FORM_BYTES} bytes an approval form needs"
            pipeline.reject(f"{req.method.upper()} /api/approvals", "body", problem)
            return html(413, refusal_page(413, f"The request body {problem}."))
        service = approvals_of(pipeline)
        if service.signer.is_list(token):  # a digest's link: the list of what waits in its scope, never a decision
            if req.method.upper() != "GET":
                return html(405, refusal_page(405, "This page lists approvals; each is decided on its own page."))
            scope, pending = service.pending_in(token)
            return html(200, list_page(scope, pending, service.link))
        view = service.view(token)  # a malformed or forged token is refused here (400, 403)
        if not view.actionable:
            return html(410, view_page(view))  # expired or decided: the page says which, and by whom
        if req.method.upper() != "POST":
            return html(200, view_page(view))
        if _confirmed(req) != view.choice:
            return html(400, refusal_page(400, "Use the button on the approval page: a bare request decides nothing."))
        decided = service.decide(token, by=req.headers.get(PRINCIPAL_HEADER) or "someone with the link")
        outcome = settle(pipeline, decided)
        return html(200, outcome_page(decided.choice, outcome))
    except (TokenRefusedError, ApprovalNotFoundError) as exc:
        log("approval link refused", status=exc.status, reason=str(exc))
        return html(exc.status, refusal_page(exc.status, str(exc)))
    except ApprovalConfigError as exc:
        log("approvals unavailable", reason=str(exc))
        return html(503, refusal_page(503, "Approvals are not configured in this app; ask its operators."))


def _confirmed(req: func.HttpRequest) -> str:
    from approvals.page import CONFIRM_FIELD

    body = req.get_body() or b""  # at most MAX_FORM_BYTES: larger was refused with 413
    values = parse_qs(body.decode("utf-8", "replace")).get(CONFIRM_FIELD) or [""]
    return values[0]
