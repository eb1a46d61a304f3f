"""Fixtures of the security suite: the registered functions, called as the host calls them, and
one simulated Azure per module (a pipeline in auto mode acts against it, so any write shows)."""

from __future__ import annotations

import azure.functions as func
import pytest

from tests.conftest import DEMO_FLEET, DEMO_SUBSCRIPTION, TEST_APPROVAL_SECRET


@pytest.fixture(scope="session")
def functions():
    """The blueprints function_app.py registers, in an app of this suite's own: the Functions
    library refuses a second get_functions() on one app, and tests/functional has function_app's."""
    from handlers import alerts, approvals, event_grid, events, timers

    app = func.FunctionApp()
    for blueprint in (event_grid.bp, alerts.bp, events.bp, timers.bp, approvals.bp):
        app.register_functions(blueprint)
    return {fn.get_function_name(): fn for fn in app.get_functions()}


@pytest.fixture(scope="module")
def module_sim():
    from simulator import SimulatedAzure

    with SimulatedAzure(fleet=DEMO_FLEET) as azure:
        yield azure


@pytest.fixture
def auto_installed(module_sim, ledger):
    """An auto-mode pipeline acting against the module's simulated Azure, behind the triggers."""
    from handlers import runtime
    from pipeline import Settings
    from pipeline.azure import LocalToken, connector
    from wiring import build_pipeline

    settings = Settings(mode="auto", azure="sim", approval_secret=TEST_APPROVAL_SECRET, subscriptions=(DEMO_SUBSCRIPTION,))
    connect = connector(settings, base_url=module_sim.base_url, ca_bundle=module_sim.ca_bundle, credential=LocalToken())
    pipeline = build_pipeline(settings, ledger=ledger, connect=connect, notifier=False)
    runtime.use(pipeline)
    yield pipeline
    runtime.use(None)


def post(route: str, body: bytes, headers: dict | None = None) -> func.HttpRequest:
    return func.HttpRequest("POST", f"https://app.example/api/{route}", headers=headers or {"content-type": "application/json"}, body=body)


def call(functions, name, *args):
    return functions[name].get_user_function()(*args)
