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
        "import os, sys; os.environ['AZURE_CLIENT_ID'] = '11111111-2222-3333-4444-555555555555'\n"
        "from actions import AzureClients\n"
        "c = AzureClients.build(subscription_id='s')\n"
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
