"""`whatif`: a ledger recorded from the demo's deliveries and its storm, against the simulated
Azure, re-decided under the shipped policy (nothing changes, exactly), under rules moved to auto
(their actions appear, capped by the brakes) and under a tighter brake (refusals appear)."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest

from ledger import SqliteLedger
from responder.cli import main
from tests.responder import whatif_scenario as w

DEMO = "00000000-0000-0000-0000-00000000d3e0"
STORM = "00000000-0000-0000-0000-00000000c0de"
HOURLY = "hourly write cap"


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory):
    """Two recordings, kept as files: each rule in its own mode, and everything in auto (the demo's)."""
    folder = tmp_path_factory.mktemp("whatif")
    paths = {}
    for mode in (None, "auto"):
        paths[mode] = folder / f"ledger-{mode or 'policy'}.sqlite"
        ledger = SqliteLedger(paths[mode])
        try:
            w.recorded(ledger, mode)
        finally:
            ledger.close()
    return paths


def report(path, policy, mode, catalog=None):
    ledger = SqliteLedger(path)
    try:
        return w.what_if(ledger, policy, mode, catalog)
    finally:
        ledger.close()


def to_auto(*names, hourly=None):
    def change(document):
        for name in names:
            w.rule(document, name)["mode"] = "auto"
        if hourly is not None:
            document.setdefault("brakes", {})["hourly_writes_per_subscription"] = hourly
    return change


def hourly_cap(cap):
    return lambda document: document.setdefault("brakes", {}).update(hourly_writes_per_subscription=cap)


@pytest.mark.parametrize("mode", [None, "auto"])
def test_the_shipped_policy_changes_nothing(ledgers, tmp_path, mode):
    found = report(ledgers[mode], w.policy(tmp_path), mode)
    assert found.signals == 26  # the demo's 13 signals (a duplicate and a truncated file are not), the storm's 13
    assert (found.changes, found.unknown, found.acts_differently) == ([], 0, False)
    assert [line["type"] for line in found.lines()] == ["summary"]


@pytest.mark.parametrize("mode,change,expected,writes,storms", [
    # Two rules moved from observe to auto: their actions start where the live state held, the
    # tagged VM still waits for a person, and the storm's Accelnet VM meets the breaker it opens.
    (None, to_auto("degraded-hardware", "accelerated-networking-unhealthy"), {
        "vm-degraded-hw": ("mode change", "redeploy", "auto", "started", ()),
        "vm-accelnet": ("mode change", "redeploy", "auto", "started", ()),
        "vm-healthy-again": ("mode change", "redeploy", "auto", "skipped", ()),
        "vm-approve": ("mode change", "redeploy", "approve", "awaiting-approval", ("mode tag",)),
        "vm-shop-000003": ("mode change", "redeploy", "auto", "skipped", ("storm breaker",)),
    }, {(DEMO, 2)}, {f"vm:{STORM}:": (0, 1)}),
    # The same, with one ARM write an hour: the first start takes it, the next are refused.
    (None, to_auto("degraded-hardware", "accelerated-networking-unhealthy", hourly=1), {
        "vm-degraded-hw": ("mode change", "redeploy", "auto", "started", ()),
        "vm-accelnet": ("no longer taken", "redeploy", "auto", "skipped", (HOURLY,)),
        "vm-healthy-again": ("mode change", "redeploy", "auto", "skipped", (HOURLY,)),
        # Refused before its read (this hour is full): its tag, which would ask a person, is not read.
        "vm-approve": ("no longer taken", "redeploy", "auto", "skipped", (HOURLY,)),
        "vm-shop-000003": ("mode change", "redeploy", "auto", "skipped", ("storm breaker",)),
    }, {(DEMO, 1)}, {f"vm:{STORM}:": (0, 1)}),
    # Everything in auto, two writes an hour: the third and fourth starts are refused.
    ("auto", hourly_cap(2), {
        "vm-host-crash": ("no longer taken", "redeploy", "auto", "skipped", (HOURLY,)),
        "vm-healthy-again": ("brakes", "redeploy", "auto", "skipped", (HOURLY,)),
        "vmss-web": ("no longer taken", "resume-automatic-repairs", "auto", "skipped", (HOURLY,)),
        "vm-approve": ("no longer taken", "redeploy", "auto", "skipped", (HOURLY,)),
    }, {(DEMO, 2)}, {}),
    # A storm breaker that trips above 3 VMs: the demo's own unhealthy VMs open one in its
    # subscription, and what came after them there is refused (the storm's was refused all the same).
    ("auto", lambda d: d.setdefault("brakes", {}).update(storm={"vms_per_region": 3}), {
        "vm-healthy-again": ("brakes", "redeploy", "auto", "skipped", ("storm breaker",)),
        "vmss-web": ("no longer taken", "resume-automatic-repairs", "auto", "skipped", ("storm breaker",)),
        "vm-approve": ("no longer taken", "redeploy", "auto", "skipped", ("storm breaker",)),
    }, {(DEMO, 3)}, {f"vm:{DEMO}:": (0, 1)}),
])
def test_a_changed_policy_shows_what_would_act_differently(ledgers, tmp_path, mode, change, expected, writes, storms):
    found = report(ledgers[mode], w.policy(tmp_path, change), mode)
    assert w.changes(found) == expected
    assert found.acts_differently == bool(expected) and found.unknown == 0
    if writes is not None:
        assert {(subscription, after) for (subscription, _), (_, after) in found.writes.items()} == writes
        assert all(after <= found.hourly_cap for _, after in found.writes.values())
    assert {scope: counts for scope, counts in found.storms.items() if counts[0] != counts[1]} == storms


UNAVAILABLE_RESTARTS = """
availability:
  Unavailable:
    meaning: Resource Health reports the resource unavailable; a restart brings it back.
    initiator: unknown
    impact: downtime-reboot
    category: availability
    temp_disk_loss: false
    platform_acting: false
    default_action: restart
    next_step: null
    routine: false
"""


def test_a_catalog_entry_with_a_default_action_meets_the_storm_breaker_and_says_what_was_never_read(ledgers, tmp_path):
    """Unavailable given a default action (restart): the storm's VMs past the tenth meet the breaker
    (the ledger alone says so); the first ten need the live state, which nobody read for them."""
    extra = tmp_path / "catalog-extra.yaml"
    extra.write_text(UNAVAILABLE_RESTARTS)
    found = report(ledgers["auto"], w.policy(tmp_path), "auto", catalog=extra)
    changed = w.changes(found)
    assert {changed[f"vm-shop-{n:06d}"][0] for n in range(10)} == {"unknown"} and found.unknown == 10
    assert [changed[f"vm-shop-{n:06d}"] for n in (10, 11)] == [("new action", "restart", "auto", "skipped", ("storm breaker",))] * 2
    assert len(changed) == 12 and found.brakes["storm breaker"] == (1, 3)


def test_what_was_not_read_is_said_not_guessed(ledgers, tmp_path):
    """A ledger written before decisions kept their reading: an action the new policy takes needs
    the live state, and the report says it is not replayable instead of guessing."""
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(ledgers[None]) as source, sqlite3.connect(old) as copy:
        source.backup(copy)
        copy.execute("UPDATE decisions SET reading = '{}'")
    found = report(old, w.policy(tmp_path, to_auto("degraded-hardware")), None)
    # Every decision that reaches the gate's read is unknown, the rules left in observe too.
    assert set(w.changes(found)) == {"vm-degraded-hw", "vm-healthy-again", "vm-approve", "vm-accelnet", "vm-host-crash",
                                     "vmss-web", "vm-shop-000003"}
    assert {kind for kind, *_rest in w.changes(found).values()} == {"unknown"}
    assert found.unknown == 7 and found.acts_differently
    reasons = {c.after.reason for c in found.changes}
    assert all(reason.startswith("not replayable: the resource was not read") for reason in reasons)


@pytest.mark.parametrize("change,code,kinds", [
    (None, 0, ["summary"]),
    (hourly_cap(2), 3, ["decision"] * 4 + ["brake", "writes", "messages", "messages", "messages", "messages", "summary"]),
])
def test_the_command_prints_json_lines_and_says_by_its_exit_code(ledgers, tmp_path, monkeypatch, capsys, change, code, kinds):
    monkeypatch.delenv("RESPONDER_MODE", raising=False)
    policy = w.policy(tmp_path, change)
    assert main(["whatif", "--policy", str(policy), "--state", str(ledgers["auto"]), "--mode", "auto", "--json"]) == code
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["type"] for line in lines] == kinds
    assert lines[-1]["acts_differently"] == (code == 3)


