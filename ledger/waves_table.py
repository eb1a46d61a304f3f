"""Maintenance waves in the Table Storage ledger (mixed into TableLedger): one wave entity and its
members in one partition, so a move that depends on both is one entity-group transaction.

The same states as the SQLite ledger (ledger/waves_sqlite.py). Every move is a replace with the
ETag that was read; a move that makes a member pending or in flight (enrolling, claiming,
starting, recovering) also rewrites the wave entity with the wave's ETag, in the same transaction.
So the wave's ETag changes whenever the set of members still to do changes, and the moves that
must see "no member in flight" (release_group, finish_wave) are conditional on it: a member
claimed a moment before makes them read again, as the SQLite ledger's single statement would.

Per scope, a `live` marker names the open (or stopped) wave; per resource, index entities name
the waves it was enrolled in (written before the member, so a crash leaves an index that points
to nothing, never a member no index finds).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

from . import table_keys as keys
from .errors import LedgerContentionError
from .table_keys import clip
from .table_service import ATTEMPTS, backoff, sdk_errors

LIVE_WAVE_STATES = ("open", "stopped")
TO_DO = ("pending", "starting", "running", "recovering")
IN_FLIGHT = ("starting", "running", "recovering")
MEMBER_COLUMNS = ("state", "reason", "operation_id", "claimed_at", "started_at", "available_at")
WAVE_FIELDS = ("id", "scope", "state", "created_at", "updated_at", "active_group", "activated_at", "rest_until", "reason")
MEMBER_FIELDS = (
    "wave_id", "resource_key", "resource_id", "incident_id", "signal_id", "mode", "params", "facts", "update_group",
    "window_start", "window_end", "state", "reason", "operation_id", "enrolled_at", "claimed_at", "started_at",
    "available_at", "updated_at",
)
WAVE_ROW, LIVE_ROW = "wave", "live"
JSON_LIMIT = 30000


def _json(value: Mapping[str, Any] | None) -> str:
    text = json.dumps(dict(value or {}), default=str)
    return text if len(text) <= JSON_LIMIT else json.dumps({"truncated": True, "excerpt": text[:2000]})


def _value(value: Any) -> Any:
    return keys.stamp(value) if isinstance(value, datetime) else value


def _wave_row(entity: Mapping[str, Any]) -> dict[str, Any]:
    row = {name: entity.get(name) or None for name in WAVE_FIELDS}
    row["reason"] = entity.get("reason") or ""
    return row


def _member_row(entity: Mapping[str, Any]) -> dict[str, Any]:
    row = {name: entity.get(name) if entity.get(name) != "" else None for name in MEMBER_FIELDS}
    row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
    row["operation_id"] = int(entity["operation_id"]) if entity.get("operation_id") not in (None, "") else None
    row["params"] = json.loads(entity.get("params") or "{}")
    row["facts"] = json.loads(entity.get("facts") or "{}")
    row["reason"] = entity.get("reason") or ""
    return row


def _wave_partition(wave_id: str) -> str:
    return keys.incident_partition(wave_id)


def _member_row_key(resource_key: str) -> str:
    return "member-" + keys.hashed(resource_key)


class TableWaves:
    """Uses TableLedger's tables and its conditional-write helpers."""

    # -- waves ----------------------------------------------------------------------------------

    def live_wave(self, scope: str, new_id: str, at: datetime) -> dict[str, Any]:
        """The open (or stopped) wave of a scope; a new open one with `new_id` if there is none."""
        table = self._table("waves")
        marker = {
            "PartitionKey": "live-" + keys.hashed(scope), "RowKey": LIVE_ROW, "scope": clip(scope, 4000), "wave_id": new_id,
        }
        wave = {
            "PartitionKey": _wave_partition(new_id), "RowKey": WAVE_ROW, "id": new_id, "scope": clip(scope, 4000),
            "state": "open", "created_at": keys.stamp(at), "updated_at": keys.stamp(at), "reason": "",
        }
        with sdk_errors("opening a wave"):
            for attempt in range(ATTEMPTS):
                current = self._get(table, marker["PartitionKey"], LIVE_ROW)
                named = self._get(table, _wave_partition(current["wave_id"]), WAVE_ROW) if current else None
                if named is not None and named.get("state") in LIVE_WAVE_STATES:
                    return _wave_row(named)
                self._insert(table, wave)  # ours, or already ours from an earlier round
                won = self._insert(table, marker) if current is None else self._replace_if_unchanged(table, marker, current)
                if won:
                    return _wave_row(wave)
                table.delete_entity(wave["PartitionKey"], WAVE_ROW)  # never seen: the winner's wave stands
                backoff(attempt)
        raise LedgerContentionError(f"opening the wave of {scope}: lost {ATTEMPTS} conditional writes in a row")

    def wave(self, wave_id: str) -> dict[str, Any] | None:
        with sdk_errors("reading a wave"):
            entity = self._get(self._table("waves"), _wave_partition(wave_id), WAVE_ROW)
        return _wave_row(entity) if entity is not None else None

    def waves(self, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        wanted = None if states is None else set(states)
        with sdk_errors("listing waves"):
            rows = [_wave_row(e) for e in self._table("waves").query_entities(f"RowKey eq '{WAVE_ROW}'")]
        rows = [r for r in rows if wanted is None or r["state"] in wanted]
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    def claim_group(self, wave_id: str, group: str, at: datetime) -> bool:
        """Make `group` the wave's update domain in progress, if none is and the wave is open."""
        changes = {"active_group": group, "activated_at": keys.stamp(at), "updated_at": keys.stamp(at)}
        return self._move_wave(wave_id, lambda w, members: w.get("state") == "open" and not w.get("active_group"), changes)

    def release_group(self, wave_id: str, group: str, at: datetime, rest_until: datetime | None) -> bool:
        """The group is over; refused while one of its members is starting, running or recovering."""

        def allowed(wave, members):
            busy = [m for m in members() if m.get("update_group") == group and m.get("state") in IN_FLIGHT]
            return wave.get("active_group") == group and not busy

        changes = {"active_group": None, "activated_at": None, "updated_at": keys.stamp(at)}
        if rest_until is not None:
            changes["rest_until"] = keys.stamp(rest_until)
        return self._move_wave(wave_id, allowed, changes)

    def stop_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        changes = {"state": "stopped", "reason": clip(reason), "updated_at": keys.stamp(at)}
        return self._move_wave(wave_id, lambda w, members: w.get("state") == "open", changes)

    def close_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        """A stopped wave a person has looked at: the scope's next enrolment opens a new wave."""
        return self._move_wave(
            wave_id, lambda w, members: w.get("state") == "stopped",
            lambda w: {"state": "closed", "reason": clip(f"{w.get('reason') or ''}; {reason}"),
                       "updated_at": keys.stamp(at)},
        )

    def finish_wave(self, wave_id: str, at: datetime) -> bool:
        """Finished when open with nothing left to start or follow."""

        def allowed(wave, members):
            return wave.get("state") == "open" and not wave.get("active_group") and not any(
                m.get("state") in TO_DO for m in members()
            )

        return self._move_wave(wave_id, allowed, {"state": "finished", "updated_at": keys.stamp(at)})

    # -- members --------------------------------------------------------------------------------

    def add_wave_member(self, member: Mapping[str, Any]) -> bool:
        """Add a member to a wave that is still open; False when the resource is already in it
        or the wave is no longer open."""
        table, partition = self._table("waves"), _wave_partition(member["wave_id"])
        at = keys.stamp(member["enrolled_at"])
        entity = {
            "PartitionKey": partition, "RowKey": _member_row_key(member["resource_key"]),
            "wave_id": member["wave_id"], "resource_key": clip(member["resource_key"], 4000),
            "resource_id": clip(member["resource_id"], 4000), "incident_id": member["incident_id"],
            "signal_id": keys.id_key(member["signal_id"]) if member.get("signal_id") is not None else "",
            "mode": member["mode"], "params": _json(member.get("params")), "facts": _json(member.get("facts")),
            "update_group": member["update_group"], "window_start": _value(member.get("window_start")),
            "window_end": _value(member.get("window_end")), "state": member["state"],
            "reason": clip(member.get("reason", "")), "enrolled_at": at, "updated_at": at,
        }
        index = {
            "PartitionKey": "resource-" + keys.hashed(member["resource_key"]), "RowKey": partition,
            "wave_id": member["wave_id"], "resource_key": entity["resource_key"],
        }
        with sdk_errors("adding a wave member"):
            for attempt in range(ATTEMPTS):
                wave = self._get(table, partition, WAVE_ROW)
                if wave is None or wave.get("state") != "open":
                    return False
                table.upsert_entity(index)
                created = ("create", {k: v for k, v in entity.items() if v is not None})
                outcome = self._transact(table, [created, self._touch(wave)])
                if outcome is not None:
                    return outcome == "done"
                backoff(attempt)
        raise LedgerContentionError(f"adding a member to {member['wave_id']}: lost {ATTEMPTS} conditional writes in a row")

    def wave_member(self, wave_id: str, resource_key: str) -> dict[str, Any] | None:
        with sdk_errors("reading a wave member"):
            entity = self._get(self._table("waves"), _wave_partition(wave_id), _member_row_key(resource_key))
        return _member_row(entity) if entity is not None else None

    def wave_members(self, wave_id: str) -> list[dict[str, Any]]:
        with sdk_errors("listing wave members"):
            rows = [_member_row(e) for e in self._members(self._table("waves"), _wave_partition(wave_id))]
        return sorted(rows, key=lambda r: (r["enrolled_at"], r["resource_key"]))

    def live_membership(self, resource_key: str) -> dict[str, Any] | None:
        """The resource's member row in a wave that is open or stopped, if any."""
        table = self._table("waves")
        with sdk_errors("finding a live wave membership"):
            indexes = table.query_entities("PartitionKey eq @pk", parameters={"pk": "resource-" + keys.hashed(resource_key)})
            for index in indexes:
                wave = self._get(table, index["RowKey"], WAVE_ROW)
                if wave is not None and wave.get("state") in LIVE_WAVE_STATES:
                    member = self._get(table, index["RowKey"], _member_row_key(resource_key))
                    if member is not None:
                        return _member_row(member)
        return None

    def update_wave_member(self, wave_id: str, resource_key: str, at: datetime, *, expect_state: str | None = None,
                           **changes: Any) -> bool:
        """Change a member; with `expect_state`, only if it is still in that state (the claim)."""
        unknown = set(changes) - set(MEMBER_COLUMNS)
        if unknown:
            raise ValueError(f"not member columns: {', '.join(sorted(unknown))}")
        stored = {name: "" if value is None else _value(value) for name, value in changes.items()}
        if "operation_id" in stored and stored["operation_id"] != "":
            stored["operation_id"] = str(stored["operation_id"])  # ids pass 32 bits: kept as text
        if "reason" in stored:
            stored["reason"] = clip(stored["reason"])
        table, partition = self._table("waves"), _wave_partition(wave_id)
        with sdk_errors("updating a wave member"):
            for attempt in range(ATTEMPTS):
                member = self._get(table, partition, _member_row_key(resource_key))
                if member is None or (expect_state is not None and member.get("state") != expect_state):
                    return False
                moved = {**member, **stored, "updated_at": keys.stamp(at)}
                wave = self._get(table, partition, WAVE_ROW) if stored.get("state") in TO_DO else None
                if wave is not None:
                    # Still to do or in flight: the wave's ETag must change with it (see the module's doc).
                    done = self._transact(table, [self._replace_op(moved, member), self._touch(wave)]) == "done"
                else:
                    done = self._replace_if_unchanged(table, moved, member)
                if done:
                    return True
                backoff(attempt)
        raise LedgerContentionError(f"updating a member of {wave_id}: lost {ATTEMPTS} conditional writes in a row")

    def claim_wave_member(self, wave_id: str, resource_key: str, at: datetime) -> bool:
        """pending -> starting, only while the wave is open with the member's update domain in
        progress: one transaction over the member and its wave, each with the ETag read."""
        table, partition = self._table("waves"), _wave_partition(wave_id)
        with sdk_errors("claiming a wave member"):
            for attempt in range(ATTEMPTS):
                wave = self._get(table, partition, WAVE_ROW)
                member = self._get(table, partition, _member_row_key(resource_key))
                if wave is None or member is None or member.get("state") != "pending":
                    return False
                if wave.get("state") != "open" or wave.get("active_group") != member.get("update_group"):
                    return False
                claimed = {**member, "state": "starting", "claimed_at": keys.stamp(at), "updated_at": keys.stamp(at)}
                if self._transact(table, [self._replace_op(claimed, member), self._touch(wave)]) == "done":
                    return True
                backoff(attempt)
        raise LedgerContentionError(f"claiming a member of {wave_id}: lost {ATTEMPTS} conditional writes in a row")

    def last_operation_of(self, incident_id: str, resource_key: str, action: str) -> Mapping[str, Any] | None:
        """The newest operation of an action on a resource within an incident (the one a wave started)."""
        with sdk_errors("reading a wave's operation"):
            rows = list(self._table("operations").query_entities(
                "incident_id eq @incident and resource_key eq @key and action eq @action",
                parameters={"incident": incident_id, "key": resource_key.strip().lower(), "action": action},
            ))
        if not rows:
            return None
        last = max(rows, key=lambda row: row["PartitionKey"])
        return {"id": int(last["id"]), "state": last["state"], "message": last.get("message") or "",
                "created_at": last["created_at"], "finished_at": last.get("finished_at") or None}

    # -- plumbing -------------------------------------------------------------------------------

    def _move_wave(self, wave_id: str, allowed, changes) -> bool:
        """Apply `changes` (a mapping, or a function of the wave) if `allowed(wave, members)`, with
        the wave's ETag: True if this call moved it. `members()` reads the members when asked."""
        table, partition = self._table("waves"), _wave_partition(wave_id)
        with sdk_errors("moving a wave"):
            for attempt in range(ATTEMPTS):
                wave = self._get(table, partition, WAVE_ROW)
                if wave is None or not allowed(wave, lambda: list(self._members(table, partition))):
                    return False
                moved = {**wave, **(changes(wave) if callable(changes) else changes)}
                if self._replace_if_unchanged(table, {k: v for k, v in moved.items() if v is not None}, wave):
                    return True
                backoff(attempt)
        raise LedgerContentionError(f"moving wave {wave_id}: lost {ATTEMPTS} conditional writes in a row")

    @staticmethod
    def _members(table: Any, partition: str):
        return table.query_entities(
            "PartitionKey eq @pk and RowKey ge 'member-' and RowKey lt 'member.'", parameters={"pk": partition}
        )

    def _replace_op(self, entity: Mapping[str, Any], read: Any) -> tuple:
        condition = {"mode": self._replace, "etag": read.metadata["etag"], "match_condition": self._if_unchanged}
        return ("update", dict(entity), condition)

    def _touch(self, wave: Any) -> tuple:
        """Rewrite the wave as it was read, only if unchanged since: its ETag moves on."""
        return self._replace_op(wave, wave)

    def _transact(self, table: Any, operations: list) -> str | None:
        """"done"; "exists" when an insert found its entity; None when an ETag had moved (read again)."""
        try:
            table.submit_transaction(operations)
        except self._transaction_error as exc:
            if exc.status_code == 412:
                return None
            if exc.status_code == 409:
                return "exists"
            raise
        return "done"
