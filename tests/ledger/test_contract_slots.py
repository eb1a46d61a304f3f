"""Slots, the caps' race-free counters, on both backends: at most `capacity` holders at once,
a holder claiming again keeps its one slot, release frees it, an expired slot is taken over."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_at_most_capacity_holders(backend):
    assert [backend.claim_slot("cap:a", 2, f"h{n}", T0, HOUR) for n in range(4)] == [True, True, False, False]
    assert backend.claim_slot("cap:b", 2, "h3", T0, HOUR)  # scopes are separate


def test_claiming_again_keeps_one_slot(backend):
    assert backend.claim_slot("cap:a", 1, "h1", T0, HOUR)
    assert backend.claim_slot("cap:a", 1, "h1", T0 + timedelta(minutes=5), HOUR)
    assert not backend.claim_slot("cap:a", 1, "h2", T0, HOUR)


def test_release_frees_the_slot(backend):
    backend.claim_slot("cap:a", 1, "h1", T0, HOUR)
    backend.release_slot("cap:a", "h1")
    assert backend.claim_slot("cap:a", 1, "h2", T0, HOUR)


def test_an_expired_slot_is_taken_over(backend):
    backend.claim_slot("cap:a", 1, "dead-worker", T0, HOUR)
    assert not backend.claim_slot("cap:a", 1, "h2", T0 + timedelta(minutes=59), HOUR)
    assert backend.claim_slot("cap:a", 1, "h2", T0 + timedelta(minutes=61), HOUR)


def test_racing_threads_never_exceed_the_capacity(backend):
    won: list[str] = []
    start = threading.Barrier(8)

    def claim(name: str) -> None:
        start.wait()
        if backend.claim_slot("cap:race", 3, name, T0, HOUR):
            won.append(name)

    threads = [threading.Thread(target=claim, args=(f"h{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 3
