"""Fixtures for the infrastructure checks: the Bicep files parsed once, checkov run once.

pycep-parser and checkov live in .venv-tools (checkov's dependencies conflict with the app's
pins), so both run there by subprocess. A missing tool is a failure, never a skip: the
infrastructure must not go unchecked because a machine lacks a tool.

pycep (and so checkov) predates Bicep's `extension` statement (the Microsoft Graph extension in
infra/app/graph-permissions.bicep): both read a copy of infra/ with those lines blanked out
(`without_extensions`), so every other line of every file is still parsed and checked.
"""

import json
import re
import shutil
import subprocess

import pytest
from infra_paths import BICEP_FILES, CHECKOV, INSTALL_TOOLS, ROOT, TOOLS_PYTHON

# Runs inside .venv-tools: parse every file named on the command line, report per file.
_PARSE_ALL = """
import json, re, sys
from pycep import BicepParser
out = {}
for path in sys.argv[1:]:
    try:
        text = re.sub(r"(?m)^extension .*$", "", open(path, encoding="utf-8").read())
        out[path] = {"tree": BicepParser().parse(text=text), "error": None}
    except Exception as exc:
        out[path] = {"tree": None, "error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out, default=str))
"""


def require(tool):
    if not tool.exists():
        pytest.fail(f"{tool.relative_to(ROOT)} is missing: run `{INSTALL_TOOLS}` first", pytrace=False)
    return tool


@pytest.fixture(scope="session")
def parsed_bicep():
    """{relative path: {"tree": pycep's JSON or None, "error": message or None}}."""
    python = require(TOOLS_PYTHON)
    result = subprocess.run(
        [str(python), "-c", _PARSE_ALL, *BICEP_FILES],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"pycep could not run in .venv-tools (run `{INSTALL_TOOLS}`):\n{result.stderr}", pytrace=False)
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def bicep(parsed_bicep):
    """The parsed tree of one file, by its path relative to the repository."""

    def tree(path):
        entry = parsed_bicep[path]
        assert entry["error"] is None, f"{path} does not parse: {entry['error']}"
        return entry["tree"]

    return tree


EXTENSION_LINE = re.compile(r"(?m)^extension .*$")


def without_extensions(target):
    """A copy of infra/ under `target` with `extension` lines blanked (line numbers kept)."""
    copy = target / "infra"
    shutil.copytree(ROOT / "infra", copy)
    for path in copy.rglob("*.bicep"):
        text = path.read_text(encoding="utf-8")
        path.write_text(EXTENSION_LINE.sub("", text), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory):
    """checkov's JSON report for infra/ (the bicep framework; no network)."""
    checkov = require(CHECKOV)
    workdir = without_extensions(tmp_path_factory.mktemp("checkov"))
    result = subprocess.run(
        [str(checkov), "-d", "infra", "--framework", "bicep", "--skip-download", "--compact", "-o", "json"],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )
    # Exit code 1 means "failed checks": the report says which, so read it either way.
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {result.returncode}):\n{result.stderr[-2000:]}", pytrace=False)
    reports = report if isinstance(report, list) else [report]
    bicep_reports = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep_reports) == 1, f"expected one bicep report, got {[r.get('check_type') for r in reports]}"
    return bicep_reports[0]
