"""Waves against the simulated Azure and the demo fleet: vm-maint-1 and vm-maint-2 in update
domain 0, vm-maint-3 in update domain 1, vm-maint-avset in an availability set. The real SDKs
over HTTPS; the clock is moved by hand; writes are counted at the simulated Azure."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.conftest import accepted_writes

from .conftest import maintained, maintenance, started, window_from

WAVE_VMS = ("vm-maint-1", "vm-maint-2", "vm-maint-3")


def test_one_update_domain_at_a_time_with_the_pause_between(world):
    w = world()
    w.sim.operation_delay = 3600  # maintenance runs until the test finishes it
    plans = {name: w.enroll(name) for name in WAVE_VMS}
    assert {status for status, _ in plans.values()} == {"planned"}
    assert "update domain 0; starts inside the self-service window" in plans["vm-maint-2"][1]  # not "0 of 0"
    assert ("update domain 1 of 0..1; starts when update domain 0 has finished and 30 min have passed, inside the "
            "self-service window") in plans["vm-maint-3"][1]

    assert started(w.tick()) == {"vm-maint-1", "vm-maint-2"}
    assert sorted(maintained(w.sim)) == ["vm-maint-1", "vm-maint-2"]
    w.clock.advance(hours=2)
    assert w.tick() == [] and len(maintained(w.sim)) == 2, "update domain 0 is still under way"

    w.sim.finish_operations()
    assert w.tick() == []
    assert {w.state(n) for n in ("vm-maint-1", "vm-maint-2")} == {"done"}
    w.clock.advance(minutes=29)
    assert w.tick() == [] and len(maintained(w.sim)) == 2, "the pause between update domains"
    w.clock.advance(minutes=2)
    ended = w.tick()
    assert started(ended) == {"vm-maint-3"} and "update domain 1" in ended[0].reason
    assert sorted(maintained(w.sim)) == ["vm-maint-1", "vm-maint-2", "vm-maint-3"]
    w.sim.finish_operations()
    w.tick()
    assert w.state("vm-maint-3") == "absent", "the wave finished"
    assert w.ledger.waves(("finished",))


def test_update_domain_one_waits_for_every_member_of_update_domain_zero(world):
    w = world()
    w.sim.operation_delay = 3600
    for name in WAVE_VMS:
        w.enroll(name)
    w.tick()
    (first,) = [op for op in w.sim.operations.pending if op.resource_id.endswith("vm-maint-1")]
    with w.sim.operations._cond:  # the simulated Azure ends vm-maint-1's maintenance now, vm-maint-2's later
        w.sim.operations._finish(first)
    w.tick()
    assert (w.state("vm-maint-1"), w.state("vm-maint-2")) == ("done", "running")
    w.clock.advance(hours=1)
    assert w.tick() == [] and "vm-maint-3" not in maintained(w.sim)
    w.sim.finish_operations()
    w.tick()
    w.clock.advance(minutes=31)
    assert started(w.tick()) == {"vm-maint-3"}


@pytest.mark.parametrize("include,status,why", [
    (False, "skipped", "in availability set avset-demo: Azure already maintains an availability set one update domain"),
    (True, "planned", "update domain 0; starts"),
])
def test_availability_set_members_are_left_to_azure_unless_policy_includes_them(world, include, status, why):
    w = world(maintenance(include_availability_sets=include))
    got, reason = w.enroll("vm-maint-avset")
    assert got == status and why in reason
    ended = w.tick()
    if not include:
        assert ended == [] and not accepted_writes(w.sim)
        return
    # Included by policy: the wave passes that on, verification lets it through, and it starts.
    assert started(ended) == {"vm-maint-avset"}
    assert accepted_writes(w.sim, "vm-maint-avset")


@pytest.mark.parametrize("tags,skip_tags,status,named", [
    ({"short-lived": "true"}, None, "skipped", "tagged short-lived=true"),
    ({"Large-Temp-Disk": "Yes"}, None, "skipped", "tagged large-temp-disk=Yes"),
    ({"uses-scheduled-events": ""}, None, "skipped", "tagged uses-scheduled-events="),
    ({"resized-often": "false"}, None, "planned", "update domain 0; starts"),
    ({"short-lived": "true"}, ["batch-node"], "planned", "update domain 0; starts"),
    ({"batch-node": "1"}, ["batch-node"], "skipped", "tagged batch-node=1"),
])
def test_skip_tags_name_themselves(world, tags, skip_tags, status, named):
    w = world(maintenance(**({"skip_tags": skip_tags} if skip_tags is not None else {})))
    w.sim.fleet.vm("vm-maint-1").tags.update(tags)
    got, reason = w.enroll("vm-maint-1")
    assert got == status and named in reason, reason
    assert ("tagged" in reason) is (status == "skipped"), reason  # a tag not among the skip tags says nothing
    w.tick()
    assert len(maintained(w.sim)) == (1 if status == "planned" else 0)


def test_nothing_starts_outside_the_maintenance_window(world, now_clock):
    w = world(maintenance(window_from(now_clock(), timedelta(hours=2), timedelta(hours=2))))
    status, reason = w.enroll("vm-maint-1")
    assert status == "planned" and "the maintenance window (every day " in reason
    for _ in range(3):
        w.clock.advance(minutes=30)
        assert w.tick() == []
    assert not accepted_writes(w.sim)
    w.clock.advance(minutes=35)  # 2 h 05 min later: inside
    assert started(w.tick()) == {"vm-maint-1"}
    assert maintained(w.sim) == ["vm-maint-1"]


def test_a_failure_stops_the_wave_and_says_what_next(world):
    w = world()
    w.sim.faults.add(method="POST", path=r"vm-maint-1/performMaintenance$", kind="fail-operation")
    for name in WAVE_VMS:
        w.enroll(name)
    assert started(w.tick()) == {"vm-maint-1", "vm-maint-2"}
    ended = {e.resource_id.rsplit("/", 1)[-1]: e for e in w.tick()}
    failed, left = ended["vm-maint-1"], ended["vm-maint-3"]
    assert failed.status == "failed"
    assert "wave WAVE-" in failed.reason and "stopped, not started: vm-maint-3 (update domain 1)" in failed.reason
    assert "Azure marks vm-maint-1 skipped and sends it a new maintenance schedule" in failed.reason
    assert "Next step: find why it failed" in failed.reason
    assert left.status == "skipped" and "stopped after maintenance of vm-maint-1 failed" in left.reason
    w.clock.advance(hours=2)
    assert w.tick() == []
    assert sorted(maintained(w.sim)) == ["vm-maint-1", "vm-maint-2"], "update domain 1 is never started"
    # A stopped wave starts nothing more, but follows what is under way to its end (waves/service.py
    # `waves_in_progress`, `_follow`): vm-maint-2's maintenance, started beside vm-maint-1's, ended
    # at its first poll (no operation delay here) and the simulated Azure shows it Available again.
    assert w.state("vm-maint-2") == "done"
    # The scope stays stopped for new maintenance until a person closes the wave.
    status, reason = w.enroll("vm-maint-avset")
    assert status == "skipped" and "is stopped (maintenance of vm-maint-1 failed)" in reason
    (wave,) = w.ledger.waves(("stopped",))
    w.waves.close(wave["id"], by="ana@contoso.example")
    assert w.enroll("vm-maint-avset")[1].startswith("left to Azure: in availability set"), "a new wave plans again"


def test_a_window_that_closed_before_its_turn_is_skipped(world):
    w = world()
    w.sim.operation_delay = 3600
    for name in WAVE_VMS:
        w.enroll(name)
    w.tick()
    w.clock.advance(days=7)  # past every self-service window (the fleet's close 6 days after start)
    ended = w.tick()
    (skipped,) = [e for e in ended if e.status == "skipped"]
    assert skipped.resource_id.endswith("vm-maint-3")
    assert "self-service window closed before its turn" in skipped.reason
    assert "Azure will do it in its own window" in skipped.reason
    assert "vm-maint-3" not in maintained(w.sim)


def test_enrolling_twice_is_a_no_op(world):
    w = world()
    assert w.enroll("vm-maint-1")[0] == "planned"
    status, reason = w.enroll("vm-maint-1")
    assert status == "duplicate" and "already in wave" in reason
    (wave,) = w.ledger.waves(("open",))
    assert len(w.ledger.wave_members(wave["id"])) == 1


def test_observe_mode_members_are_never_started(world):
    w = world()
    w.enroll("vm-maint-1", mode="observe")
    ended = w.tick()
    assert [e.status for e in ended] == ["skipped"] and "the mode in force is observe" in ended[0].reason
    assert not accepted_writes(w.sim)


def test_the_pause_switch_holds_every_wave(world):
    w = world()
    w.enroll("vm-maint-1")
    w.pipeline.safety.pause("ops@contoso.example")
    assert w.tick() == [] and not accepted_writes(w.sim)
    w.pipeline.safety.resume("ops@contoso.example")
    assert started(w.tick()) == {"vm-maint-1"}


def test_a_brake_holds_a_member_until_it_passes(world):
    w = world()
    w.pipeline.remediator.safety.brakes = type(w.pipeline.remediator.safety.brakes)(in_flight_per_subscription=1)
    w.sim.operation_delay = 3600
    w.enroll("vm-maint-1")
    w.enroll("vm-maint-2")
    assert len(started(w.tick())) == 1, "the in-flight cap lets one start"
    held = next(n for n in ("vm-maint-1", "vm-maint-2") if w.state(n) == "pending")
    w.sim.finish_operations()
    assert started(w.tick()) == {held}, "the same update domain goes on at once: the rest is between update domains"
    assert sorted(maintained(w.sim)) == ["vm-maint-1", "vm-maint-2"]


def _claim(w, name):
    """A worker claims vm-maint-1's turn, as advance() does, and then dies."""
    from arm import resource_key

    (wave,) = w.ledger.waves(("open",))
    assert w.ledger.claim_group(wave["id"], "0", w.clock(), w.clock())
    assert w.ledger.claim_wave_member(wave["id"], resource_key(vm_id(name)), w.clock())
    return wave


