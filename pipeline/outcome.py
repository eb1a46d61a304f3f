"""What happened to one signal (or one rejected input): the line a person or a script reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    input: str
    event_id: str
    source: str
    kind: str
    resource_id: str
    name: str
    category: str
    action: str
    mode: str
    status: str
    reason: str
    incident_id: str = ""
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
