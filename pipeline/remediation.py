"""Acting on a decision: through the gate, record the intent, start the ARM operation, record
it; and the tick that follows operations to their end.

Every road to a write passes the gate (pipeline/gate.py) at the moment of the write: a fresh
signal (`carry_out`), an approval or a wave's turn (`act`), the tick's deferred and recovered
operations and an operation's second write (`_advance`). The executor refuses to write without
the gate's permit. The intent is written before the call and the operation after it, so a
crash in between is recovered by reading the state (`recover`) and passing the gate again,
never by a second blind write. No step waits for Azure: the tick moves long operations on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from actions.errors import InvalidParameterError, InvalidResourceIdError, NotApplicableError, UnknownActionError
from arm import ResourceId
from rules import Decision, Signal
from rules.ports import IncidentRef, OperationStore
from telemetry.logs import bound, log

from .gate import (
    APPROVAL,
    CONTINUATION,
    DEFERRED,
    GATE_KEY,
    RECOVERED,
    Clearance,
    Gate,
    WriteRequest,
    platform_owner_of,
    request_for,
)
from .ports import TickEnd, WaveEnrolment
from .safety import subscription_of

if TYPE_CHECKING:  # types only: actions/ is a lower floor, safety a sibling
    from actions.base import Executor
    from actions.registry import Registry
    from actions.resource_info import ResourceInfo
    from actions.results import Operation, OperationStatus

    from .safety import Safety

# ARM answers after which a write may be tried again later (after reading the state first).
TRANSIENT_STATUSES = (None, 408, 429, 500, 502, 503, 504)
MAX_ATTEMPTS = 5
FINAL = {"Succeeded": "succeeded", "Failed": "failed", "Canceled": "failed"}
# Errors that say the action cannot apply here: not acting, with the reason; nothing to wait for.
NOT_ACTING = (UnknownActionError, NotApplicableError, InvalidParameterError, InvalidResourceIdError)


class Remediation:
    """The Remediator the pipeline calls; `connect(subscription)` gives actions.AzureClients."""

    def __init__(self, ledger: OperationStore, connect: Callable[[str], Any], clock: Callable[[], datetime],
                 registry: Registry | None = None, safety: Safety | None = None,
                 owner_of: Callable[[ResourceInfo, ResourceId | str], str | None] | None = None, ceiling: str | None = None,
                 approvals_configured: bool = True) -> None:
        from actions import registry as default_registry  # light: executors import the SDK on first use
        from actions.resource_info import read_resource

        from .batch_reads import BatchReads

        if safety is None:
            raise TypeError("Remediation needs the safety (pipeline.safety.Safety): every write passes its brakes")
        self.ledger = ledger
        self.connect = connect  # subscription -> actions.AzureClients (SDK clients: Any)
        self.clock = clock
        self.registry: Registry = registry or default_registry
        self.safety = safety  # pipeline.safety.Safety: pause, scope, the brakes and the caps
        self.waves: WaveEnrolment | None = None  # waves.Waves: perform-maintenance in auto mode joins its scope's wave
        # The gate's reads of a resource, kept until the pipeline ends the batch (a listener).
        self.reads = BatchReads(read_resource)
        self.gate = Gate(safety, self.registry, self.reads, clock, owner_of=owner_of or platform_owner_of(safety.policy),
                         ceiling=ceiling, temp_disk_tags=safety.policy.temp_disk_tags,
                         approvals_configured=approvals_configured)

    def warm_up(self, subscriptions: Iterable[str] = ()) -> threading.Thread:
        """Start, in the background, what a worker's first action would otherwise wait for: the
        SDKs' imports, the HTTP session, the clients of the subscriptions in scope, a token
        (0.3 to 0.5 s on a small worker, the p99 of the storm's remediation latency). Nothing is
        sent to ARM. A failure here is only logged: the first action meets and reports it."""
        wanted = list(subscriptions) or [""]  # "": the worker's clients, no subscription's in particular

        def warm() -> None:
            for subscription in wanted:
                try:
                    clients = self.connect(subscription)
                    if hasattr(clients, "warm"):
                        clients.warm(subscription or None)
                except Exception as exc:  # noqa: BLE001 - warming is an optimisation, never an error
                    log("warm-up failed", level=logging.INFO, error=f"{type(exc).__name__}: {exc}")

        thread = threading.Thread(target=warm, name="remediation-warm-up", daemon=True)
        thread.start()
        return thread

    # -- on a decision ------------------------------------------------------------------------

    def carry_out(self, signal: Signal, decision: Decision, incident: IncidentRef, signal_id: int | None = None,
                  received: datetime | None = None, category: str = "") -> Decision:
        """A fresh signal's road to a write: through the gate, then enrolled in a wave
        (maintenance), started (auto, cleared), or left planned / awaiting approval."""
        from actions.errors import ActionError

        request = request_for(signal, decision, incident.id, signal_id, received or self.clock(), category)
        waves = self.waves if decision.action == "perform-maintenance" else None
        waves_maintenance = waves is not None
        if waves is not None:
            request = replace(request, params={**request.params, **waves.policy.action_params})
        try:
            clients = self.connect(request.subscription)
            clearance = self.gate.clear(request, clients, issue=not waves_maintenance)
        except NOT_ACTING as exc:
            return decision.but(status="skipped", reason=f"not acting: {exc}",
                                reading={"action": decision.action, "not_acting": f"not acting: {exc}"})
        except ActionError as exc:
            if getattr(exc, "status", None) == 404:  # ARM says it does not exist: nothing to wait for
                reason = f"not acting: ARM knows no such resource ({exc})"
                return decision.but(status="skipped", reason=reason, reading={"action": decision.action, "not_acting": reason})
            decision = decision.but(reading={"action": decision.action, "read_failed": str(exc)})
            if decision.mode != "auto":
                return decision.but(reason=f"{decision.reason} (the live state could not be read: {exc})")
            # Deferred: the tick passes the gate again, with the state read then.
            self.ledger.record_intent(incident.id, signal_id, decision.action, signal.resource_id, decision.mode,
                                      request.stored_params(), {}, self.clock(), state="verifying")
            return decision.but(reason=f"{decision.reason}; the live state could not be read ({exc}): the next tick verifies again")
        decision = decision.but(mode=clearance.mode, brakes=clearance.brakes,
                                facts={**decision.facts, **clearance.facts}, reading=clearance.reading)
        if clearance.status == "skipped":
            return decision.but(status="skipped", reason=clearance.reason)
        verified = f"{decision.reason}; {clearance.reason}"
        if clearance.status in ("planned", "awaiting-approval"):
            return decision.but(status=clearance.status, reason=verified,
                                params={**decision.params, GATE_KEY: request.stored_params()[GATE_KEY]})
        if waves is not None:
            # One update domain at a time: the wave passes the gate again when its turn comes.
            status, reason = waves.enroll(incident_id=incident.id, signal_id=signal_id, resource_id=signal.resource_id,
                                               mode=clearance.mode, params=request.stored_params(),
                                               facts=dict(clearance.facts))
            return decision.but(status=status, reason=f"{verified}; {reason}", reading={**clearance.reading, "wave": status})
        status, message = self._record_and_start(request, clearance)
        return decision.but(status=status, reason=f"{verified}; {message}", reading={**clearance.reading, "start": status})

    def act(self, *, incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
            params: Mapping[str, Any], road: str = APPROVAL, approved_by: str | None = None) -> tuple[str, str, dict[str, Any]]:
        """A write whose moment comes later than its signal (an approval given, a wave's turn):
        through the gate now, with the live state read now. Returns (status, reason, facts);
        status is started, failed or skipped."""
        from actions.errors import ActionError

        request = WriteRequest.from_stored(road, action=action, resource_id=resource_id, incident_id=incident_id,
                                           signal_id=signal_id, mode=mode, params=params, approved_by=approved_by)
        try:
            clearance = self.gate.clear(request, self.connect(request.subscription))
        except NOT_ACTING as exc:
            return "skipped", f"not acting: {exc}", {}
        except ActionError as exc:
            return "skipped", f"not acting: the live state could not be verified ({exc})", {}
        if not clearance.acts:
            return "skipped", self._not_acting(clearance), dict(clearance.facts)
        status, message = self._record_and_start(request, clearance)
        return status, f"{clearance.reason}; {message}", dict(clearance.facts)

    def _record_and_start(self, request: WriteRequest, clearance: Clearance) -> tuple[str, str]:
        operation_id = self.ledger.record_intent(request.incident_id, request.signal_id, request.action,
                                                 request.resource_id, clearance.mode, request.stored_params(),
                                                 dict(clearance.facts), self.clock())
        state, message = self._start(operation_id, request, clearance)
        return {"running": "started", "intent": "started", "failed": "failed", "skipped": "skipped"}[state], message

    # -- the tick -----------------------------------------------------------------------------

    def tick(self) -> list[TickEnd]:
        """One pass over every open operation; returns those that reached an end."""
        finished: list[TickEnd] = []
        for operation in self.ledger.open_operations():
            with bound(incident=operation["incident_id"], resource_id=operation["resource_id"], action=operation["action"]):
                end = self._advance(operation)
            if end is not None:
                finished.append(TickEnd(incident_id=operation["incident_id"], signal_id=operation["signal_id"],
                                        resource_id=operation["resource_id"], action=operation["action"],
                                        mode=operation["mode"], state=end[0], message=end[1]))
        if self.waves is not None:  # after the operations moved: a wave reads their ends
            finished += [ended.as_tick_end() for ended in self.waves.advance()]
        return finished

    def _advance(self, operation: Mapping[str, Any]) -> tuple[str, str] | None:
        from actions import Operation
        from actions.errors import ActionError

        op_id, resource_id, state = operation["id"], operation["resource_id"], operation["state"]
        try:
            executor = self.registry.get(operation["action"])
            clients = self.connect(subscription_of(resource_id))  # the tick's trip parses the stored id here
            if state == "verifying":  # deferred: the state could not be read when it was decided
                clearance = self.gate.clear(self._request(DEFERRED, operation), clients)
                if not clearance.acts:
                    return self._finish(op_id, "skipped", self._not_acting(clearance))
                if not self.ledger.update_operation(op_id, self.clock(), state="intent", facts=dict(clearance.facts),
                                                    expect_state="verifying"):
                    self.gate.unused(clearance)
                    return None  # another worker moved it on first
                new_state, message = self._start(op_id, self._request(DEFERRED, operation), clearance)
                return (new_state, message) if new_state in ("failed", "skipped") else None
            if state == "intent":
                since = datetime.fromisoformat(operation["created_at"])
                recovery = executor.recover(clients, resource_id, self._action_params(operation), since,
                                            operation["facts"])
                if recovery.state == "done":
                    return self._finish(op_id, "succeeded", f"found done in the live state: {recovery.reason}")
                if recovery.state == "in-progress":
                    in_progress = cast("Operation", recovery.operation)  # in progress: recover() says which operation
                    self.ledger.update_operation(op_id, self.clock(), state="running", token=in_progress.token,
                                                 message=recovery.reason, expect_state="intent")
                    return None
                # Not started: the worker died before the write. The gate verifies again (the
                # condition may have gone, a pause or a scope change may have come) before the
                # one write; its slots and attempt are the ones the intent already took.
                clearance = self.gate.clear(self._request(RECOVERED, operation), clients)
                if not clearance.acts:
                    return self._finish(op_id, "skipped", self._not_acting(clearance))
                new_state, message = self._start(op_id, self._request(RECOVERED, operation), clearance)
                return (new_state, message) if new_state in ("failed", "skipped") else None
            current = Operation(operation["action"], resource_id, operation["token"],
                                datetime.fromisoformat(operation["created_at"]))
            status = executor.poll(clients, current)
            if status.wants_write:  # the operation's next step is a write of its own
                return self._proceed(operation, executor, clients, current, status)
            if status.operation is not None:
                self.ledger.update_operation(op_id, self.clock(), token=status.operation.token, message=status.message)
            if status.finished:
                return self._finish(op_id, FINAL[status.state], status.message)
            return None
        except ActionError as exc:
            if getattr(exc, "status", None) == 404 and operation["state"] == "verifying":
                return self._finish(op_id, "skipped", f"not acting: ARM knows no such resource ({exc})")
            if isinstance(exc, NOT_ACTING) and operation["state"] in ("verifying", "intent"):
                return self._finish(op_id, "skipped", f"not acting: {exc}")
            attempts = int(operation.get("attempts") or 0) + 1
            if attempts >= MAX_ATTEMPTS:
                return self._finish(op_id, "failed", f"gave up after {attempts} attempts: {exc}")
            self.ledger.update_operation(op_id, self.clock(), message=str(exc), attempt=True)
            log("operation retried", attempts=attempts, reason=str(exc))
            return None

    def _proceed(self, operation: Mapping[str, Any], executor: Executor, clients: Any, current: Operation,
                 status: OperationStatus) -> tuple[str, str] | None:
        """The next write of an operation already under way (a scale set's capacity restored):
        the gate is passed again. Paused, it waits for the next tick; refused otherwise (out of
        scope now, left alone, its tag off), it ends failed: a person finishes it."""
        op_id = operation["id"]
        clearance = self.gate.clear(self._request(CONTINUATION, operation), clients)
        if not clearance.acts:
            if any(brake.startswith("pause:") for brake in clearance.brakes):
                self.ledger.update_operation(op_id, self.clock(), message=f"{status.message}; held: {clearance.reason}")
                return None
            return self._finish(op_id, "failed", f"{status.message}; not continued: {clearance.reason}")
        after = executor.proceed(clients, current, permit=clearance.permit)
        if after.operation is not None:
            self.ledger.update_operation(op_id, self.clock(), token=after.operation.token, message=after.message)
        if after.finished:
            return self._finish(op_id, FINAL[after.state], after.message)
        return None

    # -- shared -------------------------------------------------------------------------------

    def _request(self, road: str, operation: Mapping[str, Any]) -> WriteRequest:
        approved = "an earlier approval" if operation["mode"] == "approve" or road == RECOVERED else None
        return WriteRequest.from_stored(road, action=operation["action"], resource_id=operation["resource_id"],
                                        incident_id=operation["incident_id"], signal_id=operation.get("signal_id"),
                                        mode=operation["mode"], params=operation["params"], approved_by=approved,
                                        facts=operation.get("facts") or {})

    @staticmethod
    def _action_params(operation: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (operation["params"] or {}).items() if k != GATE_KEY}

    @staticmethod
    def _not_acting(clearance: Clearance) -> str:
        """Why a later road did not write: the gate's refusal, or a mode in force that does not
        act now (observe; approve without an approval)."""
        if clearance.status == "skipped":
            return clearance.reason
        if clearance.status == "awaiting-approval":
            return f"not acting: it needs a person's approval now; {clearance.reason}"
        return f"not acting: the mode in force is {clearance.mode}; {clearance.reason}"

    def _start(self, op_id: int, request: WriteRequest, clearance: Clearance) -> tuple[str, str]:
        """The write itself, with the gate's permit."""
        from actions.errors import ActionError, AzureCallError, ConditionGoneError, OutcomeUnknownError

        executor = self.registry.get(request.action)
        clients = self.connect(request.subscription)
        params = {**{k: v for k, v in request.params.items() if k != GATE_KEY}, "now": self.clock()}
        try:
            try:
                operation = executor.start(clients, request.target, params, permit=clearance.permit)
            finally:  # a permit a refused start did not spend is void, never left to be spent later
                self.gate.unused(clearance)
        except ConditionGoneError as exc:
            self._finish(op_id, "skipped", f"nothing left to do: {exc}")
            return "skipped", f"nothing left to do: {exc}"
        except OutcomeUnknownError as exc:
            self.ledger.update_operation(op_id, self.clock(), message=str(exc), attempt=True)
            return "intent", f"the answer to {executor.name} was lost ({exc}); the next tick reads the live state"
        except AzureCallError as exc:
            if exc.status in TRANSIENT_STATUSES:
                self.ledger.update_operation(op_id, self.clock(), message=str(exc), attempt=True)
                return "intent", f"Azure did not take {executor.name} now ({exc}); the next tick reads the state and tries again"
            self._finish(op_id, "failed", f"Azure refused {executor.name}: {exc}")
            return "failed", f"Azure refused {executor.name}: {exc}"
        except ActionError as exc:
            self._finish(op_id, "failed", str(exc))
            return "failed", str(exc)
        self.ledger.update_operation(op_id, self.clock(), state="running", token=operation.token, message="started",
                                     expect_state="intent")
        log("operation started", action=executor.name)
        return "running", f"{executor.name} started"

    def _finish(self, op_id: int, state: str, message: str) -> tuple[str, str]:
        self.ledger.update_operation(op_id, self.clock(), state=state, message=message)
        if self.safety is not None:
            ended = self.ledger.operation(op_id)
            if ended is not None:
                self.safety.release(ended["resource_id"], f"{ended['incident_id']}:{ended['action']}",
                                    (ended.get("facts") or {}).get("scale_set_id"))
        log("operation ended", state=state, reason=message)
        return state, message
