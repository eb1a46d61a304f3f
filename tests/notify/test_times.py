"""What a message says of a time Azure wrote, in each form Azure writes it: notify reads times
with the project's one reader (arm.parse_time), so a time the rest of the app understands is
never dropped from a card."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notify.signal_facts import deadline, facts_of

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "written",
    [
        "2026-12-05T23:00:00Z",
        "2026-12-05T23:00:00.1234567Z",  # ARM's seven fractional digits
        "2026-12-06T00:00:00+01:00",
        "Sat, 05 Dec 2026 23:00:00 GMT",  # a scheduled event's NotBefore (RFC 1123)
        "2026-12-05 23:00 UTC",
    ],
)
def test_a_time_is_shown_in_every_form_azure_writes_it(written):
    assert facts_of("scheduled-event", {"not_before": written}, NOW)[0] == ("Not before", "Sat 5 Dec 23:00 UTC (in 3 h)")
    assert deadline({"redeploy_deadline": written}).replace(microsecond=0) == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize("written", ["  ", "soon", "2026-13-40T00:00:00Z", None, 42])  # "": under way (a fact of its own)
def test_no_time_is_no_fact(written):
    assert facts_of("scheduled-event", {"not_before": written}, NOW) == []
    assert deadline({"redeploy_deadline": written}) is None
