"""Counts for docs/reliability.md: with RESPONDER_RELIABILITY_COUNTS=FILE, each test that used the
simulated Azure appends how many requests a fault hit, by fault."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture(autouse=True)
def count_faults(request):
    path = os.environ.get("RESPONDER_RELIABILITY_COUNTS")
    sim = request.getfixturevalue("sim") if path and "sim" in request.fixturenames else None
    yield
    if sim is None:
        return
    from collections import Counter

    hits = Counter(str(r.fault) for r in sim.requests if getattr(r, "fault", None))
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"test": request.node.name, "faults": sum(hits.values()), "by_kind": hits}) + "\n")
