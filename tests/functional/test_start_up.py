"""What a worker does when the host loads the app: a worker that acts on Azure builds its
pipeline in the background, so its first remediation does not wait for the ARM clients."""

from __future__ import annotations

import pytest

from handlers import runtime
from tests.conftest import DEMO_SUBSCRIPTION


@pytest.fixture
def fresh_runtime():
    runtime.use(None)
    yield
    runtime.use(None)


def test_a_worker_acting_on_azure_prepares_its_pipeline_at_start_up(sim, tmp_path, monkeypatch, fresh_runtime):
    env = {"RESPONDER_AZURE": "sim", "RESPONDER_ARM_ENDPOINT": sim.base_url, "RESPONDER_CA_BUNDLE": sim.ca_bundle,
           "RESPONDER_LEDGER": f"sqlite:{tmp_path / 'ledger.sqlite'}", "RESPONDER_MODE": "auto",
           "RESPONDER_SUBSCRIPTIONS": DEMO_SUBSCRIPTION}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    thread = runtime.prepare_in_background()
    assert thread is not None
    thread.join(timeout=30)
    prepared = runtime._pipeline
    assert prepared is not None and prepared.remediator is not None, "built before any event"
    assert runtime.pipeline() is prepared, "the first event uses it"
    assert not [r for r in sim.requests if r.counter == "writes"], "preparing writes nothing to ARM"


@pytest.mark.parametrize("env", [{}, {"RESPONDER_AZURE": "none"}, {"RESPONDER_AZURE": " None "}])
def test_a_worker_without_azure_builds_at_first_use(env, fresh_runtime):
    from pipeline import Settings

    assert runtime.prepare_in_background(Settings.from_env(env)) is None
    assert runtime._pipeline is None


def test_a_setting_that_breaks_the_build_is_left_to_the_first_event(monkeypatch, fresh_runtime, caplog):
    from pipeline import SettingsError

    monkeypatch.setenv("RESPONDER_AZURE", "sideways")
    thread = runtime.prepare_in_background()
    thread.join(timeout=30)
    assert runtime._pipeline is None and "not prepared" in caplog.text
    with pytest.raises(SettingsError, match="RESPONDER_AZURE"):
        runtime.pipeline()
