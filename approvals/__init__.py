"""Human approvals: in `approve` mode a remediation waits for a person.

The pipeline's awaiting-approval decision becomes a pending approval in the ledger and two
signed, expiring, single-use links (Approve, Reject) in the Teams card and the email. Looking
at a link (GET) shows what would happen and decides nothing; posting it decides, once; then
`settle` carries the decision out through the pipeline: on approve the live state is verified
again and the action started only if the condition still holds.

    approvals = Approvals(ledger, secret, public_url, clock, ttl)
    pending = approvals.request(incident_id=..., action="redeploy", ..., deadline=None)
    decided = approvals.decide(token, by=approver)               # or decide_by_id(id, "approve", by=)
    outcome = settle(pipeline, decided)                          # verify, act or skip, record, tell
    for outcome in settle_due(pipeline, approvals): ...           # the tick: expiry, interrupted approvals
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.ports import ApprovalStore

from .approvers import COMMAND_LINE, LINK, PAGE, Approver, Approvers, Gate
from .config import DEFAULT_DEADLINE_MARGIN, DEFAULT_TTL, approval_needed, public_base, times_from_policy
from .errors import (
    AlreadyDecidedError,
    ApprovalConfigError,
    ApprovalError,
    ApprovalNotFoundError,
    ExpiredTokenError,
    ForgedTokenError,
    GoneTokenError,
    MalformedTokenError,
    NotAnApproverError,
    SignInRefusedError,
    TokenRefusedError,
)
from .records import STATE_OF_CHOICE, ApprovalRecord, Decided, Pending, View
from .requests import ApprovalRequests, deadline_of
from .settle import settle, settle_due
from .tokens import CHOICES, Signer

LIST = "list"  # the choice naming a scope's list page (notify/links.py)

ROUTE = "approvals"  # the links are {public_url}/api/approvals/{token}
INTERRUPTED_AFTER = timedelta(minutes=1)
_ID = re.compile(r"^APR-[0-9a-f]{16}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _whole_seconds(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=0)


class Approvals:
    def __init__(
        self,
        store: ApprovalStore,
        secret: str | bytes,
        public_url: str,
        clock: Callable[[], datetime] = _utc_now,
        ttl: timedelta = DEFAULT_TTL,
        deadline_margin: timedelta = DEFAULT_DEADLINE_MARGIN,
        gate: Gate | None = None,
    ):
        self.store = store
        self.signer = Signer(secret)
        self.public_url = public_base(public_url)
        self.clock = clock
        self.ttl = ttl
        self.deadline_margin = deadline_margin
        self.gate = gate or Gate()  # whether sign-in is on, and who may decide

    # -- asking -------------------------------------------------------------------------------

    def request(
        self,
        *,
        incident_id: str,
        signal_id: int | None,
        action: str,
        resource_id: str,
        mode: str,
        params: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
        reason: str = "",
        deadline: datetime | None = None,
        approvers: Approvers | None = None,
    ) -> Pending:
        """A pending approval and its links. Asking again while one is pending for the incident
        and action gives that one back. With a `deadline` (the platform acts then), the links
        expire `deadline_margin` before it, if that is sooner than the ttl. `approvers`: the rule's
        own, kept with the approval (else the app's decide)."""
        now = self.clock()
        expires = now + self.ttl
        if deadline is not None:
            expires = min(expires, deadline - self.deadline_margin)
        row = self.store.add_approval({
            "id": "APR-" + secrets.token_hex(8), "incident_id": incident_id, "signal_id": signal_id, "action": action,
            "resource_id": resource_id, "mode": mode, "params": {k: v for k, v in (params or {}).items() if k != "now"},
            "facts": dict(facts or {}), "reason": reason, "created_at": now, "expires_at": _whole_seconds(expires),
            "approvers": approvers.entries() if approvers else [],
        })
        return self.pending_of(ApprovalRecord.from_row(row))

    def pending_of(self, record: ApprovalRecord) -> Pending:
        return Pending(record.id, self.link(record, "approve"), self.link(record, "reject"), record.expires_at)

    def link(self, record: ApprovalRecord, choice: str) -> str:
        return f"{self.public_url}/api/{ROUTE}/{self.signer.sign(record.id, choice, record.expires_at)}"

    def link_for(self, approval_id: str, choice: str) -> str:
        """The signed link of an approval in the ledger: what a notifier puts in a message as it
        sends it (the same link every time, since tokens are deterministic). With choice "list"
        and `scope:<scope>` for the id, the page of every approval pending in that scope."""
        if choice == LIST and approval_id.startswith("scope:"):
            return self.list_link(approval_id.removeprefix("scope:"))
        if choice not in CHOICES:
            raise ValueError(f"choice {choice!r}: expected approve or reject")
        return self.link(self.get(approval_id), choice)

    def list_link(self, scope: str) -> str:
        """The page listing the approvals pending in a storm scope. It lives as long as a new
        approval would; its expiry is rounded to the hour so a retried send signs the same link."""
        expires = (self.clock() + self.ttl).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return f"{self.public_url}/api/{ROUTE}/{self.signer.sign_list(scope, expires)}"

    def pending_in(self, token: str | None) -> tuple[str, list[ApprovalRecord]]:
        """The scope a list link names and the approvals pending in it (links refused as any are)."""
        found = self.signer.read_list(token, self.clock())
        now = self.clock()
        return found.scope, [r for r in self.pending() if r.state_at(now) == "pending" and in_scope(r, found.scope)]

    # -- looking and deciding -----------------------------------------------------------------

    def view(self, token: str | None) -> View:
        """What the link would do, and where the approval stands. A forged or malformed token is
        refused; an expired or used one is shown (state says so) so the page can explain."""
        now = self.clock()
        found = self.signer.read(token, now, allow_expired=True)
        record = self.get(found.approval_id)
        return View(found.choice, record.state_at(now), record, record.story(now))

    def decide(self, token: str | None, by: Approver | str) -> Decided:
        """Take the decision the link carries; refused when malformed (400), forged (403), by a
        signed-in person outside the approvers (403), expired or already decided (410)."""
        now = self.clock()
        found = self.signer.read(token, now)
        return self._decide(found.approval_id, found.choice, _approver(by, LINK), now)

    def decide_by_id(self, approval_id: str, choice: str, by: Approver | str) -> Decided:
        """The command line's way: whoever can write the ledger may decide."""
        if choice not in CHOICES:
            raise ValueError(f"choice {choice!r}: expected approve or reject")
        return self._decide(approval_id, choice, _approver(by, COMMAND_LINE), self.clock())

    def may_decide(self, record: ApprovalRecord, approver: Approver) -> None:
        """Refuse (NotAnApproverError) a person the approval's approvers do not admit."""
        own = Approvers.parse(record.approvers, f"approval {record.id}: approvers") if record.approvers else None
        self.gate.check(approver, own)

    def _decide(self, approval_id: str, choice: str, who: Approver, now: datetime) -> Decided:
        self.may_decide(self.get(approval_id), who)
        if self.store.decide_approval(approval_id, STATE_OF_CHOICE[choice], who.name, now,
                                      by_id=who.object_id, via=who.via):
            return Decided(self.get(approval_id), choice)
        record = self.get(approval_id)
        if record.state_at(now) == "expired":
            raise ExpiredTokenError(f"approval {record.id} expired at {record.expires_at.isoformat()}; nothing was done")
        raise AlreadyDecidedError(f"approval {record.id} was {record.story(now)}")

    # -- the tick and the command line ---------------------------------------------------------

    def expire(self, now: datetime | None = None) -> list[ApprovalRecord]:
        """Pending approvals whose time is up become expired; each is returned once, to settle."""
        return [ApprovalRecord.from_row(row) for row in self.store.expire_approvals(now or self.clock())]

    def interrupted(self, now: datetime | None = None) -> list[ApprovalRecord]:
        """Approved but not carried out a while later: the worker stopped between the click and
        the act. (The grace leaves a worker that is just slow to finish its own request.)"""
        cutoff = (now or self.clock()) - INTERRUPTED_AFTER
        records = [ApprovalRecord.from_row(row) for row in self.store.approvals("approved")]
        return [r for r in records if r.decided_at is None or r.decided_at <= cutoff]

    def pending(self) -> list[ApprovalRecord]:
        return [ApprovalRecord.from_row(row) for row in self.store.approvals("pending")]

    def get(self, approval_id: str) -> ApprovalRecord:
        row = self.store.approval(approval_id) if _ID.match(approval_id or "") else None
        if row is None:
            raise ApprovalNotFoundError(f"no approval {approval_id!r} in this ledger")
        return ApprovalRecord.from_row(row)


def in_scope(record: ApprovalRecord, scope: str) -> bool:
    """Whether an approval's resource is in a storm scope as notify/digest.py names them: its scale
    set (`ss:<id>`), or its subscription and region (`vm:<subscription>:<region>`)."""
    from arm import ResourceId

    rid = ResourceId.try_parse(record.resource_id)
    scale_set = rid.scale_set if rid is not None and rid.is_instance else None
    if scope.startswith("ss:"):
        return scale_set is not None and scale_set == ResourceId.try_parse(scope[3:])
    _, _, rest = scope.partition(":")
    subscription, _, region = rest.partition(":")
    if scale_set is not None or (rid.subscription.lower() if rid is not None else "") != subscription:
        return False
    location = str((record.facts or {}).get("location") or "").lower()
    return not region or not location or location == region


def _approver(by: Approver | str, via: str) -> Approver:
    """Who decides: as signed in, or a bare name (a run on this machine, tests) taken the given way."""
    return by if isinstance(by, Approver) else Approver(str(by or ""), None, via)


def approvals_for(settings, policy, store: ApprovalStore, clock: Callable[[], datetime] = _utc_now) -> Approvals | None:
    """Approvals for a pipeline: built whenever a secret is set; required (refusing to run
    without a secret) whenever the mode or the policy can make a decision wait for a person."""
    needed = approval_needed(settings.mode, policy)
    if not settings.approval_secret and not needed:
        return None
    ttl, margin = times_from_policy(policy.sections.get("approvals"))
    gate = gate_for(settings, policy, needed)
    return Approvals(store, settings.approval_secret, public_base(settings.public_url, settings.website_hostname), clock, ttl, margin, gate)


def gate_for(settings, policy, needed: bool) -> Gate:
    """Sign-in and approvers from the settings and the policy's rules. In Azure (App Service sets
    WEBSITE_HOSTNAME) an app that can ask a person refuses to run unless sign-in is on and the
    approvers are named: a bearer link alone must not change production there."""
    approvers = Approvers.parse(settings.approvers, "RESPONDER_APPROVERS")
    by_rule = {rule.name: Approvers.parse(rule.approvers, f"policy: rules ({rule.name}): approvers")
               for rule in policy.rules if rule.approvers}
    if settings.approver_sign_in and not approvers:
        raise ApprovalConfigError("RESPONDER_APPROVER_SIGN_IN is on but RESPONDER_APPROVERS names nobody:"
                                  " name the Entra groups (group:<object id>) or app roles (role:<value>) who may decide")
    if needed and settings.website_hostname and not (settings.approver_sign_in and approvers):
        missing = [name for name, value in (("RESPONDER_APPROVERS", approvers),
                                            ("RESPONDER_APPROVER_SIGN_IN", settings.approver_sign_in)) if not value]
        raise ApprovalConfigError(
            f"approve mode in Azure needs {' and '.join(missing)}: only signed-in members of the approvers may decide"
            " (the deployment sets both from its approvers and signInClientId parameters)")
    return Gate(settings.approver_sign_in, approvers, by_rule)


def approvals_of(pipeline) -> Approvals:
    """The Approvals a pipeline asks through (its ApprovalRequests listener); refused when the
    pipeline was built without approvals (no secret, and no rule that waits for a person)."""
    for listener in pipeline.listeners:
        if isinstance(listener, ApprovalRequests):
            return listener.approvals
    raise ApprovalConfigError("approvals are not set up in this app (RESPONDER_APPROVAL_SECRET is not set)")


__all__ = [
    "AlreadyDecidedError", "ApprovalConfigError", "ApprovalError", "ApprovalNotFoundError", "ApprovalRecord", "Approver",
    "Approvers", "COMMAND_LINE", "Gate", "LINK", "NotAnApproverError", "PAGE", "SignInRefusedError",
    "ApprovalRequests", "Approvals", "Decided", "ExpiredTokenError", "ForgedTokenError", "GoneTokenError",
    "MalformedTokenError", "Pending", "TokenRefusedError", "View", "approvals_for", "approvals_of", "deadline_of", "settle",
    "settle_due", "in_scope",
]
