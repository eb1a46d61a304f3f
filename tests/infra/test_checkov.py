"""checkov passes on infra/ with no failed check; every skip is deliberate and explained."""

import re

import pytest
from infra_paths import BICEP_FILES, ROOT

SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def skips_in_files():
    """[(file, check id, reason)] for every skip comment written in the Bicep files."""
    found = []
    for path in BICEP_FILES:
        for line in (ROOT / path).read_text(encoding="utf-8").splitlines():
            match = SKIP.search(line)
            if match:
                found.append((path, match.group(1), (match.group(2) or "").strip()))
    return found


def test_checkov_finds_no_failed_check(checkov_report):
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for c in checkov_report["results"].get("failed_checks", [])
    ]
    assert failed == []
    assert checkov_report["summary"]["failed"] == 0


def test_checkov_parses_every_file(checkov_report):
    # A file checkov cannot parse is silently not scanned: that must fail too.
    assert checkov_report["summary"]["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert checkov_report["summary"]["passed"] > 0
    assert checkov_report["summary"]["resource_count"] > 0


@pytest.mark.parametrize(("path", "check_id", "reason"), skips_in_files(), ids=lambda v: str(v)[:40])
def test_every_skip_has_a_reason(path, check_id, reason):
    assert len(reason) >= 15, f"{path}: skip of {check_id} needs a reason a reviewer can judge"


def test_every_skip_is_used(checkov_report):
    # A skip that no longer matches a finding hides nothing today but would hide a new one.
    used = {
        (c["file_path"].lstrip("/"), c["check_id"])
        for c in checkov_report["results"].get("skipped_checks", [])
    }
    written = {(path.removeprefix("infra/"), check_id) for path, check_id, _ in skips_in_files()}
    assert written - used == set()