def test_the_table_names_each_rule_and_the_caps(ledgers, tmp_path, capsys):
    assert main(["whatif", "--policy", str(w.policy(tmp_path, hourly_cap(2))), "--state", str(ledgers["auto"]),
                 "--mode", "auto", "--resource", "vm-host-crash"]) == 3
    text = capsys.readouterr().out
    assert text.startswith("3 signals re-decided; 1 decided differently")  # its three signals, one decided differently
    assert "rule host-crashed-again: 1 changed" in text and "redeploy auto skipped [hourly write cap]" in text
    assert f"ARM writes per subscription and hour (cap 2): recorded -> would\n  {DEMO}" in text


@pytest.mark.parametrize("argv,error", [
    (["--policy", "nowhere.yaml"], "--policy nowhere.yaml: no such file"),
    (["--state", "nowhere.sqlite"], "--state nowhere.sqlite: no ledger there"),
    (["--since", "yesterday"], "--since 'yesterday': expected an ISO time"),
])
def test_bad_input_is_named(ledgers, tmp_path, argv, error):
    args = {"--policy": str(w.policy(tmp_path)), "--state": str(ledgers[None])}
    args.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    err = io.StringIO()
    from responder import whatif

    parsed = __import__("responder.cli", fromlist=["parser"]).parser().parse_args(["whatif", *[x for kv in args.items() for x in kv]])
    assert whatif.run(parsed, io.StringIO(), err) == 1
    assert error in err.getvalue()


