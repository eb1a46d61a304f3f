"""Long-running ARM operations: started by an action, finished after a delay, polled by the SDK.

An operation holds the change it will make to the fleet (`apply`) and, when a fault says it
must fail, the error it will end with. It finishes when its time comes: a background thread
wakes for the next one due, and every request to the server also finishes whatever is due
first, so a poll never sees an operation running past its time. A delay of 0 finishes it at
once (the first poll reads Succeeded). `finish_all()` ends every pending one now.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .fleet import Fleet, iso, utcnow

STATUSES = ("InProgress", "Succeeded", "Failed", "Canceled")


@dataclass(eq=False)
class Operation:
    id: str
    action: str  # redeploy, restart, ..., update, delete-instances
    resource_id: str
    subscription_id: str
    location: str
    start_time: str
    due: float  # time.monotonic() when it finishes
    apply: Callable[[], Any] | None = None  # the change to make on success (fleet lock held)
    on_fail: Callable[[dict[str, Any]], Any] | None = None  # what a failure leaves behind
    fail_with: dict[str, Any] | None = None  # set: the operation will end Failed with this error
    result: Any = None  # body a Location poll answers once Succeeded (None: 204)
    status: str = "InProgress"
    end_time: str | None = None
    error: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status != "InProgress"

    def as_status(self) -> dict[str, Any]:
        """The Azure-AsyncOperation body."""
        body: dict[str, Any] = {"startTime": self.start_time, "status": self.status, "name": self.id}
        if self.end_time:
            body["endTime"] = self.end_time
        if self.error:
            body["error"] = dict(self.error)
        return body


class Operations:
    """The pending and finished operations of one simulated Azure."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._ops: dict[str, Operation] = {}
        self._busy: dict[str, Operation] = {}  # lower-cased resource id -> its running operation
        self._heap: list[tuple[float, int, Operation]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition(fleet.lock)
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- starting ---------------------------------------------------------------------------

    def start(
        self,
        action: str,
        resource: Any,
        apply: Callable[[], Any] | None,
        *,
        delay: float,
        fail_with: dict[str, Any] | None = None,
        on_fail: Callable[[dict[str, Any]], Any] | None = None,
        result: Any = None,
        busy_ids: list[str] | None = None,
    ) -> Operation:
        with self._cond:
            op = Operation(
                id=str(uuid.uuid4()),
                action=action,
                resource_id=resource.id,
                subscription_id=resource.subscription_id,
                location=resource.location,
                start_time=iso(utcnow()),
                due=time.monotonic() + max(0.0, delay),
                apply=apply,
                on_fail=on_fail,
                fail_with=fail_with,
                result=result,
            )
            self._ops[op.id] = op
            op.details["busy"] = [i.lower() for i in (busy_ids or [resource.id])]
            for key in op.details["busy"]:
                self._busy[key] = op
            if delay <= 0:
                self._finish(op)
            else:
                heapq.heappush(self._heap, (op.due, next(self._seq), op))
                self._cond.notify_all()
            return op

    def busy(self, resource_id: str) -> Operation | None:
        """The operation still running on a resource, if any."""
        with self._cond:
            self.tick()
            return self._busy.get(resource_id.lower())

    # -- finishing --------------------------------------------------------------------------

    def _finish(self, op: Operation, status: str | None = None) -> None:
        if op.done:
            return
        if status == "Canceled":
            op.status = "Canceled"
            op.error = {"code": "OperationCanceled", "message": f"Operation '{op.action}' was canceled."}
            if op.on_fail is not None:  # a canceled operation leaves what a failed one leaves
                op.on_fail(op.error)
            self.fleet.record(_Ref(op.resource_id), f"{op.action}-canceled", operationId=op.id)
        elif op.fail_with is not None:
            op.status = "Failed"
            op.error = dict(op.fail_with)
            if op.on_fail is not None:
                op.on_fail(op.error)
            self.fleet.record(_Ref(op.resource_id), f"{op.action}-failed", operationId=op.id, error=op.error)
        else:
            if op.apply is not None:
                op.result = op.apply() if op.result is None else op.result
            op.status = "Succeeded"
            self.fleet.record(_Ref(op.resource_id), op.action, operationId=op.id)
        op.end_time = iso(utcnow())
        for key in op.details.get("busy", []):
            if self._busy.get(key) is op:
                del self._busy[key]

    def tick(self) -> int:
        """Finish every operation whose time has come; returns how many."""
        n = 0
        with self._cond:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, _, op = heapq.heappop(self._heap)
                if not op.done:
                    self._finish(op)
                    n += 1
        return n

    def finish_all(self) -> int:
        """Finish every pending operation now, whatever its delay."""
        n = 0
        with self._cond:
            while self._heap:
                _, _, op = heapq.heappop(self._heap)
                if not op.done:
                    self._finish(op)
                    n += 1
        return n

    def cancel(self, operation_id: str) -> Operation:
        with self._cond:
            op = self._ops[operation_id]
            self._finish(op, "Canceled")
            return op

    def get(self, operation_id: str) -> Operation | None:
        with self._cond:
            self.tick()
            return self._ops.get(operation_id) or self._ops.get(operation_id.lower())

    @property
    def pending(self) -> list[Operation]:
        with self._cond:
            return [op for op in self._ops.values() if not op.done]

    def __iter__(self):
        with self._cond:
            return iter(list(self._ops.values()))

    # -- the timer thread -------------------------------------------------------------------

    def run_in_background(self) -> None:
        if self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="sim-operations", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        with self._cond:
            while not self._stopping:
                self.tick()
                timeout = max(0.0, self._heap[0][0] - time.monotonic()) if self._heap else None
                self._cond.wait(timeout)


@dataclass
class _Ref:
    """Just enough of a resource for `Fleet.record` once the resource itself may be gone."""

    id: str
