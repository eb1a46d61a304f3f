"""The demo, run as a user runs it (`python -m responder demo --json`), shows every case."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import DEMO_PAYLOADS, ROOT


@pytest.fixture(scope="module")
def outbox(tmp_path_factory):
    return tmp_path_factory.mktemp("outbox")


@pytest.fixture(scope="module")
def demo(outbox):
    run = subprocess.run([sys.executable, "-m", "responder", "demo", "--json", "--outbox", str(outbox)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    *lines, summary = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return lines, summary


def lines_for(lines, resource_name, **match):
    return [row for row in lines if row["resource_id"].lower().endswith("/" + resource_name) and all(row[k] == v for k, v in match.items())]


@pytest.mark.parametrize(
    "resource,signal,action,status,reason",
    [
        ("vm-degraded-hw", "VirtualMachinePossiblyDegradedDueToHardwareFailure", "redeploy", "succeeded", "redeploy succeeded"),
        ("vm-accelnet", "AccelnetUnhealthy", "redeploy", "succeeded", "redeploy succeeded"),
        ("vm-host-crash", "VirtualMachineHostCrashed", "redeploy", "succeeded", "redeploy succeeded"),
        ("vmss-web", "RepairsSuspended", "resume-automatic-repairs", "succeeded", "succeeded"),
        ("vm-user-restart", "VirtualMachineRebootInitiatedByControlPlane", "none", "noop", "nothing to remediate"),
        ("vm-healthy-again", "VirtualMachineScheduledForServiceHealing", "redeploy", "skipped", "already healthy"),
        ("vmss-api", "InstanceProvisioningFailed", "replace-failed-instance", "succeeded", "capacity back to 4"),
        ("vmss-batch", "RepairsNotEnabled", "enable-automatic-repairs", "succeeded", "succeeded"),
        ("vm-maint-1", "SelfServiceWindowOpen", "perform-maintenance", "succeeded", "succeeded"),
        ("vm-maint-avset", "SelfServiceWindowOpen", "perform-maintenance", "skipped", "not for availability sets"),
        ("vmss-probe", "AllInstancesUnhealthy", "none", "noop", "the health probe or the application is wrong"),
    ],
)
def test_demo_case(demo, resource, signal, action, status, reason):
    lines, _ = demo
    found = lines_for(lines, resource, name=signal, action=action, status=status)
    assert found, f"no {status} {action} for {resource}"
    assert reason in found[-1]["reason"]


def test_first_host_crash_is_left_alone_and_the_second_redeployed(demo):
    lines, _ = demo
    crashes = [row for row in lines_for(lines, "vm-host-crash", name="VirtualMachineHostCrashed") if row["input"] != "tick"]
    assert [(row["action"], row["status"]) for row in crashes] == [("none", "noop"), ("redeploy", "started")]


def test_an_approval_round_trip(demo):
    lines, _ = demo
    steps = [(row["status"], row["rule"]) for row in lines_for(lines, "vm-approve")]
    assert steps[0] == ("awaiting-approval", "degraded-hardware")  # its responder-mode tag asks for a person
    assert ("started", "approval") in steps and steps[-1] == ("succeeded", "tick")


def test_a_storm_trips_the_breaker_and_says_why_once(demo, outbox):
    lines, _ = demo
    (tripped,) = [row for row in lines if row["status"] == "skipped" and row["reason"].startswith("storm breaker:")]
    assert tripped["resource_id"].endswith("/vm-shop-000003") and "12 VMs of subscription" in tripped["reason"]
    # One storm message for the scope (its digests follow under the same subject), not one per VM.
    storm_cards = [p for p in outbox.glob("*-teams-*.json") if "Storm: automation paused for" in p.read_text()]
    assert len(storm_cards) == 1
    subject = json.loads(storm_cards[0].read_text())["attachments"][0]["content"]["body"][0]["items"][0]["text"]
    assert all(subject in p.read_text() for p in outbox.glob("*-teams-*.json") if "This digest covers" in p.read_text()
               and "westeurope" in p.read_text())


def test_a_maintenance_wave_goes_one_update_domain_at_a_time(demo):
    lines, _ = demo
    steps = [(row["resource_id"].rsplit("/", 1)[-1], row["status"]) for row in lines
             if row["name"] == "SelfServiceWindowOpen" and row["status"] in ("planned", "started", "succeeded")]
    queued = [name for name, status in steps if status == "planned"]
    assert sorted(queued) == ["vm-maint-1", "vm-maint-2", "vm-maint-3"]  # the sweep enrols them in one wave
    order = [name for name, status in steps if status in ("started", "succeeded")]
    assert order.index("vm-maint-3") > max(i for i, name in enumerate(order) if name in ("vm-maint-1", "vm-maint-2"))
    started_3 = next(row for row in lines if row["resource_id"].endswith("/vm-maint-3") and row["status"] == "started")
    assert "update domain 1" in started_3["reason"]


def test_the_duplicate_delivery_is_ignored(demo):
    lines, _ = demo
    first = [row for row in lines if row["input"].endswith(sorted(DEMO_PAYLOADS.glob("*.json"))[0].name)]
    assert [row["status"] for row in first] == ["started", "duplicate"]


def test_the_bad_file_is_rejected_and_named(demo):
    lines, _ = demo
    (rejected,) = [row for row in lines if row["status"] == "rejected"]
    assert rejected["reason"].startswith("demo/13-truncated.bad.json: body: is not valid JSON")


def test_summary_counts_one_write_per_action(demo):
    lines, summary = demo
    assert set(summary) >= {"signals", "actions", "statuses", "arm_reads", "arm_writes"}
    taken = sum(summary["actions"].values())
    assert summary["actions"]["redeploy"] == 4 and summary["actions"]["resume-automatic-repairs"] == 1
    assert summary["actions"]["replace-failed-instance"] == 1 and summary["actions"]["enable-automatic-repairs"] == 1
    # one write per action; replacing a failed instance is two (delete it, restore the capacity)
    assert summary["arm_writes"] == taken + summary["actions"]["replace-failed-instance"]
    assert summary["statuses"]["succeeded"] == taken and "started" not in summary["statuses"]
    assert summary["actions"]["perform-maintenance"] == 3
    assert summary["arm_reads"] > 0


def test_every_message_can_be_opened_in_the_outbox_folder(demo, outbox):
    from notify.card_schema import card_problems
    from tests.notify.validity import assert_valid_email_html, schema_problems

    _, summary = demo
    cards = sorted(outbox.glob("*-teams-*.json"))
    emails = sorted(outbox.glob("*-email-*.html"))
    assert summary["notifications"] == {"teams": len(cards), "email": len(emails)}
    assert cards and emails
    for path in cards:
        body = json.loads(path.read_text())
        assert body["type"] == "message" and path.stat().st_size < 28 * 1024
        assert card_problems(body) == [], path.name
        assert schema_problems(body) == [], path.name  # the official Adaptive Card 1.5 schema
    for path in emails:
        html, text = path.read_text(), path.with_suffix(".txt").read_text()
        assert text.startswith(("[INC-", "[Digest]", "[Storm]")) and ("INC-" in html or "This digest covers" in html or "[Storm]" in html)
        assert_valid_email_html(html)