def test_a_history_decided_without_azure_is_re_decided_without_reads(tmp_path):
    """`replay` without --azure reads nothing and starts nothing: re-decided, the same holds, so a
    rule moved to auto plans its action as it would have then, and nothing is called unknown."""
    from pipeline import Settings
    from tests.conftest import TEST_APPROVAL_SECRET
    from wiring import build_pipeline

    ledger = SqliteLedger(":memory:")
    try:
        w.record(build_pipeline(Settings(approval_secret=TEST_APPROVAL_SECRET), ledger=ledger, notifier=False))
        assert w.what_if(ledger, w.policy(tmp_path), None).changes == []
        found = w.what_if(ledger, w.policy(tmp_path, to_auto("degraded-hardware")), None)
    finally:
        ledger.close()
    assert w.changes(found) == {name: ("mode change", "redeploy", "auto", "planned", ())
                                for name in ("vm-degraded-hw", "vm-healthy-again", "vm-approve")}
    assert found.unknown == 0 and not found.writes


def test_each_decision_keeps_what_the_gate_read_and_counted(ledgers):
    """What re-deciding needs, as the pipeline recorded it: the resource read, the verdict, the
    brakes' counters and slots, the start; and for a refusal before any read, only the counters."""
    ledger = SqliteLedger(ledgers["auto"])
    try:
        rows = {(row["resource_id"].rsplit("/", 1)[-1], row["kind"]): json.loads(row["reading"]) for row in ledger.history()
                if row["resource_id"]}
    finally:
        ledger.close()
    started = rows[("vm-degraded-hw", "annotation")]
    assert (started["action"], started["start"], started["read"]["location"], started["verified"]["holds"]) == (
        "redeploy", "started", "westeurope", True)
    assert started["verified"]["facts"]["annotation_active"] is True
    assert (started["brakes"]["attempts"], started["brakes"]["last_operation_at"]) == (0, None)
    assert {scope.split(":")[0]: slot for scope, slot in started["brakes"]["slots"].items()} == {
        "in-flight": {"cap": 5, "claimed": True}, "writes": {"cap": 30, "claimed": True}}
    refused = rows[("vm-shop-000003", "annotation")]
    assert refused == {"action": "redeploy", "approvals_configured": True,
                       "brakes": {"storm": {"count": 12, "scope": f"vm:{STORM}:"}, "storm_tripped": True}}
    assert rows[("vm-user-restart", "annotation")] == {}  # nothing to act on: nothing read
