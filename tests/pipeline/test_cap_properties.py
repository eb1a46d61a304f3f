"""The caps in random interleavings: operations started (and started again, as a retried start
does), ended, and the clock moved, against a real SQLite ledger. After every step what
`Safety.reserve` answered is what a plain count of the slots held says: refused by the first cap
that is full (in flight in the subscription, in flight in the scale set, this clock hour's
writes), naming it, and then holding nothing it did not hold before. The run asserts that each
cap was reached, a retried start took no second slot, and an hour turned with a cap full.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.safety import Safety
from pipeline.settings import Settings
from rules.policy import load_policy
from tests import builders as b
from tests.conftest import Clock
from tests.properties import Branches, examples

SUB = "00000000-0000-0000-0000-00000000d3e0"
SCALE_SET = b.scale_set_id("vmss-web", rg="rg-demo", sub=SUB)
CAPACITY = 40  # 5% of 40: two instances in flight at once
SET_CAP, SUBSCRIPTION_CAP, HOURLY_CAP = 2, 3, 4
# Machines 0-3 are instances of the scale set, 4-7 plain VMs: both caps in one subscription.
TARGETS = [f"{SCALE_SET}/virtualMachines/{n}" for n in range(4)] + [b.vm_id(f"vm-{n}", rg="rg-demo", sub=SUB) for n in range(4)]
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
IN_FLIGHT = timedelta(hours=1)  # how long an in-flight slot outlives an operation that never ended

start = st.tuples(st.just("start"), st.integers(0, len(TARGETS) - 1), st.integers(0, 2))  # target, attempt
end = st.tuples(st.just("end"), st.integers(0, len(TARGETS) - 1))
wait = st.tuples(st.just("wait"), st.integers(1, 40))  # minutes
step = st.one_of(start, start, end, end, wait)  # ends as often as starts: the hour fills before the in-flight caps


class Model:
    """The slots by hand: who holds each cap and until when. An in-flight slot whose operation
    never ended frees itself after an hour (a worker died); a write counts in its clock hour."""

    def __init__(self) -> None:
        self.subscription: dict[str, datetime] = {}
        self.scale_set: dict[str, datetime] = {}
        self.hours: dict[str, dict[str, datetime]] = {}

    def reserve(self, target: int, holder: str, now: datetime) -> str | None:
        writes = self.hours.setdefault(f"{now:%Y-%m-%dT%H}", {})
        scopes = [("subscription", self.subscription, SUBSCRIPTION_CAP, IN_FLIGHT)]
        if target < 4:
            scopes.append(("scale set", self.scale_set, SET_CAP, IN_FLIGHT))
        scopes.append(("hour", writes, HOURLY_CAP, timedelta(hours=2)))
        taken = []
        for name, held, cap, ttl in scopes:
            for other, expires in list(held.items()):
                if expires <= now:
                    del held[other]
            if holder not in held:
                if len(held) >= cap:
                    for slots in taken:  # the in-flight slots of this start are given back
                        slots.pop(holder, None)
                    return name
                held[holder] = now + ttl
            if held is not writes:
                taken.append(held)
        return None

    def release(self, target: int, holder: str) -> None:
        self.subscription.pop(holder, None)
        if target < 4:
            self.scale_set.pop(holder, None)

    def full_hour(self, hour: str) -> bool:
        return len(self.hours.get(hour, {})) >= HOURLY_CAP


REFUSALS = {
    "subscription": f"in-flight cap: {SUBSCRIPTION_CAP} operations already under way in subscription {SUB}",
    "scale set": f"in-flight cap: {SET_CAP} instances of scale set vmss-web already being remediated (cap {SET_CAP}: "
                 f"5% of {CAPACITY}, at least 1)",
    "hour": f"hourly write cap: {HOURLY_CAP} ARM writes in subscription {SUB} this hour (cap {HOURLY_CAP})",
}


def run(steps: list[tuple], seen: Branches) -> None:
    from ledger import SqliteLedger

    ledger, clock, model = SqliteLedger(":memory:"), Clock(START), Model()
    safety = Safety(Settings(subscriptions=(SUB,)), load_policy(), ledger, clock)
    safety.brakes = replace(safety.brakes, in_flight_per_subscription=SUBSCRIPTION_CAP, in_flight_scale_set_share=0.05,
                            hourly_writes_per_subscription=HOURLY_CAP)
    holding: dict[int, str] = {}  # target -> the holder of its operation under way
    attempts: dict[int, int] = {}
    try:
        for number, item in enumerate(steps):
            where = f"step {number} {item} of {steps[:number + 1]}"
            if item[0] == "start":
                _, target, again = item
                retried = target in holding and again == 0  # the same operation's start, retried
                if retried:
                    holder = holding[target]
                else:
                    attempts[target] = attempts.get(target, 0) + 1
                    holder = f"INC-{target}-{attempts[target]}:redeploy"
                expected = model.reserve(target, holder, clock())
                answer = safety.reserve(TARGETS[target], holder, CAPACITY if target < 4 else None)
                if expected is None:
                    assert answer is None, f"{where}: refused {answer!r}"
                    holding.setdefault(target, holder)
                    if retried:
                        seen.reached("a retried start took no second slot")
                    seen.reached("started")
                else:
                    assert answer is not None and answer.startswith(REFUSALS[expected]), f"{where}: {answer!r}"
                    seen.reached(f"refused: {expected} cap full")
            elif item[0] == "end":
                target = item[1]
                if target in holding:
                    holder = holding.pop(target)
                    model.release(target, holder)
                    safety.release(TARGETS[target], holder)
                    seen.reached("ended")
            else:
                hour = f"{clock():%Y-%m-%dT%H}"
                clock.advance(minutes=item[1])
                if f"{clock():%Y-%m-%dT%H}" != hour and model.full_hour(hour):
                    seen.reached("an hour turned with its writes full")
    finally:
        ledger.close()


def test_the_caps_hold_in_any_order():
    seen = Branches()

    @settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(steps=st.lists(step, min_size=10, max_size=60))
    # Every cap reached, always tried: the set's, a retried start, the subscription's, the hour's,
    # and the hour turning with its writes full.
    @example(steps=[("start", 0, 1), ("start", 0, 0), ("start", 1, 1), ("start", 2, 1), ("start", 4, 1), ("start", 5, 1),
                    ("end", 0), ("end", 1), ("start", 5, 1), ("end", 5), ("start", 6, 1), ("wait", 40), ("wait", 40)])
    def caps(steps):
        run(steps, seen)

    caps()
    seen.assert_reached("started", "ended", "a retried start took no second slot", "refused: subscription cap full",
                        "refused: scale set cap full", "refused: hour cap full", "an hour turned with its writes full")
