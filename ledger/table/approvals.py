"""Approvals in the Table Storage ledger (mixed into TableLedger): what a person is asked to
approve, and what they decided. The same states as the SQLite ledger:

    pending  -> approved | rejected | expired     (decide_approval / expire_approvals)
    approved -> consumed                          (consume_approval: the one act)

Each approval is one entity (PartitionKey = sha256 of its id); every state change is a replace
with the ETag that was read, so two clicks or two workers decide once. "At most one pending per
incident and action" is a marker entity per incident and action naming the pending approval:
inserted, or moved on with its ETag once the approval it names is no longer pending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from rules.records import Approval, NewApproval

from ..backend_state import TableState
from ..errors import LedgerContentionError
from ..rows import clipped_json
from . import keys
from .keys import clip
from .service import ATTEMPTS, backoff, sdk_errors

APPROVAL_FIELDS = (
    "id", "incident_id", "signal_id", "action", "resource_id", "mode", "params", "facts", "reason", "created_at",
    "expires_at", "state", "decided_by", "decided_at", "outcome_status", "outcome_reason", "settled_at",
    "decided_by_id", "decided_via",
)
MARKER_ROW = "pending"


def _row(entity: Mapping[str, Any]) -> Approval:
    row = {name: entity.get(name) or None for name in APPROVAL_FIELDS}
    row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
    row["params"] = json.loads(entity.get("params") or "{}")
    row["facts"] = json.loads(entity.get("facts") or "{}")
    row["reason"] = entity.get("reason") or ""
    row["approvers"] = json.loads(entity.get("approvers") or "[]")
    return cast(Approval, row)


def _marker_partition(incident_id: str, action: str) -> str:
    return "pending-" + keys.hashed(f"{incident_id}\n{action}")


class TableApprovals(TableState):
    """Uses TableLedger's tables and its conditional-write helpers."""

    def add_approval(self, approval: NewApproval) -> Approval:
        """Record a pending approval; if one is already pending for its incident and action, that one."""
        table = self._table("approvals")
        entity = {
            "PartitionKey": keys.hashed(approval["id"]), "RowKey": "", "id": approval["id"],
            "incident_id": approval["incident_id"],
            "signal_id": keys.id_key(signal_id) if (signal_id := approval.get("signal_id")) is not None else "",
            "action": approval["action"], "resource_id": approval["resource_id"], "mode": approval["mode"],
            "params": clipped_json(approval.get("params")), "facts": clipped_json(approval.get("facts")),
            "reason": clip(approval.get("reason")), "created_at": keys.stamp(approval["created_at"]),
            "expires_at": keys.stamp(approval["expires_at"]), "state": "pending",
            "approvers": json.dumps(list(approval.get("approvers") or [])),
        }
        marker = {
            "PartitionKey": _marker_partition(approval["incident_id"], approval["action"]), "RowKey": MARKER_ROW,
            "approval_id": approval["id"],
        }
        with sdk_errors("recording an approval"):
            if not self._insert(table, entity):
                return _row(cast(Mapping[str, Any], self._get(table, entity["PartitionKey"], "")))  # this very approval, asked again
            for attempt in range(ATTEMPTS):
                current = self._get(table, marker["PartitionKey"], MARKER_ROW)
                if current is None:
                    if self._insert(table, marker):
                        return _row(entity)
                else:
                    named = self._get(table, keys.hashed(current["approval_id"]), "")
                    if named is not None and named.get("state") == "pending" and named["id"] != approval["id"]:
                        table.delete_entity(entity["PartitionKey"], "")  # ours was never seen: the pending one stands
                        return _row(named)
                    if self._replace_if_unchanged(table, marker, current):
                        return _row(entity)
                backoff(attempt)
        raise LedgerContentionError(f"recording approval {approval['id']}: lost {ATTEMPTS} conditional writes in a row")

    def decide_approval(self, approval_id: str, state: str, by: str, at: datetime,
                        by_id: str | None = None, via: str | None = None) -> bool:
        """pending -> approved | rejected, only while pending and not yet expired: the claim.
        `by` the person's name, `by_id` their Entra object id, `via` link, page or command line."""
        if state not in ("approved", "rejected"):
            raise ValueError(f"state {state!r}: expected approved or rejected")
        return self._move_approval(
            approval_id, lambda e: e.get("state") == "pending" and e["expires_at"] > keys.stamp(at),
            {"state": state, "decided_by": clip(by, 4000), "decided_at": keys.stamp(at),
             "decided_by_id": clip(by_id or "", 100), "decided_via": via or ""}, "deciding an approval",
        )

    def expire_approvals(self, at: datetime) -> list[Approval]:
        """pending -> expired for every approval whose time is up; those it moved (each once)."""
        with sdk_errors("listing approvals to expire"):
            due = list(self._table("approvals").query_entities(
                "state eq 'pending' and expires_at le @at", parameters={"at": keys.stamp(at)}, select=["id"],
            ))
        moved: list[Approval] = []
        for entity in due:
            changes = {"state": "expired", "decided_by": "expiry", "decided_at": keys.stamp(at)}
            if self._move_approval(entity["id"], lambda e: e.get("state") == "pending", changes, "expiring an approval"):
                moved.append(cast(Approval, self.approval(entity["id"])))  # moved just now
        return sorted(moved, key=lambda row: row["expires_at"])

    def consume_approval(self, approval_id: str, at: datetime) -> bool:
        """approved -> consumed: the one worker that gets True carries the action out."""
        return self._move_approval(
            approval_id, lambda e: e.get("state") == "approved", {"state": "consumed", "settled_at": keys.stamp(at)},
            "consuming an approval",
        )

    def settle_approval(self, approval_id: str, status: str, reason: str, at: datetime) -> None:
        """What came of the decision (started, skipped, failed), for the page and the command line."""
        changes = {"outcome_status": status, "outcome_reason": clip(reason), "settled_at": keys.stamp(at)}
        self._move_approval(approval_id, lambda e: True, changes, "settling an approval")

    def approval(self, approval_id: str) -> Approval | None:
        with sdk_errors("reading an approval"):
            entity = self._get(self._table("approvals"), keys.hashed(approval_id), "")
        return _row(entity) if entity is not None else None

    def approvals(self, state: str | None = None) -> list[Approval]:
        table = self._table("approvals")
        with sdk_errors("listing approvals"):
            if state is None:
                rows = [_row(e) for e in table.query_entities("RowKey eq ''")]
                return sorted(rows, key=lambda row: (row["created_at"], row["id"]))
            rows = [_row(e) for e in table.query_entities("RowKey eq '' and state eq @state", parameters={"state": state})]
            return sorted(rows, key=lambda row: (row["expires_at"], row["id"]))

    def approval_signal_id(self, incident_id: str, delivery_key: str) -> int | None:
        """The recorded signal an approval answers: in its incident's IncidentLog partition (where a
        resource's signals are), else a query across partitions, then the Signals table of the
        earlier layout."""
        self._flush()
        parameters = {"incident": incident_id, "delivery": delivery_key}
        signals = "RowKey ge 'sig|' and RowKey lt 'sig}' and incident_id eq @incident and delivery_key eq @delivery"
        logged = keys.logged_incident(incident_id)
        with sdk_errors("finding an approval's signal"):
            found: list[int] = []
            if logged:
                found = [int(row["id"]) for row in self._table("log").query_entities(
                    f"PartitionKey eq @pk and {signals}", parameters={**parameters, "pk": logged}, select=["id"])]
            if not found:
                found = [int(row["id"]) for row in self._table("log").query_entities(signals, parameters=parameters, select=["id"])]
            if not found:
                found = [int(row["id"]) for row in self._table("signals").query_entities(
                    "incident_id eq @incident and delivery_key eq @delivery", parameters=parameters, select=["id"])]
        return max(found) if found else None

    def _move_approval(self, approval_id: str, allowed, changes: Mapping[str, Any], doing: str) -> bool:
        """Apply `changes` if `allowed(entity)` holds, with the ETag read: True if this call did."""
        table, partition = self._table("approvals"), keys.hashed(approval_id)
        with sdk_errors(doing):
            for attempt in range(ATTEMPTS):
                entity = self._get(table, partition, "")
                if entity is None or not allowed(entity):
                    return False
                if self._replace_if_unchanged(table, {**entity, **changes}, entity):
                    return True
                backoff(attempt)
        raise LedgerContentionError(f"{doing} {approval_id}: lost {ATTEMPTS} conditional writes in a row")
