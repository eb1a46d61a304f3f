"""What the brakes read of a resource (tags, region, capacity), kept for one batch only.

A delivery can carry several signals for one resource (Event Grid batches events; a tick
advances many operations of one scale set); each would read the same VM or scale set again
within milliseconds. The pipeline ends every delivery and every tick with `end_batch`, which
calls `batch_done` on its listeners: that is where the kept reads are dropped, so no decision
ever rests on tags or a capacity read for an earlier delivery. Verification never uses this:
the live state is read again right before any write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actions.resource_info import ResourceInfo

from arm import ResourceId, resource_key

# A host that never ends a batch (a caller driving Remediation without a Pipeline) still does
# not keep a read longer than this.
LONGEST = 5.0  # seconds


class BatchReads:
    """A pipeline listener that hears no steps: it only holds reads until the batch is done."""

    def __init__(self, read: Callable[[Any, ResourceId | str], ResourceInfo], longest: float = LONGEST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read = read  # actions.resource_info.read_resource: (clients, resource_id) -> ResourceInfo
        self.longest = longest
        self.clock = clock
        self._kept: dict[str, tuple[float, ResourceInfo]] = {}
        self._lock = threading.Lock()

    def info(self, clients: Any, resource_id: ResourceId | str) -> ResourceInfo:
        """The resource's info, read at most once per batch. A read that fails is not kept."""
        key = resource_key(resource_id)
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] <= self.longest:
            return kept[1]
        info = self.read(clients, resource_id)
        with self._lock:
            self._kept[key] = (now, info)
        return info

    def __call__(self, step: object) -> None:
        """A listener's signature; the steps themselves say nothing about resources' tags."""

    def batch_done(self) -> None:
        with self._lock:
            self._kept.clear()
