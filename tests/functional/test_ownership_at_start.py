"""A worker whose policy lifts a built-in ownership marker says so at every start (a warning in
the log), so acting on platform-managed machines is never a silent choice."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("lift,warned", [([], []), (["databricks"], ["'databricks'"]), (["aks", "managed-by"], ["'aks'", "'managed-by'"])])
def test_a_worker_warns_at_start_for_each_lifted_built_in(tmp_path, caplog, lift, warned):
    import logging

    import yaml

    from pipeline import Settings
    from tests.conftest import ROOT
    from wiring import build_pipeline

    document = yaml.safe_load((ROOT / "rules" / "policy.yaml").read_text())
    document["leave_alone"] = {"lift": lift}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document))
    with caplog.at_level(logging.WARNING, logger="responder"):
        build_pipeline(Settings(policy_path=path, ledger=f"sqlite:{tmp_path / 'ledger.sqlite'}"), notifier=False)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "leave_alone lifts" in r.getMessage()]
    assert [line.split("built-in ")[1].split(" ")[0] for line in lines] == warned
    assert all(f"policy={path}" in line for line in lines)
