"""Failures scripted by a test for the simulated Teams webhook and Graph mailbox: each is used
up in order, one request at a time, `times` requests each."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Failure:
    kind: str
    times: int
    retry_after: float | None
    text: str | None = None


class ScriptedFailures:
    def __init__(self, service: str, kinds: tuple[str, ...]) -> None:
        self.service = service
        self.kinds = kinds
        self._queue: list[Failure] = []
        self._lock = threading.Lock()

    def add(self, kind: str, times: int, retry_after: float | None, text: str | None = None) -> None:
        if kind not in self.kinds:
            raise ValueError(f"unknown {self.service} failure {kind!r}; expected one of {self.kinds}")
        with self._lock:
            self._queue.append(Failure(kind, times, retry_after, text))

    def take(self) -> Failure | None:
        """The failure the next request meets, if any is left."""
        with self._lock:
            for failure in self._queue:
                if failure.times > 0:
                    failure.times -= 1
                    return failure
        return None
