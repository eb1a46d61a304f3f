"""Who may import what (DESIGN.md §3), and what a cold start pays for."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

APP_PACKAGES = {"handlers", "rules", "ledger", "pipeline", "actions", "notify", "responder", "telemetry"}


def imports_of(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_rules_imports_no_azure_sdk_and_nothing_else_of_the_app():
    imported = imports_of("rules")
    assert not [m for m in imported if m.startswith(("azure", "msgraph"))]
    assert not [m for m in imported if m.split(".")[0] in APP_PACKAGES - {"rules"}]


def test_handlers_never_call_an_sdk_directly():
    imported = imports_of("handlers")
    assert not [m for m in imported if m.startswith(("azure.mgmt", "azure.identity", "azure.data", "msgraph"))]


HEAVY = ("azure.mgmt", "msgraph", "azure.identity", "azure.data", "azure.core", "httpx", "jsonschema", "azure.monitor")
# Not heavy, but not needed by a worker that handles events with the shipped policy, no Azure
# connection and no approvals: YAML (the shipped documents come parsed, rules/validation.py),
# the waves and the approvals packages.
FIRST_EVENT_SPARES = HEAVY + ("yaml", "waves", "approvals")


def loaded_after(code: str, prefixes: tuple[str, ...], tmp_path: Path) -> list[str]:
    """The modules under `prefixes` a fresh process has loaded after running `code`."""
    probe = code + (f"\nimport sys\nprint(','.join(sorted(m for m in sys.modules if any(m == p or m.startswith(p + '.') for p in {prefixes!r}))))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESPONDER_") and k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    env["RESPONDER_LEDGER"] = f"sqlite:{tmp_path / 'ledger.sqlite'}"
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [m for m in run.stdout.strip().split(",") if m]


def test_cold_start_imports_no_heavy_sdk(tmp_path):
    assert loaded_after("import function_app", HEAVY, tmp_path) == []


def test_the_first_event_imports_only_what_it_needs(tmp_path):
    from bench.coldstart import FIRST_EVENT  # what the cold-start benchmark measures

    assert loaded_after(FIRST_EVENT, FIRST_EVENT_SPARES, tmp_path) == []
