"""Properties of the safety rules over random storms: any order, duplicates, ticks interleaved.

Never more than one remediation per incident; nothing outside the scope read or written; never
more operations under way than the cap; every skip says why.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.deliveries import parse_delivery
from rules import STATUSES
from tests import builders as b
from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, policy_file

OUT_OF_SCOPE = b.vm_id("vm-out-of-scope", rg="rg-other", sub="00000000-0000-0000-0000-0000000f0e19")
STORM_VMS = 8  # degraded VMs added to the demo fleet, so a storm presses against the caps
IN_SCOPE = [b.vm_id(name, rg="rg-demo", sub=DEMO_SUBSCRIPTION) for name in
            ("vm-degraded-hw", "vm-accelnet", "vm-host-crash", "vm-healthy-again", "vm-deallocated", "vm-user-restart")]
IN_SCOPE += [b.vm_id(f"vm-storm-{n:06d}", rg="rg-storm", sub=DEMO_SUBSCRIPTION) for n in range(STORM_VMS)]
ANNOTATIONS = ["VirtualMachinePossiblyDegradedDueToHardwareFailure", "AccelnetUnhealthy", "VirtualMachineScheduledForServiceHealing",
               "VirtualMachineHostCrashed", "VirtualMachineRebootInitiatedByControlPlane"]
IN_FLIGHT_CAP = 2

# A pool of distinct events; a storm draws from it with repetition (duplicate deliveries).
POOL = [b.annotated(annotation, target=target, event_id=f"ev-{i}-{j}", when="2026-11-22T03:00:00Z")
        for i, target in enumerate(IN_SCOPE + [OUT_OF_SCOPE]) for j, annotation in enumerate(ANNOTATIONS)]
POOL += [b.availability("Unavailable", target=target, event_id=f"av-{i}") for i, target in enumerate(IN_SCOPE + [OUT_OF_SCOPE])]
POOL += [b.availability("Available", previous="Unavailable", target=target, event_id=f"ok-{i}") for i, target in enumerate(IN_SCOPE)]

step = st.one_of(st.sampled_from(range(len(POOL))), st.just("tick"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(storm=st.lists(step, min_size=5, max_size=40), delay=st.sampled_from([0.0, 0.2]))
def test_safety_holds_over_any_storm(storm, delay):
    from ledger import SqliteLedger
    from ledger.safety_sqlite import UNDER_WAY
    from pipeline import Settings, build_pipeline
    from pipeline.azure import connector
    from responder.sim import SimulatedAzure
    from responder.sim.credential import SimCredential

    from responder.sim import Fleet

    fleet = Fleet.from_any(DEMO_FLEET)
    fleet.add_generated(vms=STORM_VMS, prefix="vm-storm-", subscriptionId=DEMO_SUBSCRIPTION, resourceGroup="rg-storm", degraded=STORM_VMS)
    with tempfile.TemporaryDirectory() as folder, SimulatedAzure(fleet=fleet, operation_delay=delay) as sim:
        path = policy_file(Path(folder), brakes={"in_flight": {"per_subscription": IN_FLIGHT_CAP}, "cooldown": "PT0S",
                                                 "storm": {"vms_per_region": 100}})
        config = Settings(mode="auto", azure="sim", subscriptions=(DEMO_SUBSCRIPTION,), policy_path=path)
        connect = connector(config, base_url=sim.base_url, ca_bundle=sim.ca_bundle, credential=SimCredential())
        ledger = SqliteLedger(":memory:")
        pipeline = build_pipeline(config, ledger=ledger, connect=connect, notifier=False)
        for item in storm:
            outcomes = pipeline.tick() if item == "tick" else pipeline.process(parse_delivery(b.body(POOL[item]), "storm"))
            for outcome in outcomes:
                assert outcome.status in STATUSES
                if outcome.status == "skipped":
                    assert outcome.reason, "every skip says why"
            under_way = ledger.count_operations(f"/subscriptions/{DEMO_SUBSCRIPTION}/", states=UNDER_WAY)
            assert under_way <= IN_FLIGHT_CAP, "never more in flight than the cap"

        per_incident: dict[str, int] = {}
        for operation in ledger.operations():
            per_incident[operation["incident_id"]] = per_incident.get(operation["incident_id"], 0) + 1
        assert all(count == 1 for count in per_incident.values()), per_incident

        writes = [r for r in sim.requests if r.counter == "writes" and r.status and r.status < 300]
        assert len(writes) <= len(per_incident), "one ARM write per remediation, none twice"
        assert not [r for r in sim.requests if "vm-out-of-scope" in r.path.lower()], "nothing outside the scope is touched"
