"""AzureClients: built once per worker and settings, one client per subscription, lazy identity."""

from __future__ import annotations

import subprocess
import sys

import pytest

from actions import AzureClients


def test_build_is_cached_per_settings():
    AzureClients.clear_cache()
    a = AzureClients.build(subscription_id="s1", base_url="https://127.0.0.1:1", connection_verify=False)
    b = AzureClients.build(subscription_id="s1", base_url="https://127.0.0.1:1", connection_verify=False)
    c = AzureClients.build(subscription_id="s1", base_url="https://127.0.0.1:2", connection_verify=False)
    assert a is b and a is not c
    AzureClients.clear_cache()


def test_one_client_per_subscription(sim, clients):
    assert clients.compute() is clients.compute("00000000-0000-0000-0000-0000000000A1")
    assert clients.compute("other") is not clients.compute()
    assert clients.health() is clients.health()
    assert clients.compute()._config.polling_interval == 0


def test_default_credential_is_lazy_and_uses_the_identity_setting():
    code = (
        "import sys\n"
        "from actions import AzureClients\n"
        "c = AzureClients.build(subscription_id='s', client_id='11111111-2222-3333-4444-555555555555')\n"
        "assert 'azure.identity' not in sys.modules\n"
        "cred = c.credential\n"
        "print(type(cred).__name__, 'azure.identity' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["DefaultAzureCredential", "True"]


def test_no_subscription_is_a_clear_error(monkeypatch):
    from actions.errors import NoSubscriptionError

    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    clients = AzureClients(credential=object())
    with pytest.raises(NoSubscriptionError):
        clients.compute()


def test_every_subscription_shares_one_connection(sim, clients):
    """One HTTP session for all clients: reading through three subscriptions' compute clients and
    a Resource Health client opens one TLS connection, not one per client."""
    from actions.errors import ActionError
    from actions.lro import azure_errors

    for subscription in (None, "00000000-0000-0000-0000-0000000000b2", "00000000-0000-0000-0000-0000000000b3"):
        try:
            with azure_errors("listing", write=False):
                list(clients.compute(subscription).virtual_machines.list_all())
        except ActionError:
            pass  # a subscription the simulated Azure does not know: still an answer on the connection
    list(clients.health().availability_statuses.list_by_subscription_id())
    assert len([r for r in sim.requests if r.method == "GET"]) == 4
    pools = clients._session.transport().session.get_adapter(sim.base_url).poolmanager.pools
    assert sum(pools[key].num_connections for key in pools.keys()) == 1


def test_waits_are_bounded(clients):
    """The SDK's defaults wait 300 s to connect and for an answer; a trigger has 10 minutes."""
    config = clients.compute()._client._pipeline._transport.connection_config
    assert (config.timeout, config.read_timeout) == (10, 30)


def test_warming_up_sends_nothing_to_arm(sim, clients):
    clients.warm()
    assert [r for r in sim.requests if r.counter] == []
