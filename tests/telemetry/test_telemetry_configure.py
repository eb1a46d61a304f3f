"""configure(): Azure Monitor only with a connection string, once, and never at import cost."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import telemetry
import telemetry.setup as setup
from pipeline.settings import telemetry_settings  # the one reader of the environment

ROOT = Path(__file__).resolve().parents[2]
CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1/"
HEAVY = ("azure.monitor", "opentelemetry.sdk", "azure.identity", "opentelemetry.instrumentation")


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    for name in (setup.CONNECTION_STRING, setup.AUTHENTICATION_STRING, "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    setup._reset()
    yield
    setup._reset()


@pytest.fixture
def recorded(monkeypatch):
    """Replace the distro's entry point with a recorder: the real one would start exporters."""
    import azure.monitor.opentelemetry as distro

    calls = []
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kw: calls.append(kw))
    return calls


def run_isolated(code, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env.update(env_extra or {})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_connection_string_nothing_heavy_is_imported():
    # A fresh interpreter: the test process itself has long imported the SDK.
    loaded = run_isolated(
        "import json, sys, telemetry\n"
        "on = telemetry.configure(telemetry.TelemetrySettings())\n"
        "telemetry.signal_received('annotation')\n"
        f"heavy = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))\n"
        "print(json.dumps({'on': on, 'heavy': heavy}))\n"
    )
    assert loaded == {"on": False, "heavy": []}


def test_importing_the_package_imports_nothing_heavy():
    loaded = run_isolated(
        "import json, sys, telemetry\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n",
        {setup.CONNECTION_STRING: CONNECTION},
    )
    assert loaded == []


def test_without_connection_string_the_distro_is_not_called(recorded):
    assert telemetry.configure(telemetry_settings()) is False
    assert recorded == []


def test_blank_connection_string_counts_as_absent(recorded, monkeypatch):
    monkeypatch.setenv(setup.CONNECTION_STRING, "   ")
    assert telemetry.configure(telemetry_settings()) is False
    assert recorded == []


def test_with_connection_string_configures_once(recorded, monkeypatch):
    monkeypatch.setenv(setup.CONNECTION_STRING, CONNECTION)
    assert telemetry.configure(telemetry_settings()) is True
    assert telemetry.configure(telemetry_settings()) is True
    assert recorded == [{"connection_string": CONNECTION, "logger_name": setup.EXPORTED_LOGGER}]


@pytest.mark.parametrize(
    ("auth", "client_env", "expected_client"),
    [
        ("Authorization=AAD;ClientId=11111111-1111-1111-1111-111111111111", None,
         "11111111-1111-1111-1111-111111111111"),
        ("ClientId=22222222-2222-2222-2222-222222222222;Authorization=aad", None,
         "22222222-2222-2222-2222-222222222222"),
        ("Authorization=AAD", "33333333-3333-3333-3333-333333333333", "33333333-3333-3333-3333-333333333333"),
    ],
    ids=["client-id-in-string", "any-order-any-case", "client-id-from-environment"],
)
def test_entra_ingestion_uses_the_user_assigned_identity(recorded, monkeypatch, auth, client_env, expected_client):
    from azure.identity import ManagedIdentityCredential

    monkeypatch.setenv(setup.CONNECTION_STRING, CONNECTION)
    monkeypatch.setenv(setup.AUTHENTICATION_STRING, auth)
    if client_env:
        monkeypatch.setenv("AZURE_CLIENT_ID", client_env)
    created = []

    class Recording(ManagedIdentityCredential):
        def __init__(self, **kwargs):
            created.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr("azure.identity.ManagedIdentityCredential", Recording)
    assert telemetry.configure(telemetry_settings()) is True
    assert created == [{"client_id": expected_client}]
    assert isinstance(recorded[0]["credential"], Recording)


def test_a_failing_distro_is_logged_not_raised(monkeypatch, caplog):
    import azure.monitor.opentelemetry as distro

    def broken(**_):
        raise ValueError("bad connection string")

    monkeypatch.setattr(distro, "configure_azure_monitor", broken)
    monkeypatch.setenv(setup.CONNECTION_STRING, CONNECTION)
    assert telemetry.configure(telemetry_settings()) is False
    assert "could not be configured" in caplog.text
    # Not marked as configured: a later call may try again.
    assert setup._configured is False
