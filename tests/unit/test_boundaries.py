"""Who may import what (DESIGN.md §3), and what a cold start pays for."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_cold_start_imports_no_heavy_sdk():
    probe = (
        "import sys, function_app\n"
        "heavy = [m for m in sys.modules if m.startswith(('azure.mgmt', 'msgraph', 'azure.identity', 'azure.data', 'jsonschema', 'azure.monitor'))]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
