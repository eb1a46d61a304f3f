"""The simulated Teams webhook's and Graph mailbox's scripted failures: used up in order, one
request each, and a kind neither knows is refused by name."""

from __future__ import annotations

import pytest

from simulator.scripted import ScriptedFailures


def test_failures_are_met_in_order_each_for_its_number_of_requests():
    script = ScriptedFailures("webhook", ("429", "503"))
    script.add("429", times=2, retry_after=1)
    script.add("503", times=1, retry_after=None, text="busy")
    met = [script.take() for _ in range(4)]
    assert [(f.kind, f.retry_after, f.text) if f else None for f in met] == [("429", 1, None), ("429", 1, None), ("503", None, "busy"), None]


@pytest.mark.parametrize("service, install", [("webhook", "teams"), ("Graph", "graph")])
def test_an_unknown_failure_is_refused_naming_the_service_and_the_kinds(service, install):
    from simulator import SimulatedAzure, graph, teams

    with SimulatedAzure() as sim:
        channel = {"teams": teams, "graph": graph}[install].install(sim)
        with pytest.raises(ValueError, match=rf"unknown {service} failure 'teapot'; expected one of \("):
            channel.fail("teapot")
