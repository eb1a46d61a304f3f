"""Waves for a person: list them, and close a stopped one so its scope can plan maintenance again.

Only the ledger is needed (no Azure, no remediation), so the command line and the HTTP route
(`python -m responder waves`, `GET /api/waves`, `POST /api/waves/{id}/close`) work from any worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rules.ports import WaveStore

from .errors import WaveNotFoundError, WavesError

LIVE = ("open", "stopped")


def list_waves(ledger: WaveStore, states: Iterable[str] | None = LIVE) -> list[dict[str, Any]]:
    """Each wave (by default the live ones: open or stopped), with its members counted by state."""
    found = []
    for wave in ledger.waves(tuple(states) if states is not None else None):
        members = ledger.wave_members(wave["id"])
        found.append({
            "id": wave["id"], "scope": wave["scope"], "state": wave["state"], "reason": wave["reason"] or "",
            "created_at": str(wave["created_at"]), "updated_at": str(wave["updated_at"]),
            "update_domain": wave["active_group"], "members": dict(sorted(Counter(m["state"] for m in members).items())),
        })
    return found


def close_wave(ledger: WaveStore, wave_id: str, by: str, at: datetime) -> dict[str, Any]:
    """Close a stopped wave: a person looked at why it stopped; the scope's next enrolment opens a
    new wave. WaveNotFoundError for an unknown id; WavesError for a wave that is not stopped."""
    wave = ledger.wave(wave_id)
    if wave is None:
        raise WaveNotFoundError(f"no wave {wave_id}")
    if not ledger.close_wave(wave_id, at, f"closed by {by}"):
        raise WavesError(f"wave {wave_id} is {wave['state']}, not stopped: only a stopped wave is closed "
                         "(an open one goes on by itself; a finished or closed one is over)")
    return next(w for w in list_waves(ledger, None) if w["id"] == wave_id)


def describe_row(wave: dict[str, Any]) -> str:
    members = ", ".join(f"{n} {state}" for state, n in wave["members"].items()) or "no members"
    reason = f"  ({wave['reason']})" if wave["reason"] else ""
    return f"{wave['id']}  {wave['state']:<8} {wave['scope']}  {members}{reason}"