def vm_id(name):
    from .conftest import vm

    return vm(name)


def test_a_worker_that_died_before_starting_leaves_the_member_queued_again(world):
    w = world()
    w.enroll("vm-maint-1")
    _claim(w, "vm-maint-1")
    assert w.tick() == [] and w.state("vm-maint-1") == "starting", "another worker may still be starting it"
    w.clock.advance(minutes=11)
    w.tick()
    assert w.state("vm-maint-1") in ("pending", "running")
    w.tick()
    assert maintained(w.sim) == ["vm-maint-1"], "started once, by the next worker"


def test_a_worker_that_died_after_starting_is_adopted_never_started_again(world):
    w = world()
    w.sim.operation_delay = 3600
    w.enroll("vm-maint-1")
    _claim(w, "vm-maint-1")
    member = next(iter(w.ledger.wave_members(w.ledger.waves(("open",))[0]["id"])))
    status, _, _ = w.pipeline.remediator.act(incident_id=member["incident_id"], signal_id=None,
                                             action="perform-maintenance", resource_id=member["resource_id"],
                                             mode="auto", params={})
    assert status == "started"
    w.clock.advance(minutes=11)
    assert w.tick() == [] and w.state("vm-maint-1") == "running"
    w.sim.finish_operations()
    w.tick()
    assert w.state("vm-maint-1") == "absent" and maintained(w.sim) == ["vm-maint-1"]


