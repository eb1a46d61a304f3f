"""The shapes approvals hand out: the stored record, a new request's links, a link's view, a decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rules.records import Approval

# What a person's choice makes of a pending approval.
STATE_OF_CHOICE = {"approve": "approved", "reject": "rejected"}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ApprovalRecord:
    id: str
    incident_id: str
    signal_id: int | None
    action: str
    resource_id: str
    mode: str
    params: Mapping[str, Any]
    facts: Mapping[str, Any]
    reason: str
    created_at: datetime
    expires_at: datetime
    state: str  # pending | approved | rejected | expired | consumed
    decided_by: str | None = None  # the person's name (or "expiry")
    decided_at: datetime | None = None
    decided_by_id: str | None = None  # their Entra object id, when signed in
    decided_via: str | None = None  # link | page | command line (approvals/approvers.py)
    approvers: tuple[str, ...] = ()  # the rule's own approvers (group:<id>, role:<value>); () for the app's
    outcome_status: str | None = None
    outcome_reason: str | None = None

    @classmethod
    def from_row(cls, row: Approval) -> ApprovalRecord:
        return cls(
            id=row["id"], incident_id=row["incident_id"], signal_id=row.get("signal_id"), action=row["action"],
            resource_id=row["resource_id"], mode=row["mode"], params=row.get("params") or {}, facts=row.get("facts") or {},
            reason=row.get("reason") or "", created_at=datetime.fromisoformat(row["created_at"]),
            expires_at=datetime.fromisoformat(row["expires_at"]), state=row["state"], decided_by=row.get("decided_by"),
            decided_at=_when(row.get("decided_at")), outcome_status=row.get("outcome_status"),
            outcome_reason=row.get("outcome_reason"), decided_by_id=row.get("decided_by_id"),
            decided_via=row.get("decided_via"), approvers=tuple(row.get("approvers") or ()),
        )

    @property
    def who(self) -> str:
        """Who decided, with their object id and the way they decided, as reasons and the audit say it."""
        from .approvers import says_who

        return says_who(self.decided_by, self.decided_by_id, self.decided_via)

    @property
    def who_and_when(self) -> str:
        """"Ana Lopez (object id …) at 02:14 UTC from the approval link": the start of the
        reason every decision's row and message carries."""
        from .approvers import says_who

        return says_who(self.decided_by, self.decided_by_id, self.decided_via, self.decided_at)

    def state_at(self, now: datetime) -> str:
        """The state a person should see: a pending approval past its time is expired, tick or not."""
        return "expired" if self.state == "pending" and now >= self.expires_at else self.state

    def story(self, now: datetime) -> str:
        """One sentence on where this approval stands, for a refusal, the page and the command line."""
        state = self.state_at(now)
        if state == "pending":
            return f"waiting for a person until {self.expires_at.isoformat()}"
        if state == "expired":
            return f"expired at {self.expires_at.isoformat()}; nothing was done"
        said = "approved" if state in ("approved", "consumed") else state
        text = f"already {said} by {self.who} at {self.decided_at.isoformat() if self.decided_at else '?'}"
        if self.outcome_status:
            text += f"; outcome: {self.outcome_status}: {self.outcome_reason}"
        return text


@dataclass(frozen=True)
class Pending:
    """A request made: the links to put in the Teams card and the email."""

    id: str
    approve_url: str
    reject_url: str
    expires_at: datetime


@dataclass(frozen=True)
class View:
    """What following a link would do (GET): nothing is decided by looking."""

    choice: str  # the choice this link makes: approve | reject
    state: str  # as a person should see it (pending past its expiry reads expired)
    record: ApprovalRecord
    story: str = ""

    @property
    def actionable(self) -> bool:
        return self.state == "pending"


@dataclass(frozen=True)
class Decided:
    """A decision taken (the claim won): `choice` is approve, reject or expire."""

    record: ApprovalRecord
    choice: str
