"""The waves tables' conditional moves in the SQLite ledger: what each claim refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

AT = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
EARLIER = AT - timedelta(hours=1)


def member(wave_id: str, name: str, group: str, state: str = "pending") -> dict:
    return {"wave_id": wave_id, "resource_key": f"/vm/{name}", "resource_id": f"/vm/{name}", "incident_id": f"INC-{name}",
            "mode": "auto", "update_group": group, "state": state, "enrolled_at": AT}


def test_one_live_wave_per_scope(ledger):
    first = ledger.live_wave("sub:westeurope", "WAVE-1", AT)
    assert ledger.live_wave("sub:westeurope", "WAVE-2", AT)["id"] == first["id"] == "WAVE-1"
    assert ledger.live_wave("sub:northeurope", "WAVE-3", AT)["id"] == "WAVE-3"


def test_a_member_joins_once_and_only_an_open_wave(ledger):
    ledger.live_wave("s", "WAVE-1", AT)
    assert ledger.add_wave_member(member("WAVE-1", "a", "0"))
    assert not ledger.add_wave_member(member("WAVE-1", "a", "0")), "the same resource twice"
    assert ledger.finish_wave("WAVE-1", AT) is False, "a pending member keeps it open"
    ledger.update_wave_member("WAVE-1", "/vm/a", AT, state="skipped")
    assert ledger.finish_wave("WAVE-1", AT)
    assert not ledger.add_wave_member(member("WAVE-1", "b", "0")), "a finished wave takes no one"
    assert ledger.live_wave("s", "WAVE-2", AT)["id"] == "WAVE-2"


def test_a_member_is_claimed_once_and_only_in_the_update_domain_in_progress(ledger):
    ledger.live_wave("s", "WAVE-1", AT)
    ledger.add_wave_member(member("WAVE-1", "a", "0"))
    ledger.add_wave_member(member("WAVE-1", "b", "1"))
    assert not ledger.claim_wave_member("WAVE-1", "/vm/a", AT), "no update domain in progress"
    assert ledger.claim_group("WAVE-1", "0", AT, EARLIER)
    assert not ledger.claim_group("WAVE-1", "1", AT, EARLIER), "one update domain at a time"
    assert not ledger.claim_wave_member("WAVE-1", "/vm/b", AT), "update domain 1 is not in progress"
    assert ledger.claim_wave_member("WAVE-1", "/vm/a", AT)
    assert not ledger.claim_wave_member("WAVE-1", "/vm/a", AT), "a second worker loses"
    assert not ledger.release_group("WAVE-1", "0", AT), "its member is starting"
    ledger.update_wave_member("WAVE-1", "/vm/a", AT, expect_state="starting", state="done", available_at=AT)
    assert ledger.release_group("WAVE-1", "0", AT)
    assert not ledger.claim_group("WAVE-1", "1", AT, AT - timedelta(minutes=30)), "the pause after update domain 0"
    assert ledger.resting_groups("s", AT - timedelta(minutes=30)) == {"0": ledger.wave_member("WAVE-1", "/vm/a")["available_at"]}
    assert ledger.claim_group("WAVE-1", "0", AT, AT - timedelta(minutes=30)), "the same update domain may go on"
    assert ledger.release_group("WAVE-1", "0", AT)
    assert ledger.claim_group("WAVE-1", "1", AT + timedelta(minutes=31), AT + timedelta(minutes=1))


def test_in_flight_members_of_an_older_wave_hold_the_scope(ledger):
    ledger.live_wave("s", "WAVE-1", AT)
    ledger.add_wave_member(member("WAVE-1", "a", "0"))
    ledger.claim_group("WAVE-1", "0", AT, EARLIER)
    ledger.claim_wave_member("WAVE-1", "/vm/a", AT)
    ledger.update_wave_member("WAVE-1", "/vm/a", AT, state="running")
    assert ledger.stop_wave("WAVE-1", AT, "maintenance of b failed")
    assert ledger.close_wave("WAVE-1", AT, "closed by ana")
    ledger.live_wave("s", "WAVE-2", AT)
    ledger.add_wave_member(member("WAVE-2", "c", "1"))
    assert not ledger.claim_group("WAVE-2", "1", AT, EARLIER), "vm a of the closed wave is still running"
    assert [w["id"] for w in ledger.waves_in_progress()] == ["WAVE-1", "WAVE-2"]
