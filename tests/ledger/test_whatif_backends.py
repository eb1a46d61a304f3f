"""`whatif` on each backend: the demo's deliveries and its storm recorded on SQLite and on Table
Storage (Azurite) against the simulated Azure, then re-decided from what each ledger kept."""

from __future__ import annotations

import pytest

from tests.responder import whatif_scenario as w


@pytest.mark.parametrize("change,expected", [
    (None, {}),
    (lambda d: d.setdefault("brakes", {}).update(hourly_writes_per_subscription=2), {
        "vm-host-crash": ("no longer taken", "redeploy", "auto", "skipped", ("hourly write cap",)),
        "vm-healthy-again": ("brakes", "redeploy", "auto", "skipped", ("hourly write cap",)),
        "vmss-web": ("no longer taken", "resume-automatic-repairs", "auto", "skipped", ("hourly write cap",)),
        "vm-approve": ("no longer taken", "redeploy", "auto", "skipped", ("hourly write cap",)),
    }),
])
def test_whatif_reads_what_each_backend_recorded(backend, tmp_path, change, expected):
    w.recorded(backend, "auto")
    found = w.what_if(backend, w.policy(tmp_path, change), "auto")
    assert found.signals == 26 and found.unknown == 0
    assert w.changes(found) == expected


def test_the_command_reads_the_table_ledger_named_by_responder_ledger(azurite, tmp_path, monkeypatch, capsys):
    import json

    from ledger import open_ledger
    from responder.cli import main

    from .conftest import drop_tables, fresh_prefix

    prefix = fresh_prefix()
    ledger = open_ledger("table", {"table_connection_string": azurite, "table_prefix": prefix})
    try:
        w.recorded(ledger, "auto")
        for name, value in (("RESPONDER_LEDGER", "table"), ("RESPONDER_TABLE_CONNECTION_STRING", azurite),
                            ("RESPONDER_TABLE_PREFIX", prefix), ("RESPONDER_MODE", "auto")):
            monkeypatch.setenv(name, value)
        policy = w.policy(tmp_path, lambda d: d.setdefault("brakes", {}).update(hourly_writes_per_subscription=2))
        assert main(["whatif", "--policy", str(policy), "--json"]) == 3
        *changes, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert summary == {"type": "summary", "signals": 26, "changed": 4, "unknown": 0, "acts_differently": True}
        assert main(["whatif", "--policy", str(w.policy(tmp_path))]) == 0
        assert capsys.readouterr().out.endswith("nothing would act differently\n")
    finally:
        ledger.close()
        drop_tables(azurite, ledger)
