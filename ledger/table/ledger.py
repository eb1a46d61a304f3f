"""The Table Storage ledger: one store shared by every Function instance (Azurite locally).

Every decision that must be taken once across workers is a conditional write, never a
read-then-write:

- a delivery is claimed by inserting its entity (`create_entity`): a 409 means a duplicate;
- the open incident of an incident key lives in one pointer entity, replaced only with the ETag
  that was read (`IfNotModified`): a 412 means another worker moved it first, so re-read and agree;
- an incident's one action is held by inserting its `action-hold` entity: the first insert wins.

This module holds deliveries, signals, decisions, rejections and the plumbing; incidents and the
action hold are in incidents_table.py, remediation operations in operations_table.py, the brakes'
counters in safety_table.py, approvals in approvals_table.py, maintenance waves in waves_table.py, key and time
encodings in table_keys.py, client building and error mapping in table_service.py. The layout
(tables, keys, properties) is described in docs/ledger.md.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from rules import Decision, Signal
from rules.engine import recorded_reading
from rules.records import HistoryRow, SignalRow
from rules.signals import recorded_facts

from ..claims import CLAIMED, DECIDED, EXISTS, ClaimBook, ClaimLost, DeliveryClaims, StoredClaim
from . import keys
from .approvals import TableApprovals
from .incidents import TableIncidents
from .keys import clip
from .operations import TableOperations, signal_row
from .retention import TableRetention
from .safety import TableSafety
from .service import sdk_errors, service_client, setting
from .storm_counters import Counters
from .sweep_cursor import TableSweepCursor
from .unit import SIGNAL_ROW, TableUnits
from .waves import TableWaves

if TYPE_CHECKING:  # types only: the SDK is imported when a TableLedger is built
    from azure.data.tables import TableEntity

DECISION_FIELDS = ("id", "signal_id", "incident_id", "at", "rule", "action", "mode", "status", "reason", "brakes", "reading")
SIGNAL_FIELDS = ("kind", "name", "resource_id", "event_id", "source", "input", "occurred")
DECISION_ROW = "dec|"
REJECTION_FIELDS = ("id", "at", "input", "location", "problem", "excerpt")


class TableLedger(DeliveryClaims, TableUnits, TableIncidents, TableOperations, TableSafety, TableApprovals, TableWaves, TableRetention, TableSweepCursor):
    """rules.ports.Ledger on Azure Table Storage. Safe to share across threads and processes."""

    def __init__(self, service: Any, prefix: str | None = None):
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import TableTransactionError, UpdateMode

        self._exists, self._modified, self._missing = ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        self._if_unchanged, self._replace, self._merge = MatchConditions.IfNotModified, UpdateMode.REPLACE, UpdateMode.MERGE
        self._transaction_error = TableTransactionError
        self.service = service
        self.prefix = keys.DEFAULT_PREFIX if prefix is None else prefix
        self.tables = keys.table_names(self.prefix)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._ids = keys.Ids()
        self._claims = ClaimBook()
        # The signal a decision is about was almost always recorded by this worker a moment ago;
        # keeping the last few spares a cross-partition lookup when the decision is written.
        self._recent: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._local = threading.local()  # the decision a thread is writing (table_unit.py)
        self._counters = Counters()  # the storm breaker's counts this worker holds (storm_counters.py)

    @classmethod
    def from_settings(cls, settings: Any = None, **client_options: Any) -> TableLedger:
        """From app settings (a Settings object or a mapping of table_connection_string,
        table_endpoint and table_prefix)."""
        service = service_client(
            connection_string=setting(settings, "table_connection_string"),
            endpoint=setting(settings, "table_endpoint"),
            **client_options,
        )
        return cls(service, setting(settings, "table_prefix") or None)

    # -- deliveries ----------------------------------------------------------------------------

    def _claim_rows(self, key: str, incident_key: str) -> tuple[Any, str, str, str]:
        """(table, partition, lease row, claim row): beside the incident when its key is given
        (IncidentLog, so settling joins the decision's transaction), else in Deliveries."""
        if incident_key:
            hashed = keys.hashed(key)
            return self._table("log"), keys.log_partition(incident_key), f"lease|{hashed}", f"claim|{hashed}"
        return self._table("deliveries"), keys.hashed(key), keys.LEASE_ROW, keys.CLAIM_ROW

    # The claim's algorithm is ledger/claims.py's. Here a claim is two rows in one partition: its
    # lease (while it is decided) and its claim (kept once decided). Claiming inserts both in one
    # transaction and settling deletes the lease, so the transaction's failing operation says what
    # the key is without a read: the claim (index 1) means decided, the lease (index 0) means in
    # flight. A duplicate costs this one request.

    def _claiming(self) -> AbstractContextManager[None]:
        return nullcontext()

    def _insert_claim(self, key: str, incident_key: str, holder: str, at: datetime, until: datetime) -> str:
        table, partition, lease_row, claim_row = self._claim_rows(key, incident_key)
        leased = {"PartitionKey": partition, "RowKey": lease_row, "holder": holder, "lease_until": keys.stamp(until)}
        claim = {"PartitionKey": partition, "RowKey": claim_row, "key": clip(key, 4000), "first_seen": keys.stamp(at),
                 "decided": False}
        with sdk_errors("claiming a delivery"):
            taken = self._transaction(table, [("create", leased), ("create", claim)])
        if taken is None:
            return CLAIMED
        # A claim without a lease: settled (or claimed before leases had rows of their own).
        return DECIDED if taken == 1 else EXISTS

    def _read_claim(self, key: str, incident_key: str) -> StoredClaim | None:
        """The lease row: a claim that has one is undecided."""
        table, partition, lease_row, _ = self._claim_rows(key, incident_key)
        with sdk_errors("claiming a delivery"):
            current = self._get(table, partition, lease_row)
        if current is None:
            return None
        return StoredClaim(current.get("holder"), keys.parse_stamp(current["lease_until"]), False, current)

    def _take_claim(self, key: str, incident_key: str, read: StoredClaim, holder: str, until: datetime) -> bool:
        table, partition, lease_row, _ = self._claim_rows(key, incident_key)
        leased = {"PartitionKey": partition, "RowKey": lease_row, "holder": holder, "lease_until": keys.stamp(until)}
        with sdk_errors("claiming a delivery"):
            return self._replace_if_unchanged(table, leased, read.version)

    def _settle_claim(self, key: str, incident_key: str, holder: str | None, at: datetime) -> None:
        """The claim marked decided and the lease deleted, in one transaction. A claim row gone
        (404) is a lost claim (`ClaimLost`, raised by the unit for the decision's transaction)."""
        table, partition, lease_row, claim_row = self._claim_rows(key, incident_key)
        settled = {"PartitionKey": partition, "RowKey": claim_row, "decided": True, "decided_at": keys.stamp(at)}
        operations = [("update", settled, {"mode": self._merge}), ("delete", {"PartitionKey": partition, "RowKey": lease_row})]
        with sdk_errors("settling a delivery"):
            unit = self._unit() if incident_key else None
            if unit is not None:  # the decision's transaction: sent now, with everything it holds
                for operation in operations:
                    unit.add(partition, operation)
                unit.last = partition
                self._commit(unit)
                return
            failed = self._transaction(table, operations)
            if failed is None:
                return
            try:
                if failed == 1:  # the lease is gone already (a retried settle whose answer was lost): the claim alone
                    table.update_entity(settled, mode=self._merge)
                    return
            except self._missing:
                pass
            raise ClaimLost(f"the claim of delivery {key!r} is gone (purged, or given back by a later attempt)")

    def _release_claim(self, key: str, incident_key: str, holder: str) -> None:
        table, partition, lease_row, claim_row = self._claim_rows(key, incident_key)
        with sdk_errors("giving a delivery back"):
            current = self._get(table, partition, lease_row)
            if current is not None and current.get("holder") == holder:
                # Both rows, the lease only as it was read: another attempt that took it over keeps both.
                self._transaction(table, [
                    ("delete", current, {"etag": current.metadata["etag"], "match_condition": self._if_unchanged}),
                    ("delete", {"PartitionKey": partition, "RowKey": claim_row}),
                ])

    # -- signals -------------------------------------------------------------------------------

    def record_signal(self, signal: Signal, incident_id: str | None, at: datetime) -> int:
        """In the resource's IncidentLog partition, RowKey `sig|<occurred>|<id>`: with the decision
        about it in one transaction (see unit.py).

        The id is derived from the delivery key (with the event id, resource and time it names), so
        every attempt at a delivery writes the same row: one decided again after `Superseded` (a
        Service Health notice's row is in its subscription's partition, sent before the incident's,
        so the attempt that lost may have stored it), or one whose earlier attempt stopped after
        its signal was stored (the claim given back, or its lease run out). A signal without a
        delivery key (made by hand, never retried) draws a fresh id and is inserted."""
        occurred = keys.stamp(signal.occurred)
        row = {
            "delivery_key": clip(signal.delivery_key, 4000), "incident_id": incident_id or "", "source": signal.source,
            "event_id": clip(signal.event_id, 4000), "kind": signal.kind, "name": clip(signal.name, 1000),
            "resource_key": clip(signal.resource_key, 4000), "resource_id": clip(signal.resource_id, 4000),
            "occurred": occurred, "received": keys.stamp(at), "input": clip(signal.input, 4000),
            "summary": clip(signal.summary, 1000), "facts": recorded_facts(signal),
        }
        partition = keys.resource_log_partition(signal.resource_key)
        derived = bool(signal.delivery_key)
        signal_id = keys.derived_id(signal.delivery_key, signal.event_id, signal.resource_key, occurred) if derived \
            else self._ids.next()  # unique across workers (keys.Ids)
        entity = {"PartitionKey": partition, "RowKey": f"{SIGNAL_ROW}{occurred}|{keys.id_key(signal_id)}",
                  "id": keys.id_key(signal_id), **row}
        with sdk_errors("recording a signal"), self._writes() as unit:
            # A derived row is written over (the same delivery, again); a drawn id is inserted, so a clash fails.
            unit.add(partition, ("upsert", entity, {"mode": self._replace}) if derived else ("create", entity))
            known = self._known(partition)
            if known is not None:  # the decision's repeat rules count it, as they would once stored
                known.rows[entity["RowKey"]] = entity
        with self._recent_lock:
            self._recent[signal_id] = row
            while len(self._recent) > 256:
                self._recent.popitem(last=False)
        return signal_id

    def count_occurrences(self, resource_key: str, name: str, since: datetime, until: datetime) -> int:
        partition = keys.resource_log_partition(resource_key)
        low, high = SIGNAL_ROW + keys.stamp(since), SIGNAL_ROW + keys.stamp(until) + "|~"
        known = self._known(partition)
        with sdk_errors("counting occurrences"):
            if known is not None and SIGNAL_ROW + known.signals_since <= low:  # read with the partition already
                rows: Iterable[Mapping[str, Any]] = [row for key, row in known.rows.items()
                                                     if low <= key < high and row.get("name") == name]
            else:
                rows = self._table("log").query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high and name eq @name",
                    parameters={"pk": partition, "low": low, "high": high, "name": name}, select=["RowKey"])
            # RowKey is "sig|<occurred>|<id>": one occurrence delivered twice has two ids, one time.
            return len({row["RowKey"].split("|")[1] for row in rows})

    def _signal(self, signal_id: int) -> Mapping[str, Any] | None:
        with self._recent_lock:
            if signal_id in self._recent:
                return self._recent[signal_id]
        return self.signal(signal_id)  # recorded by another worker: a query across partitions (rare)

    # -- decisions and rejections --------------------------------------------------------------

    def record_decision(self, signal_id: int | None, incident_id: str | None, decision: Decision, at: datetime) -> int:
        """A decision about an incident of this layout goes to its IncidentLog partition (RowKey
        `dec|<id>`, in the decision's transaction); one without an incident, or about an incident
        of the earlier layout, to Decisions."""
        logged = keys.logged_incident(incident_id or "")
        if logged:
            table, partition, prefix = self._table("log"), logged, DECISION_ROW
        else:
            table, prefix = self._table("decisions"), ""
            partition = keys.incident_partition(incident_id) if incident_id else keys.NO_INCIDENT_PARTITION.format(day=keys.day(at))
        with sdk_errors("recording a decision"):
            signal = self._signal(signal_id) if signal_id is not None else None
            # The signal's fields are copied in, so history is one query and never a join.
            about = {name: signal[name] for name in (*SIGNAL_FIELDS, "resource_key")} if signal else {}
            decision_id = self._ids.next()
            entity = {
                "PartitionKey": partition, "RowKey": prefix + keys.id_key(decision_id), "id": keys.id_key(decision_id),
                "signal_id": keys.id_key(signal_id) if signal_id is not None else "", "incident_id": incident_id or "",
                "at": keys.stamp(at), "rule": decision.rule, "action": decision.action, "mode": decision.mode,
                "status": decision.status, "reason": clip(decision.reason), "brakes": clip(json.dumps(list(decision.brakes))),
                "reading": recorded_reading(decision.reading), **about,
            }
            if logged:
                with self._writes() as unit:
                    unit.add(partition, ("create", entity))
                return decision_id
            while not self._insert(table, entity):
                decision_id = self._ids.next()
                entity = {**entity, "RowKey": keys.id_key(decision_id), "id": keys.id_key(decision_id)}
            return decision_id

    def record_rejection(self, input_name: str, where: str, problem: str, excerpt: str, at: datetime) -> int:
        rejections = self._table("rejections")
        with sdk_errors("recording a rejection"):
            while True:
                rejection_id = self._ids.next()
                entity = {
                    "PartitionKey": keys.day(at), "RowKey": keys.id_key(rejection_id), "id": keys.id_key(rejection_id),
                    "at": keys.stamp(at), "input": clip(input_name, 4000), "location": clip(where, 4000),
                    "problem": clip(problem), "excerpt": clip(excerpt, 1000),
                }
                if self._insert(rejections, entity):
                    return rejection_id

    def history(self, since: datetime | None = None, resource: str | None = None) -> Iterable[HistoryRow]:
        """Decisions with their signals, oldest first. One query across partitions, filtered by time
        in the service and by resource here (Table Storage has no `ends with`): an audit read."""
        query, parameters = ("at ge @since", {"since": keys.stamp(since)}) if since is not None else ("", {})
        decided = f"RowKey ge '{DECISION_ROW}' and RowKey lt 'dec}}'"  # the IncidentLog's decision rows
        with sdk_errors("reading the history"):
            table = self._table("decisions")
            entities = list(table.query_entities(query, parameters=parameters) if query else table.list_entities())
            entities += list(self._table("log").query_entities(f"{decided} and {query}" if query else decided, parameters=parameters))
        if resource:
            wanted = resource.lower()
            entities = [
                e for e in entities
                if e.get("resource_key") and (e["resource_key"] == wanted or e["resource_key"].endswith("/" + wanted))
            ]
        entities.sort(key=lambda e: e["id"])
        return [self._history_row(e) for e in entities]

    @staticmethod
    def _history_row(entity: Mapping[str, Any]) -> HistoryRow:
        row = {name: entity.get(name) or None for name in DECISION_FIELDS}
        # The signal's fields as recorded ("" stays ""), None for a decision without one: as SQLite's join reads them.
        row.update({name: entity.get(name) for name in SIGNAL_FIELDS})
        row["id"] = int(entity["id"])
        row["signal_id"] = int(entity["signal_id"]) if entity.get("signal_id") else None
        row["brakes"] = entity.get("brakes") or "[]"
        row["reading"] = entity.get("reading") or "{}"  # a decision recorded before readings were kept: none
        for name in ("rule", "action", "mode", "status", "reason"):
            row[name] = entity.get(name) or ""
        return cast(HistoryRow, row)

    def recorded_signals(self, since: datetime | None = None, until: datetime | None = None) -> list[SignalRow]:
        """The signals received in a period (both ends included), in the order they arrived, with
        their facts: one query across the IncidentLog's signal rows (`sig|...`) and one across the
        Signals table the earlier layout wrote, each filtered by time in the service. Both scan
        every partition, by choice: a signal row is keyed by its incident so that it rides in the
        decision's one transaction, and an index by time would cost each signal a request
        (docs/performance.md, "What-if on Table Storage")."""
        clauses, parameters = [], {}
        if since is not None:
            clauses.append("received ge @since")
            parameters["since"] = keys.stamp(since)
        if until is not None:
            clauses.append("received le @until")
            parameters["until"] = keys.stamp(until)
        logged = ["RowKey ge @sig", "RowKey lt @sig_end", *clauses]
        with sdk_errors("reading the signals"):
            entities = list(self._table("log").query_entities(
                " and ".join(logged), parameters={**parameters, "sig": SIGNAL_ROW, "sig_end": "sig}"}))
            earlier = self._table("signals")
            entities += earlier.query_entities(" and ".join(clauses), parameters=parameters) if clauses \
                else earlier.list_entities()
        entities.sort(key=lambda e: (e["received"], e["id"]))
        return [signal_row(entity) for entity in entities]

    def rejections(self) -> list[Mapping[str, Any]]:
        with sdk_errors("reading the rejections"):
            entities = sorted(self._table("rejections").list_entities(), key=lambda e: e["RowKey"])
        return [{**{name: e.get(name) or "" for name in REJECTION_FIELDS}, "id": int(e["id"])} for e in entities]

    def close(self) -> None:
        """Store the storm counters this worker holds; close the clients; safe to call twice."""
        if self.service is not None:
            self._store_counters()
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            if self.service is not None:
                self.service.close()
            self.service = None

    # -- plumbing ------------------------------------------------------------------------------

    def _table(self, role: str):
        """The table client for a role, the table created on first use in this process."""
        client = self._clients.get(role)
        if client is not None:
            return client
        with self._clients_lock:
            if role not in self._clients:
                with sdk_errors(f"creating the table {self.tables[role]}"):
                    self._clients[role] = self.service.create_table_if_not_exists(self.tables[role])
            return self._clients[role]

    def _get(self, table: Any, partition: str, row: str) -> TableEntity | None:
        try:
            return table.get_entity(partition, row)
        except self._missing:
            return None

    def _insert(self, table: Any, entity: Mapping[str, Any]) -> bool:
        """The conditional insert: True if this call created the entity, False if it existed."""
        try:
            table.create_entity(entity)
        except self._exists:
            return False
        return True

    def _transaction(self, table: Any, operations: list[tuple[Any, ...]]) -> int | None:
        """One entity-group transaction: None when it committed, else the index of the operation
        that failed by a conditional outcome (409 exists, 412 changed, 404 missing); any other
        failure is raised."""
        try:
            table.submit_transaction(operations)
        except self._transaction_error as exc:
            if exc.status_code in (404, 409, 412):
                return int(exc.index or 0)
            raise
        return None

    def _replace_if_unchanged(self, table: Any, entity: Mapping[str, Any], read: Any) -> bool:
        """Replace the entity only if nobody wrote it since `read` was read (its ETag)."""
        etag = read.metadata["etag"]
        try:
            table.update_entity(dict(entity), mode=self._replace, etag=etag, match_condition=self._if_unchanged)
        except (self._modified, self._missing):
            return False
        return True
