"""By when Azure will act, and when the impact is expected: read from an annotation's payload.

Azure's degraded-hardware annotations ask for a redeploy "before the specified redeployment
deadline" and give degraded annotations an impact start and end time (azure-monitor-docs
`service-health/resource-health-vm-annotation.md`); its Resource Graph page says the deadline is
"specified in the annotation message". So the deadline is taken from a property when the payload
has one, else from the message text ("... deadline ... <time>"); the impact window from the
properties Azure names impact times with elsewhere (`impactStartTime`, `impactEndTime`,
`impactMitigationTime`). Missing is normal: most annotations carry neither.

The result goes into Signal.details (`redeploy_deadline`, `impact_start`, `impact_end`, ISO 8601):
approvals expire before the deadline (approvals/requests.py reads `redeploy_deadline`), and the
decision carries them as facts for messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from arm import parse_time

DEADLINE_KEYS = ("redeployDeadline", "redeploymentDeadline", "redeployByTime", "deadline")
IMPACT_START_KEYS = ("impactStartTime", "impactStart")
IMPACT_END_KEYS = ("impactEndTime", "impactMitigationTime", "impactEnd")

_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?"
_RFC1123 = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} \w{3} \d{4} \d{2}:\d{2}(?::\d{2})? (?:GMT|UTC|[+-]\d{4})"
# "deadline" then, within a short stretch of words, a time: "redeploy before the deadline of
# 2026-12-10T08:00:00Z", "Redeployment deadline: Thu, 10 Dec 2026 08:00:00 GMT".
_IN_TEXT = re.compile(rf"deadline\b[^.\d]{{0,60}}?({_ISO}|{_RFC1123})", re.IGNORECASE)


def _first(properties: Mapping, keys: tuple[str, ...]) -> datetime | None:
    lowered = {str(k).lower(): v for k, v in properties.items()}
    for key in keys:
        found = parse_time(lowered.get(key.lower()))
        if found is not None:
            return found
    return None


def deadlines(properties: Mapping, *texts: str) -> dict[str, str]:
    """`redeploy_deadline`, `impact_start`, `impact_end` (ISO 8601, UTC) where the payload says them."""
    found: dict[str, datetime | None] = {
        "redeploy_deadline": _first(properties, DEADLINE_KEYS),
        "impact_start": _first(properties, IMPACT_START_KEYS),
        "impact_end": _first(properties, IMPACT_END_KEYS),
    }
    if found["redeploy_deadline"] is None:
        for text in texts:
            match = _IN_TEXT.search(text or "")
            if match and (at := parse_time(match.group(1))) is not None:
                found["redeploy_deadline"] = at
                break
    return {key: at.astimezone(UTC).isoformat() for key, at in found.items() if at is not None}
