"""The `maintenance:` policy section: defaults, validation errors that name their place, the
owner's window (days, crossing midnight, time zones) and who is left to Azure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from rules.errors import PolicyError
from waves import MaintenancePolicy, MaintenanceWindow, WavePolicyError, parse_maintenance


def test_defaults():
    policy = parse_maintenance(None)
    assert policy == MaintenancePolicy()
    assert policy.include_availability_sets is False
    assert policy.skip_tags == ("short-lived", "large-temp-disk", "resized-often", "uses-scheduled-events")
    assert policy.window.describe() == "Sat, Sun 01:00–05:00 UTC"
    assert policy.pause_between_update_domains == timedelta(minutes=30) and policy.pause_text == "30 min"


def test_the_default_policy_file_parses_with_the_documented_defaults():
    import yaml

    from tests.conftest import ROOT

    section = (yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text()) or {}).get("maintenance")
    assert parse_maintenance(section) == MaintenancePolicy()


def test_a_full_section():
    policy = parse_maintenance({
        "include_availability_sets": True, "skip_tags": ["batch"], "pause_between_update_domains": "PT1H",
        "window": {"days": ["Fri"], "start": "22:00", "end": "02:00", "time_zone": "Europe/Amsterdam"},
    })
    assert policy.include_availability_sets and policy.skip_tags == ("batch",)
    assert policy.window == MaintenanceWindow(("Fri",), time(22), time(2), "Europe/Amsterdam")
    assert policy.pause_text == "60 min" and policy.action_params == {"availability_set_allowed": True}


@pytest.mark.parametrize("section,where", [
    ({"include_availability_sets": "no"}, "include_availability_sets: 'no' is not of type 'boolean'"),
    ({"skip_tag": []}, "(top): Additional properties are not allowed"),
    ({"window": {"days": ["Saturday"], "start": "01:00", "end": "05:00"}}, "window/days/0"),
    ({"window": {"days": ["Sat"], "start": "1am", "end": "05:00"}}, "window/start: '1am' is not a time of day"),
    ({"window": {"days": ["Sat"], "start": "01:00", "end": "25:00"}}, "window/end"),
    ({"window": {"days": ["Sat"], "start": "24:00", "end": "05:00"}}, "window/start: 24:00 is the end of a day"),
    ({"window": {"days": ["Sat"], "start": "03:00", "end": "03:00"}}, "the window would be empty"),
    ({"window": {"days": ["Sat"], "start": "01:00", "end": "05:00", "time_zone": "Mars/Olympus"}}, "not a time zone"),
    ({"window": {"days": [], "start": "01:00", "end": "05:00"}}, "window/days"),
    ({"pause_between_update_domains": "30 minutes"}, "pause_between_update_domains: '30 minutes' is not an ISO 8601"),
])
def test_mistakes_fail_loudly_and_name_their_place(section, where):
    with pytest.raises(WavePolicyError) as caught:
        parse_maintenance(section, where="policy.yaml: maintenance")
    assert str(caught.value).startswith("policy.yaml: maintenance: ") and where in str(caught.value)
    assert isinstance(caught.value, PolicyError), "reported like any other policy mistake"


UTC = UTC
SAT = datetime(2026, 11, 28, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize("window,at,inside", [
    (MaintenanceWindow(), SAT.replace(hour=1), True),
    (MaintenanceWindow(), SAT.replace(hour=4, minute=59), True),
    (MaintenanceWindow(), SAT.replace(hour=5), False),  # the end is not inside
    (MaintenanceWindow(), SAT.replace(hour=0, minute=59), False),
    (MaintenanceWindow(), SAT + timedelta(days=1, hours=2), True),  # Sunday
    (MaintenanceWindow(), SAT - timedelta(days=1) + timedelta(hours=2), False),  # Friday
    # crossing midnight: Fri 22:00 -> Sat 02:00 belongs to Friday
    (MaintenanceWindow(("Fri",), time(22), time(2)), SAT - timedelta(hours=1), True),
    (MaintenanceWindow(("Fri",), time(22), time(2)), SAT + timedelta(hours=1), True),
    (MaintenanceWindow(("Fri",), time(22), time(2)), SAT + timedelta(hours=2), False),
    (MaintenanceWindow(("Fri",), time(22), time(2)), SAT + timedelta(hours=23), False),  # Sat 23:00: not a Friday start
    (MaintenanceWindow(("Sat",), time(22), time(2)), SAT + timedelta(hours=1), False),  # Sat 01:00 is Friday's night
    (MaintenanceWindow(("Sat",), time(0), None), SAT + timedelta(hours=23, minutes=59), True),  # until 24:00
    # local time: 01:00-05:00 in Amsterdam is 00:00-04:00 UTC in winter
    (MaintenanceWindow(("Sat",), time(1), time(5), "Europe/Amsterdam"), SAT.replace(hour=0, minute=30), True),
    (MaintenanceWindow(("Sat",), time(1), time(5), "Europe/Amsterdam"), SAT.replace(hour=4, minute=30), False),
    # and 23:00-03:00 UTC in summer
    (MaintenanceWindow(("Sat",), time(1), time(5), "Europe/Amsterdam"), datetime(2026, 6, 5, 23, 30, tzinfo=UTC), True),
])
def test_the_owners_window(window, at, inside):
    assert window.contains(at) is inside


@pytest.mark.parametrize("facts,reason", [
    ({}, None),
    ({"availability_set": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/AS1"},
     "in availability set AS1: Azure already maintains an availability set one update domain at a time"),
    ({"tags": {"short-lived": "true"}}, "tagged short-lived=true: policy maintenance.skip_tags"),
    ({"tags": {"SHORT-LIVED": "YES"}}, "tagged short-lived=YES"),
    ({"tags": {"resized-often": ""}}, "tagged resized-often="),
    ({"tags": {"resized-often": "false"}}, None),
    ({"tags": {"resized-often": "no"}}, None),
    ({"tags": {"owner": "true"}}, None),
])
def test_who_is_left_to_azure(facts, reason):
    got = MaintenancePolicy().exclusion(facts)
    assert got == reason if reason is None else reason in got


def test_availability_sets_can_be_included():
    policy = MaintenancePolicy(include_availability_sets=True)
    assert policy.exclusion({"availability_set": "avset-demo"}) is None
