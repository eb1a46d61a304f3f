"""Faults that tests switch on per route: throttling, server errors, drops, slowness, failed operations.

A fault matches a request by method and a regex searched (case-insensitively, as ARM paths are)
in the path. `times` says how many matching requests it hits before it goes quiet (None: every
one), so a test can fail the first N calls and watch the client recover.

When several faults match one request: every `slow` one delays it; then the oldest answering
fault (`429`, `500`, `503`, `drop`) answers it; only if none did is a `fail-operation` fault
used up, and handed to the route through `request.fault`, so the operation the request starts
ends Failed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

KINDS = ("409", "429", "500", "503", "drop", "slow", "fail-operation")
ANSWERING = ("409", "429", "500", "503", "drop")


@dataclass
class Fault:
    method: str  # "*" or an HTTP method
    path: str  # regex searched in the path
    kind: str
    times: int | None = 1  # None: unlimited
    retry_after: float | None = 1  # seconds, the Retry-After of a 429 / 503 (None: no header)
    delay: float = 2.0  # seconds, for slow
    code: str | None = None  # ARM error code for 5xx / fail-operation
    message: str | None = None
    hits: int = 0  # how many requests it has hit so far
    _pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        self.method = self.method.upper()
        self._pattern = re.compile(self.path, re.IGNORECASE)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.hits)

    @property
    def active(self) -> bool:
        return self.times is None or self.hits < self.times

    def matches(self, method: str, path: str) -> bool:
        return (
            self.active
            and (self.method in ("*", method.upper()))
            and self._pattern.search(path) is not None
        )


class Faults:
    """The fault table of one server; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        method: str = "*",
        path: str = ".*",
        kind: str = "500",
        times: int | None = 1,
        retry_after: float | None = 1,
        delay: float = 2.0,
        code: str | None = None,
        message: str | None = None,
    ) -> Fault:
        fault = Fault(
            method=method,
            path=path,
            kind=kind,
            times=times,
            retry_after=retry_after,
            delay=delay,
            code=code,
            message=message,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __iter__(self):
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, method: str, path: str) -> tuple[list[Fault], Fault | None, Fault | None]:
        """Use up the faults that hit this request: (slow ones, answering one, fail-operation one)."""
        with self._lock:
            matching = [f for f in self._faults if f.matches(method, path)]
            slow = [f for f in matching if f.kind == "slow"]
            for f in slow:
                f.hits += 1
            answering = next((f for f in matching if f.kind in ANSWERING), None)
            failing = None
            if answering is not None:
                answering.hits += 1
            else:
                failing = next((f for f in matching if f.kind == "fail-operation"), None)
                if failing is not None:
                    failing.hits += 1
            return slow, answering, failing
