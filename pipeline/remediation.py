"""Acting on a decision: verify the live state, record the intent, start the ARM operation,
record it; and the tick that follows operations to their end.

The event is a hint, the live state is the truth: nothing is started unless `verify` finds
the condition still there. The intent is written before the call and the operation after it,
so a crash in between is recovered by reading the state (`recover`), never by a second blind
write. No step waits for Azure: the tick moves long operations on.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from rules import Decision, Signal
from rules.signals import subscription_of
from rules.ports import IncidentRef

from .logs import bound, log

# ARM answers after which a write may be tried again later (after reading the state first).
TRANSIENT_STATUSES = (None, 408, 429, 500, 502, 503, 504)
MAX_ATTEMPTS = 5
FINAL = {"Succeeded": "succeeded", "Failed": "failed", "Canceled": "failed"}
CAPS = ("in-flight cap", "hourly write cap")  # refusals of the write's reservation


class Remediation:
    """The Remediator the pipeline calls; `connect(subscription)` gives actions.AzureClients."""

    def __init__(self, ledger, connect: Callable[[str], Any], clock: Callable[[], datetime], registry=None, safety=None):
        from actions import registry as default_registry  # light: executors import the SDK on first use
        from actions.resource_info import read_resource

        from .batch_reads import BatchReads

        self.ledger = ledger
        self.connect = connect
        self.clock = clock
        self.registry = registry or default_registry
        self.safety = safety  # pipeline.safety.Safety: the brakes, applied once the resource is read
        self.waves = None  # waves.Waves: perform-maintenance in auto mode joins its scope's wave
        # The brakes' reads of a resource, kept until the pipeline ends the batch (a listener).
        self.reads = BatchReads(read_resource)

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

    def _guard(self, clients: Any, resource_id: str, decision: Decision) -> Decision:
        """The brakes: first those the ledger alone can answer, so a signal that cannot lead to
        an action (a storm breaker open for its scope, a cooldown) costs no ARM read; then, with
        the resource read (tags, region, capacity), all of them. Raises ActionError when the
        resource cannot be read: nothing is done on a resource that could not be looked at."""
        if self.safety is None:
            return decision
        decision = self.safety.brake_before_read(resource_id, decision)
        if decision.status == "skipped":
            return decision
        return self.safety.brake(resource_id, decision, self.reads.info(clients, resource_id))

    # -- on a decision ------------------------------------------------------------------------

    def carry_out(self, signal: Signal, decision: Decision, incident: IncidentRef, signal_id: int | None = None) -> Decision:
        from actions.errors import ActionError, InvalidParameterError, InvalidResourceIdError, NotApplicableError, UnknownActionError

        params = self._params(signal, decision)
        if decision.action == "perform-maintenance" and self.waves is not None:
            params.update(self.waves.policy.action_params)
        try:
            executor = self.registry.get(decision.action)
            clients = self.connect(signal.subscription_id)
            executor.resolve(signal.resource_id)  # an action that does not apply is refused before any read
            decision = self._guard(clients, signal.resource_id, decision)
            if decision.status == "skipped":
                return decision
            verdict = executor.verify(clients, signal.resource_id, params)
        except (UnknownActionError, NotApplicableError, InvalidParameterError, InvalidResourceIdError) as exc:
            return decision.but(status="skipped", reason=f"not acting: {exc}")
        except ActionError as exc:
            if getattr(exc, "status", None) == 404:  # ARM says it does not exist: nothing to wait for
                return decision.but(status="skipped", reason=f"not acting: ARM knows no such resource ({exc})")
            if decision.mode != "auto":
                return decision.but(reason=f"{decision.reason} (the live state could not be read: {exc})")
            self.ledger.record_intent(incident.id, signal_id, decision.action, signal.resource_id, decision.mode,
                                      self._stored(params), {}, self.clock(), state="verifying")
            return decision.but(reason=f"{decision.reason}; the live state could not be read ({exc}): the next tick verifies again")
        if not verdict.holds:
            return decision.but(status="skipped", reason=f"verified against the live state: {verdict.reason}")
        verified = f"{decision.reason}; verified: {verdict.reason}"
        if decision.mode == "observe":
            return decision.but(reason=verified)
        if decision.mode == "approve":
            return decision.but(status="awaiting-approval", reason=verified)
        if decision.action == "perform-maintenance" and self.waves is not None:
            # One update domain at a time: the wave starts it when its turn comes (the tick).
            status, reason = self.waves.enroll(incident_id=incident.id, signal_id=signal_id, resource_id=signal.resource_id,
                                               mode=decision.mode, params=self._stored(params),
                                               facts={**decision.facts, **verdict.facts})
            return decision.but(status=status, reason=f"{verified}; {reason}")
        facts = {**verdict.facts, "capacity": decision.facts.get("capacity")}
        status, message = self._record_and_start(incident.id, signal_id, executor, signal.resource_id, decision.mode, params, facts)
        if status == "skipped" and message.split(":", 1)[0] in CAPS:
            return decision.but(status="skipped", reason=message, brakes=(*decision.brakes, message))
        return decision.but(status=status, reason=f"{verified}; {message}")

    def act(self, *, incident_id: str, signal_id: int | None, action: str, resource_id: str, mode: str,
            params: Mapping[str, Any]) -> tuple[str, str, dict]:
        """Verify now and, when the condition still holds, record the intent and start.

        For an action whose moment comes later than its signal: an approval given, a
        maintenance wave's turn. Returns (status, reason, verified facts); status is started,
        failed or skipped.
        """
        from actions.errors import ActionError

        params = {**params, "now": self.clock()}
        try:
            executor = self.registry.get(action)
            clients = self.connect(subscription_of(resource_id))
            held = self._guard(clients, resource_id, Decision(action=action, mode=mode, status="planned", reason=""))
            if held.status == "skipped":
                return "skipped", held.reason, dict(held.facts)
            if held.mode not in ("approve", "auto"):
                return "skipped", f"not acting: {held.brakes[-1] if held.brakes else 'the mode is ' + held.mode}", dict(held.facts)
            verdict = executor.verify(clients, resource_id, params)
        except ActionError as exc:
            return "skipped", f"not acting: the live state could not be verified ({exc})", {}
        if not verdict.holds:
            return "skipped", f"verified against the live state: {verdict.reason}", verdict.facts
        facts = {**verdict.facts, "capacity": held.facts.get("capacity")}
        status, message = self._record_and_start(incident_id, signal_id, executor, resource_id, mode, params, facts)
        if status == "skipped" and message.split(":", 1)[0] in CAPS:
            return status, message, facts
        return status, f"verified: {verdict.reason}; {message}", verdict.facts

    def _record_and_start(self, incident_id, signal_id, executor, resource_id, mode, params, facts) -> tuple[str, str]:
        if self.safety is not None:
            refusal = self.safety.reserve(resource_id, f"{incident_id}:{executor.name}", facts.get("capacity"))
            if refusal:
                return "skipped", refusal
        operation_id = self.ledger.record_intent(incident_id, signal_id, executor.name, resource_id, mode,
                                                 self._stored(params), facts, self.clock())
        state, message = self._start(operation_id, executor, resource_id, params)
        return {"running": "started", "intent": "started", "failed": "failed", "skipped": "skipped"}[state], message

    # -- the tick -----------------------------------------------------------------------------

    def tick(self) -> list[Mapping[str, Any]]:
        """One pass over every open operation; returns those that reached an end."""
        finished = []
        for operation in self.ledger.open_operations():
            with bound(incident=operation["incident_id"], resource_id=operation["resource_id"], action=operation["action"]):
                end = self._advance(operation)
            if end is not None:
                finished.append({**operation, "state": end[0], "message": end[1]})
        if self.waves is not None:  # after the operations moved: a wave reads their ends
            finished += [ended.as_tick_end() for ended in self.waves.advance()]
        return finished

    def _advance(self, operation: Mapping[str, Any]) -> tuple[str, str] | None:
        from actions import Operation
        from actions.errors import ActionError

        op_id, resource_id, state = operation["id"], operation["resource_id"], operation["state"]
        params = {**operation["params"], "now": self.clock()}
        try:
            executor = self.registry.get(operation["action"])
            clients = self.connect(subscription_of(resource_id))
            if state == "verifying":
                held = self._guard(clients, resource_id, Decision(action=operation["action"], mode=operation["mode"],
                                                                   status="planned", reason=""))
                if held.status == "skipped":
                    return self._finish(op_id, "skipped", held.reason)
                verdict = executor.verify(clients, resource_id, params)
                if not verdict.holds:
                    return self._finish(op_id, "skipped", f"verified against the live state: {verdict.reason}")
                refusal = self._reserve(operation, held.facts.get("capacity"))
                if refusal:
                    return self._finish(op_id, "skipped", refusal)
                if not self.ledger.update_operation(op_id, self.clock(), state="intent", facts=verdict.facts, expect_state="verifying"):
                    return None  # another worker moved it on first
                new_state, message = self._start(op_id, executor, resource_id, params)
                return (new_state, message) if new_state in ("failed", "skipped") else None
            if state == "intent":
                since = datetime.fromisoformat(operation["created_at"])
                recovery = executor.recover(clients, resource_id, params, since, operation["facts"])
                if recovery.state == "done":
                    return self._finish(op_id, "succeeded", f"found done in the live state: {recovery.reason}")
                if recovery.state == "in-progress":
                    self.ledger.update_operation(op_id, self.clock(), state="running", token=recovery.operation.token,
                                                 message=recovery.reason, expect_state="intent")
                    return None
                # Not started: the worker died before the write. The condition may have gone
                # while it was down, so verify again before the one write.
                verdict = executor.verify(clients, resource_id, params)
                if not verdict.holds:
                    return self._finish(op_id, "skipped", f"verified against the live state: {verdict.reason}")
                refusal = self._reserve(operation, operation["facts"].get("capacity"))  # the same claim, kept
                if refusal:
                    return self._finish(op_id, "skipped", refusal)
                new_state, message = self._start(op_id, executor, resource_id, params)
                return (new_state, message) if new_state in ("failed", "skipped") else None
            status = executor.poll(clients, Operation(operation["action"], resource_id, operation["token"],
                                                      datetime.fromisoformat(operation["created_at"])))
            if status.operation is not None:
                self.ledger.update_operation(op_id, self.clock(), token=status.operation.token, message=status.message)
            if status.finished:
                return self._finish(op_id, FINAL[status.state], status.message)
            return None
        except ActionError as exc:
            if getattr(exc, "status", None) == 404 and operation["state"] == "verifying":
                return self._finish(op_id, "skipped", f"not acting: ARM knows no such resource ({exc})")
            attempts = int(operation.get("attempts") or 0) + 1
            if attempts >= MAX_ATTEMPTS:
                return self._finish(op_id, "failed", f"gave up after {attempts} attempts: {exc}")
            self.ledger.update_operation(op_id, self.clock(), message=str(exc), attempt=True)
            log("operation retried", attempts=attempts, reason=str(exc))
            return None

    # -- shared -------------------------------------------------------------------------------

    def _start(self, op_id: int, executor, resource_id: str, params: dict) -> tuple[str, str]:
        from actions.errors import ActionError, AzureCallError, ConditionGoneError, OutcomeUnknownError

        clients = self.connect(subscription_of(resource_id))
        try:
            operation = executor.start(clients, resource_id, params)
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

    def _reserve(self, operation: Mapping[str, Any], capacity: int | None) -> str | None:
        if self.safety is None:
            return None
        return self.safety.reserve(operation["resource_id"], f"{operation['incident_id']}:{operation['action']}", capacity)

    def _finish(self, op_id: int, state: str, message: str) -> tuple[str, str]:
        self.ledger.update_operation(op_id, self.clock(), state=state, message=message)
        if self.safety is not None:
            ended = self.ledger.operation(op_id)
            if ended is not None:
                self.safety.release(ended["resource_id"], f"{ended['incident_id']}:{ended['action']}")
        log("operation ended", state=state, reason=message)
        return state, message

    def _params(self, signal: Signal, decision: Decision) -> dict[str, Any]:
        params = dict(decision.params)
        if signal.kind == "annotation":
            params.setdefault("signal_annotation", signal.name)
        params["now"] = self.clock()
        return params

    @staticmethod
    def _stored(params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k != "now"}
