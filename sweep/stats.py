"""What one sweep cost and found: ARM reads by API, resources seen by type, findings by name.

The sweep's cost model is pages, not machines: a list page is one read whatever it holds, and
each scale set costs one instance view plus its instance-list pages. `reads_per_machine` is
the figure the benchmark holds against its target.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

MAX_PROBLEMS = 50  # a broken subscription must not turn the report into a log


@dataclass
class SweepStats:
    reads: Counter = field(default_factory=Counter)  # ARM GETs by API: vm-list, availability-list, ...
    resources: Counter = field(default_factory=Counter)  # in scope, by type: vm, scale-set, scale-set-vm
    findings: Counter = field(default_factory=Counter)  # signals made, by name
    skipped: Counter = field(default_factory=Counter)  # seen and deliberately not turned into a signal, by why
    problems: list[str] = field(default_factory=list)  # reads that failed; the sweep went on without them
    problem_count: int = 0
    largest_page: int = 0  # items in the largest page read: what memory is bounded by
    budget: int = 0  # reads the cost model allows (pages at the known page size + one per GET); 0: unknown
    # Resource Graph (the timer's sweep, sweep/graph_sweeper.py): queries refused for the quota,
    # waits for it to reset (paced or refused) and their seconds, subscriptions swept.
    throttled: int = 0
    throttle_waits: int = 0
    throttle_seconds: float = 0.0
    subscriptions: int = 0

    @property
    def arm_reads(self) -> int:
        return sum(self.reads.values())

    @property
    def pages(self) -> int:
        return sum(n for api, n in self.reads.items() if api.endswith("-list"))

    @property
    def machines(self) -> int:
        return self.resources["vm"] + self.resources["scale-set-vm"]

    @property
    def reads_per_machine(self) -> float:
        return self.arm_reads / self.machines if self.machines else float(self.arm_reads)

    def read(self, api: str, items: int = 0) -> None:
        self.reads[api] += 1
        self.largest_page = max(self.largest_page, items)

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def to_dict(self) -> dict:
        return {
            "arm_reads": self.arm_reads,
            "reads": dict(self.reads),
            "pages": self.pages,
            "largest_page": self.largest_page,
            "budget": self.budget,
            "resources": dict(self.resources),
            "machines": self.machines,
            "reads_per_machine": round(self.reads_per_machine, 5),
            "findings": dict(self.findings),
            "skipped": dict(self.skipped),
            "problems": list(self.problems),
            "problem_count": self.problem_count,
            "subscriptions": self.subscriptions,
            "throttled": self.throttled,
            "throttle_waits": self.throttle_waits,
            "throttle_seconds": round(self.throttle_seconds, 3),
        }
