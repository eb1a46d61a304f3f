"""The audit trail's retention: the setting at its edges, never shorter than what a decision
looks back on, and the daily purge timer through the registered function."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intake.deliveries import parse_delivery
from pipeline import Settings, SettingsError
from pipeline.retention import kept_for
from tests import builders as b


@pytest.mark.parametrize(("value", "days"), [(None, 90), ("", 90), ("7", 7), (" 30 ", 30), ("3650", 3650)])
def test_the_retention_setting_is_read_in_days(value, days):
    env = {} if value is None else {"RESPONDER_RETENTION_DAYS": value}
    assert Settings.from_env(env).retention_days == days


@pytest.mark.parametrize("value", ["6", "3651", "0", "-30", "90d", "P90D", "ninety"])
def test_a_retention_outside_a_week_to_ten_years_is_refused(value):
    with pytest.raises(SettingsError, match=rf"^RESPONDER_RETENTION_DAYS={value!r}: expected a whole number of days from 7 to 3650$"):
        Settings.from_env({"RESPONDER_RETENTION_DAYS": value})


def test_the_ledger_keeps_at_least_what_the_policy_looks_back_on(make_pipeline, tmp_path):
    pipeline = make_pipeline()
    assert kept_for(pipeline, Settings(retention_days=7)) == timedelta(days=7)
    policy = (tmp_path / "policy.yaml")
    policy.write_text(Settings().policy_path.read_text().replace("incident_ttl: P1D", "incident_ttl: P30D"))
    longer = make_pipeline(policy_path=policy)
    assert kept_for(longer, Settings(retention_days=7)) == timedelta(days=30)
    assert kept_for(longer, Settings(retention_days=31)) == timedelta(days=31)


def test_the_purge_timer_forgets_what_is_past_the_retention(make_pipeline, ledger, clock, monkeypatch):
    import azure.functions as func
    from azure.functions.timer import TimerRequest

    from handlers import runtime, timers

    pipeline = make_pipeline()
    b.EVENTS_AT = clock.now - timedelta(minutes=5)
    try:
        pipeline.process(parse_delivery(b.body(b.annotated("AccelnetUnhealthy", target=b.vm_id("vm-old"))), "old"))
        clock.advance(days=91)
        b.EVENTS_AT = clock.now - timedelta(minutes=5)
        pipeline.process(parse_delivery(b.body(b.annotated("AccelnetUnhealthy", target=b.vm_id("vm-new"))), "new"))
    finally:
        b.EVENTS_AT = None
    assert len(list(ledger.history())) == 2
    monkeypatch.setenv("RESPONDER_RETENTION_DAYS", "90")
    # An app of this test's own with the timers' Blueprint, as function_app.py registers it: the
    # Functions library refuses a second get_functions() on one app, and other suites use that one.
    app = func.FunctionApp()
    app.register_functions(timers.bp)
    purge = next(fn for fn in app.get_functions() if fn.get_function_name() == "purge").get_user_function()
    runtime.use(pipeline)
    try:
        purge(TimerRequest(past_due=False))
    finally:
        runtime.use(None)
    assert [row["resource_id"] for row in ledger.history()] == [b.vm_id("vm-new")]
