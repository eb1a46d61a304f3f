"""Fixtures for approvals: a ledger that keeps approvals, a signing secret, the service, and a
pipeline that turns awaiting-approval decisions into approvals (as the wiring does)."""

from __future__ import annotations

import pytest

SECRET = "s3cret-for-tests-only-0123456789abcdef"  # 37 bytes: over the 32-byte floor
PUBLIC_URL = "https://responder.example"


@pytest.fixture
def approvals_ledger():
    """The SQLite ledger, which keeps approvals (its tables are part of its schema)."""
    from ledger import SqliteLedger

    return SqliteLedger


@pytest.fixture
def ledger(approvals_ledger):
    store = approvals_ledger(":memory:")
    yield store
    store.close()


@pytest.fixture
def service(ledger, clock):
    from approvals import Approvals

    return Approvals(ledger, SECRET, PUBLIC_URL, clock)


def with_approvals(pipeline, public_url: str = PUBLIC_URL):
    """The pipeline's Approvals: the wiring's when it made them (a secret in the settings), else
    added the way the wiring adds them, ahead of the notifications."""
    from approvals import ApprovalConfigError, ApprovalRequests, Approvals, approvals_of

    try:
        return approvals_of(pipeline)
    except ApprovalConfigError:
        requests = ApprovalRequests(Approvals(pipeline.ledger, SECRET, public_url, pipeline.clock))
        pipeline.listeners.insert(0, requests)
        return requests.approvals


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def request(service, **changes):
    fields = dict(incident_id="INC-0000000001", signal_id=None, action="redeploy",
                  resource_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
                  mode="approve", params={"signal_annotation": "AccelnetUnhealthy"}, facts={"power_state": "running"},
                  reason="the host is failing")
    return service.request(**{**fields, **changes})