def test_what_a_person_reads_of_a_wave(world):
    w = world()
    w.sim.operation_delay = 3600
    for name in (*WAVE_VMS, "vm-maint-avset"):
        w.enroll(name)
    w.tick()
    (wave,) = w.ledger.waves(("open",))
    text = w.waves.describe(wave["id"])
    assert text.splitlines()[0] == f"{wave['id']}  scope 00000000-0000-0000-0000-00000000d3e0:westeurope  open"
    assert "in progress: update domain 0 since" in text
    assert any(line.split()[:5] == ["update", "domain", "1", "vm-maint-3", "pending"] for line in text.splitlines()[1:]
               if line.strip().startswith("update domain 1"))
    assert "vm-maint-avset           skipped    in availability set avset-demo" in text


def test_an_ended_turn_reads_like_an_ended_operation(world):
    w = world()
    w.enroll("vm-maint-1")
    (ended,) = w.tick()
    end = ended.as_tick_end()
    assert end["state"] == "started" and end["action"] == "perform-maintenance" and end["mode"] == "auto"
    assert end["incident_id"].startswith("INC-") and end["message"].startswith("wave WAVE-")


# -- real fleets: machines that are off, shut down every night, or that Azure refuses ----------


@pytest.mark.parametrize("change,named", [
    (lambda vm: setattr(vm, "power_state", "deallocated"), "it is deallocated: Azure refuses maintenance on a VM that is not running"),
    (lambda vm: setattr(vm, "power_state", "stopped"), "it is stopped: Azure refuses maintenance on a VM that is not running"),
    # the portal's auto-shutdown / DevTest Labs: Microsoft.DevTestLab/schedules/shutdown-computevm-<vm>
    (lambda vm: setattr(vm, "auto_shutdown", {"time": "1900", "timeZoneId": "W. Europe Standard Time", "status": "Enabled"}),
     "shut down every day at 19:00 W. Europe Standard Time by an auto-shutdown schedule"),
])
def test_machines_that_are_off_or_shut_down_nightly_are_not_enrolled(world, change, named):
    from actions import registry

    w = world()
    with w.sim.fleet.lock:
        change(w.sim.fleet.vm("vm-maint-1"))
    verdict = registry.get("perform-maintenance").verify(w.pipeline.remediator.connect(""), maintenance_vm("vm-maint-1"),
                                                         {"now": w.clock()})
    assert not verdict.holds and ("not running" in verdict.reason or "auto-shutdown schedule shutdown-computevm-vm-maint-1" in verdict.reason)
    status, reason = w.enroll("vm-maint-1")
    assert status == "skipped" and named in reason
    assert w.tick() == [] and not accepted_writes(w.sim)


