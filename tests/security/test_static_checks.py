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
from tests.layout import PRODUCT

APP_CODE = list(PRODUCT)
EXCLUDED = ["tests"]

# A finding read and judged harmless is marked on its line, `# nosec B608 - <why>`: the id keeps the
# mark from hiding any other test on that line, the reason tells the next reader what was judged.
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
MARK = re.compile(r"^ (?P<test>B\d{3}) - \S")


def bandit_findings(*options: str) -> list[dict]:
    exe = shutil.which("bandit", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("bandit is not installed in this environment (requirements-dev.txt pins it)")
    run = subprocess.run([exe, "-q", "-r", *APP_CODE, "-x", ",".join(EXCLUDED), "-f", "json", *options],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = json.loads(run.stdout)
    assert not report["errors"], report["errors"]
    return report["results"]


def nosec_marks() -> dict[tuple[str, int], str]:
    """Every `# nosec` in the app code: (file, line) -> the rest of the comment."""
    marks = {}
    for package in APP_CODE:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(relative.startswith(excluded + "/") for excluded in EXCLUDED):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if found := NOSEC.search(line):
                    marks[(relative, number)] = found["rest"]
    return marks


def test_bandit_is_clean_on_the_app_code():
    findings = bandit_findings()
    assert not findings, "\n".join(f"{f['filename']}:{f['line_number']} {f['test_id']} {f['issue_text']}" for f in findings)


def test_each_nosec_mark_silences_one_real_finding_and_says_why():
    """With the marks ignored, bandit's findings and the marks are the same lines and ids: no bare
    `# nosec`, none left behind when its code changed, none without a reason, and nothing HIGH."""
    findings = bandit_findings("--ignore-nosec")
    assert not [f for f in findings if f["issue_severity"] == "HIGH"]
    reported = {(f["filename"].removeprefix("./"), f["line_number"]): f["test_id"] for f in findings}
    marks = nosec_marks()
    unexplained = [f"{file}:{line} `# nosec{rest}`" for (file, line), rest in marks.items() if not MARK.match(rest)]
    assert not unexplained, "each mark wants `# nosec BXXX - <reason>`:\n" + "\n".join(unexplained)
    marked = {place: MARK.match(rest)["test"] for place, rest in marks.items()}
    assert marked == reported


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
