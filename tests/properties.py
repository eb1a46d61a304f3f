"""How the property tests run: the same examples on every run by default (a fixed seed, so a
green CI run is the run that was reviewed, and a failure reproduces), ten times as many, freshly
drawn, in `make test-long` (RESPONDER_HYPOTHESIS_PROFILE=long).

Each property test also counts the branches it means to reach (with `reached`, which tells
hypothesis' statistics too) and asserts at the end that every one of them was reached: a
property that passes because its interesting cases never came up fails instead.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import event, settings

PROFILES = {"ci": 1, "long": 10}
PROFILE = os.environ.get("RESPONDER_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in PROFILES:
    raise RuntimeError(f"RESPONDER_HYPOTHESIS_PROFILE={PROFILE!r}: expected one of {', '.join(PROFILES)}")

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("long", derandomize=False, print_blob=True)
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """`count` examples in CI, ten times as many in the long run."""
    return count * PROFILES[PROFILE]


class Branches(Counter):
    """The branches a property test reached, counted across its examples."""

    def reached(self, branch: str) -> None:
        self[branch] += 1
        event(branch)

    def assert_reached(self, *branches: str) -> None:
        missing = [b for b in branches if not self[b]]
        assert not missing, f"never reached in {sum(self.values())} observations: {missing}; reached: {dict(self)}"
