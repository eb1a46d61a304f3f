"""What each path of the pipeline costs on Table Storage, in requests the server receives
(counted by a proxy in front of Azurite: a transaction is one, a retry another). Counts, not
timings: a change that adds a request to the hot path fails here. bench/table_requests.py
reports the same paths with bytes read (docs/performance.md)."""

from __future__ import annotations

import pytest

from bench.table_requests import PATHS, count_paths
from tests.ledger.conftest import fresh_prefix

# path -> (status, most requests): the targets where it set them, else today's cost,
# so a regression shows.
BUDGETS = {
    "new incident, observe": ("noop", 3, None),
    "duplicate delivery": ("duplicate", 1, None),
    "auto remediation with its brakes": ("started", 23, None),
    # Told to Teams and email: the claim settles in a transaction of its own once the notices are
    # recorded (one more), and the outbox pays per destination two reads, its directory row and
    # one transaction, then one write of where the incident was told.
    "new incident, observe, notified": ("noop", 4, 9),
}


@pytest.mark.parametrize("path", list(BUDGETS))
def test_each_path_stays_within_its_requests(azurite, sim, path):
    ((named, requests, kinds),) = count_paths(azurite, sim, fresh_prefix(), {path: PATHS[path]})
    status, most, outbox = BUDGETS[path]
    assert named == f"{path} ({status})"
    assert requests <= most, f"{path}: {requests} Table requests ({dict(kinds)}), at most {most}"
    assert kinds.get("outbox requests") == outbox or (outbox is not None and kinds["outbox requests"] <= outbox), dict(kinds)
