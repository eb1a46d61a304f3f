"""Every Bicep file parses (pycep-parser, the parser checkov itself uses)."""

import pytest
from infra_paths import BICEP_FILES


def test_there_is_infrastructure_to_check():
    assert "infra/main.bicep" in BICEP_FILES
    assert len(BICEP_FILES) >= 5


@pytest.mark.parametrize("path", BICEP_FILES)
def test_bicep_file_parses(parsed_bicep, path):
    entry = parsed_bicep[path]
    assert entry["error"] is None, f"{path}: {entry['error']}"
    assert entry["tree"]["resources"] or entry["tree"].get("modules"), f"{path} declares nothing"
