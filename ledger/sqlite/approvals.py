"""Approvals in the SQLite ledger: what a person is asked to approve, and what they decided.

A row is written when a remediation starts waiting for a person (state `pending`) and moved on
only by conditional updates, so two clicks or two workers decide once:

    pending  -> approved | rejected | expired     (decide_approval / expire_approvals)
    approved -> consumed                          (consume_approval: the one act)

The links are never stored: they are derived from the row and the secret (approvals/tokens.py).
At most one approval is pending per incident and action (a partial unique index), so a request
made twice (a retried delivery, two listeners) gives the same approval back.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import cast

from rules.records import Approval, NewApproval

from ..backend_state import SqliteState
from ..rows import decoded, json_text, utc_text
from .operations import INTENT_COLUMNS

APPROVALS_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,""" + INTENT_COLUMNS + """
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    decided_by_id TEXT,
    decided_via TEXT,
    approvers TEXT,
    outcome_status TEXT,
    outcome_reason TEXT,
    settled_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_pending ON approvals(incident_id, action) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS approvals_by_state ON approvals(state, expires_at);
"""

DECIDED_STATES = ("approved", "rejected", "expired")
# Columns added after the first ledgers were written: who decided (object id, the way), and a
# rule's own approvers. A ledger file from before gets them when it is opened (add_approver_columns).
APPROVER_COLUMNS = ("decided_by_id", "decided_via", "approvers")
APPROVER_LISTS = ("approvers",)  # kept as JSON lists


def add_approver_columns(db) -> None:
    present = {row[1] for row in db.execute("PRAGMA table_info(approvals)")}
    for column in APPROVER_COLUMNS:
        if column not in present:
            db.execute(f"ALTER TABLE approvals ADD COLUMN {column} TEXT")


def _approval(row: sqlite3.Row) -> Approval:
    return cast(Approval, decoded(dict(row), APPROVER_LISTS))


class SqliteApprovals(SqliteState):
    """Mixed into SqliteLedger: uses its connection and lock."""

    def add_approval(self, approval: NewApproval) -> Approval:
        """Record a pending approval; if one is already pending for its incident and action, that one."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO approvals(id, incident_id, signal_id, action, resource_id, mode, params, facts,"
                " reason, created_at, expires_at, approvers, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (
                    approval["id"], approval["incident_id"], approval.get("signal_id"), approval["action"],
                    approval["resource_id"], approval["mode"], json_text(approval.get("params")),
                    json_text(approval.get("facts")), approval.get("reason") or "",
                    utc_text(approval["created_at"]), utc_text(approval["expires_at"]),
                    json.dumps(list(approval.get("approvers") or [])),
                ),
            )
            if cursor.rowcount == 1:
                return cast(Approval, self.approval(approval["id"]))  # inserted just now, under the lock
            row = self._db.execute(
                "SELECT * FROM approvals WHERE incident_id = ? AND action = ? AND state = 'pending'",
                (approval["incident_id"], approval["action"]),
            ).fetchone()
        return _approval(row)

    def decide_approval(self, approval_id: str, state: str, by: str, at: datetime,
                        by_id: str | None = None, via: str | None = None) -> bool:
        """pending -> approved | rejected, only while pending and not yet expired: the claim.
        `by` the person's name, `by_id` their Entra object id, `via` link, page or command line."""
        if state not in ("approved", "rejected"):
            raise ValueError(f"state {state!r}: expected approved or rejected")
        with self._lock:
            cursor = self._db.execute(
                "UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, decided_by_id = ?, decided_via = ?"
                " WHERE id = ? AND state = 'pending' AND expires_at > ?",
                (state, by, utc_text(at), by_id, via, approval_id, utc_text(at)),
            )
            return cursor.rowcount == 1

    def expire_approvals(self, at: datetime) -> list[Approval]:
        """pending -> expired for every approval whose time is up; those it moved (each once)."""
        with self._lock:
            rows = self._db.execute(
                "UPDATE approvals SET state = 'expired', decided_by = 'expiry', decided_at = ?"
                " WHERE state = 'pending' AND expires_at <= ? RETURNING *",
                (utc_text(at), utc_text(at)),
            ).fetchall()
        return sorted((_approval(r) for r in rows), key=lambda r: r["expires_at"])

    def consume_approval(self, approval_id: str, at: datetime) -> bool:
        """approved -> consumed: the one worker that gets True carries the action out."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE approvals SET state = 'consumed', settled_at = ? WHERE id = ? AND state = 'approved'",
                (utc_text(at), approval_id),
            )
            return cursor.rowcount == 1

    def settle_approval(self, approval_id: str, status: str, reason: str, at: datetime) -> None:
        """What came of the decision (started, skipped, failed), for the page and the command line."""
        with self._lock:
            self._db.execute(
                "UPDATE approvals SET outcome_status = ?, outcome_reason = ?, settled_at = ? WHERE id = ?",
                (status, reason, utc_text(at), approval_id),
            )

    def approval(self, approval_id: str) -> Approval | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return _approval(row) if row else None

    def approvals(self, state: str | None = None) -> list[Approval]:
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT * FROM approvals ORDER BY created_at, id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM approvals WHERE state = ? ORDER BY expires_at, id", (state,)
                ).fetchall()
        return [_approval(r) for r in rows]

    def approval_signal_id(self, incident_id: str, delivery_key: str) -> int | None:
        """The recorded signal an approval answers (the step a listener sees carries no row id)."""
        with self._lock:
            row = self._db.execute(
                "SELECT max(id) FROM signals WHERE incident_id = ? AND delivery_key = ?", (incident_id, delivery_key)
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else None
