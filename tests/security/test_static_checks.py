"""Static checks: bandit over the app code, and a secret scan of every file git tracks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP_CODE = ["handlers", "pipeline", "rules", "ledger", "actions", "notify", "approvals", "sweep", "waves", "responder", "telemetry"]
EXCLUDED = ["responder/sim", "tests"]

# Findings read one by one and judged harmless; each wants a `# nosec <id> - <reason>` in the app
# code (the xfail below), after which this table empties.
REVIEWED = {
    ("ledger/operations_sqlite.py", "B608"): "UPDATE/SELECT built from fixed column names and '?' marks; every value is bound",
    ("ledger/safety_sqlite.py", "B608"): "WHERE chosen between two fixed clauses, IN (?, ...) marks; values bound",
    ("ledger/sqlite.py", "B608"): "IN (?, ...) marks for a constant tuple; the optional WHERE joins fixed clauses; values bound",
    ("ledger/waves_sqlite.py", "B608"): "column names checked against _MEMBER_COLUMNS first; IN (?, ...) marks; values bound",
    ("ledger/table_service.py", "B311"): "random jitter for the back-off of conditional writes, not a secret",
    ("rules/documents.py", "B506"): "yaml.load with CSafeLoader or SafeLoader: a safe loader, which bandit cannot see",
    ("rules/matchers.py", "B101"): "an import-time consistency check of two constant tables, not a guard on input",
}


def bandit_findings() -> list[dict]:
    exe = shutil.which("bandit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("bandit is not installed in this environment (requirements-dev.txt pins it)")
    run = subprocess.run([exe, "-q", "-r", *APP_CODE, "-x", ",".join(EXCLUDED), "-f", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = json.loads(run.stdout)
    assert not report["errors"], report["errors"]
    return report["results"]


@pytest.fixture(scope="module")
def findings():
    return bandit_findings()


def test_bandit_finds_nothing_beyond_the_reviewed_findings(findings):
    unreviewed = [f"{f['filename']}:{f['line_number']} {f['test_id']} {f['issue_text']}" for f in findings
                  if (f["filename"].removeprefix("./"), f["test_id"]) not in REVIEWED]
    assert not unreviewed, "\n".join(unreviewed)
    assert not [f for f in findings if f["issue_severity"] == "HIGH"]


@pytest.mark.xfail(strict=True, reason=(
    "`bandit -r` on the app code reports 11 findings, all judged harmless (see REVIEWED): B608 on the SQL built "
    "from fixed column names and '?' marks in ledger/operations_sqlite.py:103,114, safety_sqlite.py:54,66, "
    "sqlite.py:215,237, waves_sqlite.py:104,245; B311 on the back-off jitter in ledger/table_service.py:34; B101 on "
    "the import-time assert in rules/matchers.py:96; B506 on yaml.load with a safe loader in rules/documents.py:13. Each needs a `# nosec <id> - <reason>` (the assert: raise instead)"))
def test_bandit_is_clean_on_the_app_code(findings):
    assert not findings


# -- secret scan --------------------------------------------------------------------------------

# Azurite's published development account key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

PATTERNS = {
    "storage account key": re.compile(r"AccountKey=([A-Za-z0-9+/=]{20,})"),
    "shared access signature": re.compile(r"[?&;]sig=([A-Za-z0-9%+/=]{30,})"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "bearer token": re.compile(r"Bearer\s+([A-Za-z0-9\-_.~+/]{24,}=*)"),
    "JSON web token": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "Entra client secret": re.compile(r"[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}"),
    "Application Insights key": re.compile(r"InstrumentationKey=([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I),
    "AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "GitHub token": re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),
    "Slack or Teams connector": re.compile(r"https://[a-z0-9.-]+\.webhook\.office\.com/webhookb2/[^\s\"']+"),
}


def allowed(kind: str, match: re.Match) -> bool:
    secret = match.group(1) if match.groups() else match.group(0)
    if kind == "storage account key":
        return secret == AZURITE_KEY or secret.startswith("{")
    if kind == "Application Insights key":
        return set(secret.replace("-", "")) <= {"0"}  # the zero GUID of examples
    return False


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def test_no_secret_in_any_tracked_file():
    files = tracked_files()
    assert len(files) > 100
    found = []
    for path in files:
        raw = path.read_bytes()
        if b"\0" in raw[:4096]:
            continue  # binary
        text = raw.decode("utf-8", "replace")
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                if not allowed(kind, match):
                    found.append(f"{path.relative_to(ROOT)}: {kind}: {match.group(0)[:60]}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("kind,sample", [
    ("storage account key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + "Q" * 86 + "==;"),
    ("private key", "-----BEGIN RSA " + "PRIVATE KEY-----"),
    ("bearer token", "Authorization: Bearer " + "abcDEF123" * 4),
    ("shared access signature", "https://x.logic.azure.com/workflows/1/invoke?sv=1.0&sig=" + "aB3" * 15),
    ("Entra client secret", "abc8Q~" + "x" * 34),
])
def test_the_scan_would_see_each_kind_of_secret(kind, sample):
    match = PATTERNS[kind].search(sample)
    assert match and not allowed(kind, match)
