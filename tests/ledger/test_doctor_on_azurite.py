"""doctor's ledger checks on a real Table Storage (Azurite), reached with a connection string."""

from __future__ import annotations

from tests.responder.conftest import doctor


def test_a_table_ledger_behind_a_connection_string_is_reachable_and_writable(azurite):
    from simulator import SimulatedAzure
    from simulator import deployment as sim_deployment

    with SimulatedAzure() as sim:
        deployment = sim_deployment.install(sim)
        deployment.app_settings.update(RESPONDER_TABLE_CONNECTION_STRING=azurite)
        del deployment.app_settings["RESPONDER_TABLE_ENDPOINT"]
        ledger = {c.name: c for c in doctor(sim, deployment) if c.name.startswith("ledger")}
    assert ledger["ledger: reachable"].status == "PASS", ledger["ledger: reachable"].detail
    assert ledger["ledger: writable by the app"].status == "PASS"
    assert "account key" in ledger["ledger: writable by the app"].detail
    assert not [r for r in sim.requests if r.path.endswith("/Tables")], "read from Azurite, not the simulated Azure"
