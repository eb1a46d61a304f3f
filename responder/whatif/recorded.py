"""The live state as it was recorded: what the gate reads and verifies, answered from a decision's
reading instead of Azure (no call is made). Where the reading lacks what a new decision needs (the
resource was never read, or another action was verified), it says so: `NotRecorded`, never a guess.

The real gate (pipeline/gate.py) runs over these: the same order of checks, the same brakes, the
same evidence judged; only the reads and the verdict come from the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any


class NotRecorded(Exception):
    """The decision needs a part of the live state nobody read when the signal was decided."""


class RecordedReadFailure(Exception):
    """When the signal was decided, the live state could not be read (Azure answered with an error)."""


class RecordedNotActing(Exception):
    """When the signal was decided, ARM knew no such resource: nothing to act on."""


class RecordedReads:
    """The gate's reads (pipeline/batch_reads.BatchReads), answered from the reading in force."""

    def __init__(self) -> None:
        self.reading: Mapping[str, Any] = {}

    def info(self, clients: Any, resource_id: Any) -> Any:
        from actions.resource_info import ResourceInfo
        from rules.ownership import Extension

        if self.reading.get("not_acting"):
            raise RecordedNotActing(self.reading["not_acting"])
        if self.reading.get("read_failed"):
            raise RecordedReadFailure(self.reading["read_failed"])
        read = self.reading.get("read")
        if not isinstance(read, Mapping):
            raise NotRecorded("the resource was not read when this signal was decided (a brake or an earlier check "
                              "stopped it first, or the ledger was written before readings were kept)")
        return ResourceInfo(tags=dict(read.get("tags") or {}), location=read.get("location") or "",
                            capacity=read.get("capacity"), scale_set_id=read.get("scale_set_id"),
                            managed_by=read.get("managed_by") or "", group_managed_by=read.get("group_managed_by") or "",
                            group_tags=dict(read.get("group_tags") or {}),
                            extensions=tuple(Extension(**e) for e in read.get("extensions") or ()),
                            priority=read.get("priority"), eviction_policy=read.get("eviction_policy"))

    def clients(self) -> Any:
        """What the gate asks of the clients: whether the scale-set write role was granted."""
        return SimpleNamespace(scale_set_write="missing_role" not in self.reading)


class RecordedExecutor:
    """A real executor's resolve and permissions (pure), with the verdict the reading kept."""

    def __init__(self, real: Any, reads: RecordedReads) -> None:
        self.real = real
        self.reads = reads
        self.name = real.name
        self.permissions = real.permissions

    def resolve(self, resource_id: Any) -> Any:
        return self.real.resolve(resource_id)

    def verify(self, clients: Any, resource_id: Any, params: Mapping[str, Any]) -> Any:
        from actions.results import Verdict

        reading = self.reads.reading
        verified = reading.get("verified")
        if reading.get("action") != self.name or not isinstance(verified, Mapping):
            what = f"{reading['action']} was" if reading.get("action") and isinstance(verified, Mapping) else "nothing was"
            raise NotRecorded(f"whether {self.name} would hold in the live state is not known: {what} verified when "
                              "this signal was decided")
        if verified.get("facts_left_out"):
            raise NotRecorded("the verification's facts were too large to keep with the decision")
        return Verdict(bool(verified.get("holds")), str(verified.get("reason") or ""), dict(verified.get("facts") or {}))


class RecordedRegistry:
    """actions.registry's executors, verifying from the reading in force."""

    def __init__(self, reads: RecordedReads) -> None:
        self.reads = reads

    def get(self, name: str) -> RecordedExecutor:
        from actions import registry

        return RecordedExecutor(registry.get(name), self.reads)
