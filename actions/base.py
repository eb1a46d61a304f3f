"""The executor base: what every action shares (resolving ids, tokens, observing recoveries).

A concrete action says which resources it handles, the RBAC actions of its writes and reads,
and fills in `_verify`, `_start`, `_poll_step` and `_recover`; the base turns those into the
public verify / start / poll / recover and keeps the token format in one place.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from arm import ResourceId

from . import scale_set_write
from .errors import AzureCallError, InvalidOperationTokenError, InvalidParameterError, NotApplicableError
from .live_state import READ_OPERATION, parse_time
from .permits import spend
from .results import Operation, OperationStatus, Recovery, Verdict
from .targets import KIND_NAMES, kind_of, target

TOKEN_VERSION = 1
OBSERVE = "observe"  # the step of an operation found by recover(): poll watches the live state


def utcnow() -> datetime:
    return datetime.now(UTC)


class Executor:
    """One remediation. Subclasses set the class attributes and the underscore methods."""

    name: ClassVar[str]
    applies_to: ClassVar[tuple[str, ...]]  # provider types (arm.VM, SCALE_SET, SCALE_SET_VM)
    writes: ClassVar[dict[str, str]]  # provider type -> RBAC action of the write
    extra_writes: ClassVar[tuple[str, ...]] = ()  # further writes (a second step)
    reads: ClassVar[tuple[str, ...]]  # RBAC actions of the reads verify/poll/recover make
    defaults: ClassVar[dict[str, Any]] = {}  # the parameters it reads, with their defaults

    # -- declarations -------------------------------------------------------------------

    @property
    def permissions(self) -> tuple[str, ...]:
        """Every RBAC action this executor needs: its writes, its reads, polling operations."""
        needed = set(self.writes.values()) | set(self.extra_writes) | set(self.reads) | {READ_OPERATION}
        return tuple(sorted(needed))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- the public interface -----------------------------------------------------------

    def verify(self, clients: Any, resource_id: ResourceId | str, params: dict[str, Any] | None = None) -> Verdict:
        """Re-read the live state: does the condition this action answers still hold?

        An action that writes the scale set itself is refused first (MissingRoleError, a
        NotApplicableError) when the deployment did not grant the scale-set write role."""
        ref = self.resolve(resource_id)
        scale_set_write.require(self.name, self.permissions, clients)
        try:
            return self._verify(clients, ref, self.parameters(params))
        except AzureCallError as exc:
            if exc.status == 404:  # deleted since the signal: nothing to act on
                return Verdict(False, f"not found: the {kind_of(ref)} no longer exists ({exc})", {"status": 404})
            raise

    def start(self, clients: Any, resource_id: ResourceId | str, params: dict[str, Any] | None = None, *, permit: object) -> Operation:
        """Send the operation and return at once with a token to store.

        Only with the gate's permit for this action on this resource (actions/permits.py):
        without one, UnpermittedWriteError and nothing is sent."""
        ref = self.resolve(resource_id)
        scale_set_write.require(self.name, self.permissions, clients)
        spend(permit, self.name, ref.id)
        state = self._start(clients, ref, self.parameters(params))
        return Operation(self.name, ref.id, self.encode(state), utcnow())

    def proceed(self, clients: Any, operation: Operation, *, permit: object) -> OperationStatus:
        """The next write of a multi-step operation whose poll said `wants_write`, with the
        gate's permit for it."""
        ref = self.resolve(operation.resource_id)
        spend(permit, self.name, ref.id)
        return self._proceed(clients, ref, self.decode(operation.token))

    def poll(self, clients: Any, operation: Operation) -> OperationStatus:
        """One look at the operation: InProgress, Succeeded, Failed or Canceled."""
        ref = self.resolve(operation.resource_id)
        state = self.decode(operation.token)
        if state.get("step") == OBSERVE:
            return self._observe(clients, ref, state)
        return self._poll_step(clients, ref, state, operation)

    def recover(
        self,
        clients: Any,
        resource_id: ResourceId | str,
        params: dict[str, Any] | None,
        since: datetime,
        intent: dict[str, Any] | None = None,
    ) -> Recovery:
        """After a crash between recording the intent and recording the operation.

        Reads the live state and says whether the operation already happened (done), is under
        way (in-progress, with an Operation that watches the state) or never started; it never
        writes. `since` is when the intent was recorded; `intent` the verdict facts stored
        with it, when the pipeline kept them.
        """
        ref = self.resolve(resource_id)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return self._recover(clients, ref, self.parameters(params), since, intent or {})

    # -- helpers for subclasses ---------------------------------------------------------

    def resolve(self, resource_id: ResourceId | str) -> ResourceId:
        """The id this action acts on; an id parsed already is not parsed again."""
        ref = target(resource_id)
        if ref.provider_type not in self.applies_to:
            raise NotApplicableError(self.name, kind_of(ref), tuple(KIND_NAMES[t] for t in self.applies_to))
        return ref

    def parameters(self, params: dict[str, Any] | None) -> dict[str, Any]:
        merged = dict(self.defaults)
        for key, value in (params or {}).items():
            if value is not None:
                merged[key] = value
        return merged

    def encode(self, state: dict[str, Any]) -> str:
        return json.dumps({"v": TOKEN_VERSION, "action": self.name, **state}, separators=(",", ":"), sort_keys=True)

    def decode(self, token: str) -> dict[str, Any]:
        try:
            state = json.loads(token)
        except (TypeError, ValueError) as exc:
            raise InvalidOperationTokenError(f"{self.name}: operation token is not JSON") from exc
        if not isinstance(state, dict) or state.get("v") != TOKEN_VERSION:
            raise InvalidOperationTokenError(f"{self.name}: unknown operation token version")
        if state.get("action") != self.name:
            raise InvalidOperationTokenError(f"token of {state.get('action')!r} given to {self.name}")
        if state.get("step") != OBSERVE and not isinstance(state.get("lro"), str):
            raise InvalidOperationTokenError(f"{self.name}: operation token without an operation to poll")
        return state

    def observing(self, ref: ResourceId, **state: Any) -> Operation:
        """An Operation that polls the live state (the original token was lost)."""
        return Operation(self.name, ref.id, self.encode({"step": OBSERVE, **state}), utcnow())

    @staticmethod
    def share(params: dict[str, Any], key: str) -> float:
        try:
            value = float(params[key])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidParameterError(f"{key} must be a number between 0 and 1") from exc
        if not 0 < value <= 1:
            raise InvalidParameterError(f"{key} must be above 0 and at most 1, not {value}")
        return value

    @staticmethod
    def now(params: dict[str, Any]) -> datetime:
        now = params.get("now") or utcnow()
        if isinstance(now, str):  # a policy file or a command line gives text
            now = parse_time(now) or now
        if not isinstance(now, datetime):
            raise InvalidParameterError(f"now must be a datetime or an ISO 8601 time, not {now!r}")
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    # -- to fill in ---------------------------------------------------------------------

    def _verify(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> Verdict:
        raise NotImplementedError

    def _start(self, clients: Any, ref: ResourceId, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _poll_step(self, clients: Any, ref: ResourceId, state: dict[str, Any], op: Operation) -> OperationStatus:
        raise NotImplementedError

    def _observe(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        raise NotImplementedError

    def _proceed(self, clients: Any, ref: ResourceId, state: dict[str, Any]) -> OperationStatus:
        raise NotImplementedError(f"{self.name} has no second write")

    def _recover(
        self, clients: Any, ref: ResourceId, params: dict[str, Any], since: datetime, intent: dict[str, Any]
    ) -> Recovery:
        raise NotImplementedError
