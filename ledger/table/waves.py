"""Maintenance waves in the Table Storage ledger (mixed into TableLedger): all of a scope's waves,
their members and one scope entity in one partition, so every move that depends on the scope is one
entity-group transaction.

The same states and answers as the SQLite ledger (ledger/sqlite/waves.py). Every write to a
scope's partition (opening a wave, adding, claiming or moving a member, claiming or releasing an
update domain, stopping, closing or finishing a wave) is a transaction that also rewrites the
scope entity with the ETag read before the decision. So a decision reads the scope entity first,
then what it depends on (the wave, its members, every member of the scope), and commits only if
nothing in the scope moved meanwhile: a 412 means another worker moved first, and the decision is
made again on a fresh read. This is what makes `claim_group`'s scope-wide rule (no member of any
wave of the scope starting, running or recovering, and the pause passed since the last update
domain of the scope ended) as race-free as the SQLite ledger's single statement.

    PartitionKey                      RowKey                       holds
    scope- + sha256(scope)            scope                        the scope; `wave_id`: its open or stopped wave
    scope- + sha256(scope)            wave- + sha256(wave id)       a wave
    scope- + sha256(scope)            member- + sha256(wave id) + - + sha256(resource key)   a member
    the wave id (or its sha256)       partition                    which scope partition the wave is in
    resource- + sha256(resource key)  sha256(wave id)              a wave the resource was enrolled in

The wave pointer and the resource index are written before the transaction that creates what
they point to (and never change), so a crash leaves a pointer to nothing, never a wave or a
member nothing finds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from rules.records import NewWaveMember, Wave, WaveMember, WaveOperation

from ..backend_state import TableState
from ..errors import LedgerContentionError
from ..rows import clipped_json
from . import keys
from .keys import clip
from .operations import by_resource
from .service import ATTEMPTS, backoff, sdk_errors

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
SCOPE_ROW, POINTER_ROW = "scope", "partition"


def _value(value: Any) -> Any:
    return keys.stamp(value) if isinstance(value, datetime) else value


def _wave_row(entity: Mapping[str, Any]) -> Wave:
    row = {name: entity.get(name) or None for name in WAVE_FIELDS}
    row["reason"] = entity.get("reason") or ""
    return cast(Wave, row)


def _member_row(entity: Mapping[str, Any]) -> WaveMember:
    row = {name: entity.get(name) if entity.get(name) != "" else None for name in MEMBER_FIELDS}
    row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
    row["operation_id"] = int(entity["operation_id"]) if entity.get("operation_id") not in (None, "") else None
    row["params"] = json.loads(entity.get("params") or "{}")
    row["facts"] = json.loads(entity.get("facts") or "{}")
    row["reason"] = entity.get("reason") or ""
    return cast(WaveMember, row)


def _scope_partition(scope: str) -> str:
    return "scope-" + keys.hashed(scope)


def _wave_row_key(wave_id: str) -> str:
    return "wave-" + keys.hashed(wave_id)


def _member_prefix(wave_id: str) -> str:
    return "member-" + keys.hashed(wave_id) + "-"


def _member_row_key(wave_id: str, resource_key: str) -> str:
    return _member_prefix(wave_id) + keys.hashed(resource_key)


def _after(prefix: str) -> str:
    """The first key after every key that starts with `prefix` (which ends with '-')."""
    return prefix[:-1] + "."


REFUSED = object()  # a decision's answer: the move is not allowed now


class TableWaves(TableState):
    """Uses TableLedger's tables and its conditional-write helpers."""

    _wave_partitions: dict[str, str]  # wave id -> its scope partition, made on first use (_partition_of)

    # -- waves ----------------------------------------------------------------------------------

    def live_wave(self, scope: str, new_id: str, at: datetime) -> Wave:
        """The open (or stopped) wave of a scope; a new open one with `new_id` if there is none."""
        table, partition = self._table("waves"), _scope_partition(scope)
        wave = {
            "PartitionKey": partition, "RowKey": _wave_row_key(new_id), "id": new_id, "scope": clip(scope, 4000),
            "state": "open", "created_at": keys.stamp(at), "updated_at": keys.stamp(at), "reason": "",
        }
        with sdk_errors("opening a wave"):
            pointer_written = False
            for attempt in range(ATTEMPTS):
                current = self._get(table, partition, SCOPE_ROW)
                if current is not None and current.get("wave_id"):
                    named = self._get(table, partition, _wave_row_key(current["wave_id"]))
                    if named is not None and named.get("state") in LIVE_WAVE_STATES:
                        return _wave_row(named)
                if not pointer_written:
                    table.upsert_entity({"PartitionKey": keys.incident_partition(new_id), "RowKey": POINTER_ROW,
                                         "wave_id": new_id, "scope_partition": partition})
                    pointer_written = True
                marker = {"PartitionKey": partition, "RowKey": SCOPE_ROW, "scope": clip(scope, 4000),
                          "wave_id": new_id, "updated_at": keys.stamp(at)}
                marker_op = ("create", marker) if current is None else self._replace_op(marker, current)
                if self._transact(table, [("create", wave), marker_op]) == "done":
                    self._remember_partition(new_id, partition)
                    return _wave_row(wave)
                backoff(attempt)
        raise LedgerContentionError(f"opening the wave of {scope}: lost {ATTEMPTS} conditional writes in a row")

    def wave(self, wave_id: str) -> Wave | None:
        with sdk_errors("reading a wave"):
            partition = self._partition_of(wave_id)
            entity = self._get(self._table("waves"), partition, _wave_row_key(wave_id)) if partition else None
        return _wave_row(entity) if entity is not None else None

    def waves(self, states: Iterable[str] | None = None) -> list[Wave]:
        wanted = None if states is None else set(states)
        with sdk_errors("listing waves"):
            rows = [_wave_row(e) for e in self._table("waves").query_entities(
                "RowKey ge 'wave-' and RowKey lt 'wave.'")]
        rows = [r for r in rows if wanted is None or r["state"] in wanted]
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    def waves_in_progress(self) -> list[Wave]:
        """Open waves, and waves of any state with a member still starting, running or recovering."""
        flight = " or ".join(f"state eq '{state}'" for state in IN_FLIGHT)
        with sdk_errors("listing waves in progress"):
            busy = {e.get("wave_id") for e in self._table("waves").query_entities(
                f"RowKey ge 'member-' and RowKey lt 'member.' and ({flight})", select=["wave_id"])}
        return [w for w in self.waves() if w["state"] == "open" or w["id"] in busy]

    def claim_group(self, wave_id: str, group: str, at: datetime, rested_since: datetime | None = None) -> bool:
        """Make `group` the wave's update domain in progress. Only if none is, the wave is open,
        no member of any wave of the same scope is starting, running or recovering, and (given
        `rested_since`) no member of another update domain of the scope became Available again
        after it (the pause between update domains). Decided on one read of the scope and
        committed with the scope entity's ETag: two workers cannot both win."""
        since = keys.stamp(rested_since) if rested_since is not None else None

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            if wave is None or wave.get("state") != "open" or wave.get("active_group"):
                return REFUSED
            for member in self._scope_members(table, partition):
                if member.get("state") in IN_FLIGHT:
                    return REFUSED
                if (since is not None and member.get("state") == "done" and member.get("update_group") != group
                        and (member.get("available_at") or "") > since):
                    return REFUSED
            moved = {**wave, "active_group": group, "activated_at": keys.stamp(at), "updated_at": keys.stamp(at)}
            return [self._replace_op(moved, wave)]

        return self._in_scope(wave_id, "claiming an update domain", decide)

    def resting_groups(self, scope: str, rested_since: datetime) -> dict[str, str]:
        """Update domains of a scope with a member Available again after `rested_since`: group -> latest time."""
        since = keys.stamp(rested_since)
        latest: dict[str, str] = {}
        with sdk_errors("reading the update domains at rest"):
            for member in self._scope_members(self._table("waves"), _scope_partition(scope)):
                available = member.get("available_at") or ""
                if member.get("state") == "done" and available > since:
                    group = member.get("update_group")
                    latest[group] = max(latest.get(group, ""), available)
        return latest

    def release_group(self, wave_id: str, group: str, at: datetime, rest_until: datetime | None = None) -> bool:
        """The group is over; `rest_until` (kept when None) says when another may start, for a
        person (claim_group enforces the pause). Refused while a member of the group is still
        starting, running or recovering (decided on the same read of the scope)."""

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            if wave is None or wave.get("active_group") != group:
                return REFUSED
            if any(m.get("update_group") == group and m.get("state") in IN_FLIGHT
                   for m in self._wave_members_of(table, partition, wave_id)):
                return REFUSED
            moved = {k: v for k, v in wave.items() if k not in ("active_group", "activated_at")}
            moved["updated_at"] = keys.stamp(at)
            if rest_until is not None:
                moved["rest_until"] = keys.stamp(rest_until)
            return [self._replace_op(moved, wave)]

        return self._in_scope(wave_id, "releasing an update domain", decide)

    def stop_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        return self._move_wave(wave_id, lambda w: w.get("state") == "open",
                               lambda w: {"state": "stopped", "reason": clip(reason), "updated_at": keys.stamp(at)})

    def close_wave(self, wave_id: str, at: datetime, reason: str) -> bool:
        """A stopped wave a person has looked at: the scope's next enrolment opens a new wave."""
        return self._move_wave(
            wave_id, lambda w: w.get("state") == "stopped",
            lambda w: {"state": "closed", "reason": clip(f"{w.get('reason') or ''}; {reason}"),
                       "updated_at": keys.stamp(at)},
        )

    def finish_wave(self, wave_id: str, at: datetime) -> bool:
        """Finished when open with nothing left to start or follow (decided on one read of the scope)."""

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            if wave is None or wave.get("state") != "open" or wave.get("active_group"):
                return REFUSED
            if any(m.get("state") in TO_DO for m in self._wave_members_of(table, partition, wave_id)):
                return REFUSED
            return [self._replace_op({**wave, "state": "finished", "updated_at": keys.stamp(at)}, wave)]

        return self._in_scope(wave_id, "finishing a wave", decide)

    # -- members --------------------------------------------------------------------------------

    def add_wave_member(self, member: NewWaveMember) -> bool:
        """Add a member to a wave that is still open; False when the resource is already in it
        or the wave is no longer open (finished or stopped meanwhile)."""
        wave_id, resource_key = member["wave_id"], member["resource_key"]
        at = keys.stamp(member["enrolled_at"])
        entity = {
            "RowKey": _member_row_key(wave_id, resource_key),
            "wave_id": wave_id, "resource_key": clip(resource_key, 4000),
            "resource_id": clip(member["resource_id"], 4000), "incident_id": member["incident_id"],
            "signal_id": keys.id_key(signal_id) if (signal_id := member.get("signal_id")) is not None else "",
            "mode": member["mode"], "params": clipped_json(member.get("params")), "facts": clipped_json(member.get("facts")),
            "update_group": member["update_group"], "window_start": _value(member.get("window_start")),
            "window_end": _value(member.get("window_end")), "state": member["state"],
            "reason": clip(member.get("reason", "")), "enrolled_at": at, "updated_at": at,
        }
        indexed: list[bool] = []

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            if wave is None or wave.get("state") != "open":
                return REFUSED
            if self._get(table, partition, entity["RowKey"]) is not None:
                return REFUSED
            if not indexed:  # before the member: a crash leaves an index to nothing, never a member unindexed
                table.upsert_entity({
                    "PartitionKey": "resource-" + keys.hashed(resource_key), "RowKey": keys.hashed(wave_id),
                    "wave_id": wave_id, "scope_partition": partition, "resource_key": entity["resource_key"],
                })
                indexed.append(True)
            created = {k: v for k, v in {**entity, "PartitionKey": partition}.items() if v is not None}
            return [("create", created)]

        return self._in_scope(wave_id, "adding a wave member", decide)

    def wave_member(self, wave_id: str, resource_key: str) -> WaveMember | None:
        with sdk_errors("reading a wave member"):
            partition = self._partition_of(wave_id)
            entity = (self._get(self._table("waves"), partition, _member_row_key(wave_id, resource_key))
                      if partition else None)
        return _member_row(entity) if entity is not None else None

    def wave_members(self, wave_id: str) -> list[WaveMember]:
        with sdk_errors("listing wave members"):
            partition = self._partition_of(wave_id)
            rows = [_member_row(e) for e in self._wave_members_of(self._table("waves"), partition, wave_id)] \
                if partition else []
        return sorted(rows, key=lambda r: (r["enrolled_at"], r["resource_key"]))

    def live_membership(self, resource_key: str) -> WaveMember | None:
        """The resource's member row in a wave that is open or stopped, if any."""
        table = self._table("waves")
        with sdk_errors("finding a live wave membership"):
            indexes = table.query_entities("PartitionKey eq @pk", parameters={"pk": "resource-" + keys.hashed(resource_key)})
            for index in indexes:
                partition, wave_id = index["scope_partition"], index["wave_id"]
                wave = self._get(table, partition, _wave_row_key(wave_id))
                if wave is not None and wave.get("state") in LIVE_WAVE_STATES:
                    member = self._get(table, partition, _member_row_key(wave_id, resource_key))
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

        def decide(table, partition, scope):
            member = self._get(table, partition, _member_row_key(wave_id, resource_key))
            if member is None or (expect_state is not None and member.get("state") != expect_state):
                return REFUSED
            return [self._replace_op({**member, **stored, "updated_at": keys.stamp(at)}, member)]

        return self._in_scope(wave_id, "updating a wave member", decide)

    def claim_wave_member(self, wave_id: str, resource_key: str, at: datetime) -> bool:
        """pending -> starting, only while the wave is open with the member's update domain in
        progress: the one worker that wins starts it, and never beside another update domain."""

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            member = self._get(table, partition, _member_row_key(wave_id, resource_key))
            if wave is None or member is None or member.get("state") != "pending":
                return REFUSED
            if wave.get("state") != "open" or wave.get("active_group") != member.get("update_group"):
                return REFUSED
            claimed = {**member, "state": "starting", "claimed_at": keys.stamp(at), "updated_at": keys.stamp(at)}
            return [self._replace_op(claimed, member)]

        return self._in_scope(wave_id, "claiming a wave member", decide)

    def last_operation_of(self, incident_id: str, resource_key: str, action: str) -> WaveOperation | None:
        """The newest operation of an action on a resource within an incident (the one a wave started)."""
        with sdk_errors("reading a wave's operation"):
            last = next((row for row in self.indexed_operations(by_resource(resource_key), newest_first=True)
                         if row.get("incident_id") == incident_id and row.get("action") == action), None)
        if last is None:
            return None
        return WaveOperation(id=int(last["id"]), state=last["state"], message=last.get("message") or "",
                             created_at=last["created_at"], finished_at=last.get("finished_at") or None)

    # -- plumbing -------------------------------------------------------------------------------

    def _in_scope(self, wave_id: str, what: str, decide) -> bool:
        """Read the wave's scope entity, let `decide(table, partition, scope)` read what it needs and
        answer REFUSED or the operations to commit, and commit them with the scope entity rewritten
        under the ETag read first: True if this call moved; after a 412 (another worker wrote in the
        scope meanwhile) decided again on a fresh read."""
        table = self._table("waves")
        with sdk_errors(what):
            partition = self._partition_of(wave_id)
            if partition is None:
                return False
            for attempt in range(ATTEMPTS):
                scope = self._get(table, partition, SCOPE_ROW)
                if scope is None:
                    return False
                operations = decide(table, partition, scope)
                if operations is REFUSED:
                    return False
                outcome = self._transact(table, [*operations, self._touch(scope)])
                if outcome == "done":
                    return True
                if outcome == "exists":
                    return False  # a member created meanwhile by another worker
                backoff(attempt)
        raise LedgerContentionError(f"{what} in {wave_id}: lost {ATTEMPTS} conditional writes in a row")

    def _move_wave(self, wave_id: str, allowed, changes) -> bool:
        """Apply `changes(wave)` if `allowed(wave)`, in the scope's transaction."""

        def decide(table, partition, scope):
            wave = self._get(table, partition, _wave_row_key(wave_id))
            if wave is None or not allowed(wave):
                return REFUSED
            return [self._replace_op({**wave, **changes(wave)}, wave)]

        return self._in_scope(wave_id, "moving a wave", decide)

    def _partition_of(self, wave_id: str) -> str | None:
        """The scope partition a wave is in (its pointer never changes once the wave exists)."""
        known = getattr(self, "_wave_partitions", None)
        if known is None:
            known = self._wave_partitions = {}
        if wave_id in known:
            return known[wave_id]
        pointer = self._get(self._table("waves"), keys.incident_partition(wave_id), POINTER_ROW)
        if pointer is None:
            return None
        partition = pointer["scope_partition"]
        if self._get(self._table("waves"), partition, _wave_row_key(wave_id)) is not None:
            known[wave_id] = partition  # only a wave that exists: a pointer a loser wrote may be reused
        return partition

    def _remember_partition(self, wave_id: str, partition: str) -> None:
        if getattr(self, "_wave_partitions", None) is None:
            self._wave_partitions = {}
        self._wave_partitions[wave_id] = partition

    @staticmethod
    def _scope_members(table: Any, partition: str):
        """Every member of every wave of the scope."""
        return table.query_entities(
            "PartitionKey eq @pk and RowKey ge 'member-' and RowKey lt 'member.'", parameters={"pk": partition}
        )

    @staticmethod
    def _wave_members_of(table: Any, partition: str, wave_id: str):
        prefix = _member_prefix(wave_id)
        return table.query_entities(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
            parameters={"pk": partition, "low": prefix, "high": _after(prefix)},
        )

    def _replace_op(self, entity: Mapping[str, Any], read: Any) -> tuple:
        condition = {"mode": self._replace, "etag": read.metadata["etag"], "match_condition": self._if_unchanged}
        return ("update", {k: v for k, v in dict(entity).items() if v is not None}, condition)

    def _touch(self, entity: Any) -> tuple:
        """Rewrite an entity as it was read, only if unchanged since: its ETag moves on."""
        return self._replace_op(entity, entity)

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
