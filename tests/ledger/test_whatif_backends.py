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