def test_a_disabled_auto_shutdown_schedule_does_not_keep_a_vm_out(world):
    w = world()
    with w.sim.fleet.lock:
        w.sim.fleet.vm("vm-maint-1").auto_shutdown = {"time": "1900", "timeZoneId": "UTC", "status": "Disabled"}
    assert w.enroll("vm-maint-1")[0] == "planned"


def test_azure_refusing_one_member_skips_it_with_azures_answer_and_the_wave_goes_on(world):
    w = world()
    w.sim.operation_delay = 3600
    for name in WAVE_VMS:
        w.enroll(name)
    # Azure refuses vm-maint-2 when its turn comes (deallocated since it was read, as a 409 says)
    w.sim.faults.add(method="POST", path=r"vm-maint-2/performMaintenance$", kind="409",
                     message="Operation 'performMaintenance' is not allowed on VM 'vm-maint-2' since the VM is deallocated "
                             "or marked to be deallocated.")
    ended = {e.resource_id.rsplit("/", 1)[-1]: e for e in w.tick()}
    assert ended["vm-maint-1"].status == "started"
    refused = ended["vm-maint-2"]
    assert refused.status == "skipped" and "Azure refused maintenance of vm-maint-2" in refused.reason
    assert "since the VM is deallocated" in refused.reason  # Azure's own words
    assert w.state("vm-maint-2") == "absent" or w.state("vm-maint-2") == "skipped"
    (wave,) = w.ledger.waves(("open",))  # not stopped
    w.sim.finish_operations()
    w.tick()
    w.clock.advance(minutes=31)
    assert started(w.tick()) == {"vm-maint-3"}, "the next update domain goes on"


def test_waves_are_listed_and_a_stopped_one_is_closed_from_the_command_line(world, tmp_path):
    from waves import list_waves

    w = world()
    w.sim.faults.add(method="POST", path=r"vm-maint-1/performMaintenance$", kind="fail-operation")  # a real failure
    for name in WAVE_VMS:
        w.enroll(name)
    w.tick()
    w.tick()
    (stopped,) = list_waves(w.ledger)
    assert stopped["state"] == "stopped" and stopped["members"]["failed"] == 1 and stopped["members"]["skipped"] == 1
    assert "maintenance of vm-maint-1 failed" in stopped["reason"]


def maintenance_vm(name: str) -> str:
    from .conftest import vm

    return vm(name)


def test_maintenance_that_cannot_happen_before_its_deadline_says_so_and_asks(world, now_clock):
    """The self-service window (Azure's deadline for doing it yourself) closes before the owner's
    maintenance window next opens: not queued to be skipped later, but said now, with the choice."""
    from simulator.fleet import resolve_time

    w = world(maintenance(window_from(now_clock(), timedelta(hours=3), timedelta(hours=1))))
    with w.sim.fleet.lock:
        vm = w.sim.fleet.vm("vm-maint-1")
        vm.maintenance = {**vm.maintenance, "preMaintenanceWindowEndTime": resolve_time("+2h")}
    status, reason = w.enroll("vm-maint-1")
    assert status == "skipped"
    assert "cannot happen before its deadline: its self-service window closes at" in reason
    assert "the owner's maintenance window (every day" in reason and "next opens" in reason
    assert "A person decides: start maintenance by hand before" in reason
    assert w.enroll("vm-maint-2")[0] == "planned", "its window lasts days: the owner's window opens in time"


def test_the_owners_window_knows_when_it_next_opens():
    from datetime import datetime

    from waves import MaintenanceWindow
    from waves.policy import _clock

    weekend = MaintenanceWindow(days=("Sat",), start=_clock("01:00", "t"), end=_clock("05:00", "t"))
    friday = datetime(2026, 12, 4, 12, tzinfo=UTC)  # a Friday
    assert weekend.next_opening(friday) == datetime(2026, 12, 5, 1, tzinfo=UTC)
    inside = datetime(2026, 12, 5, 2, tzinfo=UTC)
    assert weekend.next_opening(inside) == inside
    assert weekend.next_opening(datetime(2026, 12, 5, 6, tzinfo=UTC)) == datetime(2026, 12, 12, 1, tzinfo=UTC)
