"""What `azd deploy` would put in the package: the app and what it imports, nothing else.

azd zips the project folder less what `.funcignore` names (gitignore syntax). The simulated
Azure (with its certificate maker), the demo, benchmarks and tests are development tools and
must not reach Azure; everything the deployed app imports must.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys

import pytest
from infra_paths import ROOT

FUNCIGNORE = ROOT / ".funcignore"


def ignore_patterns() -> list[str]:
    lines = FUNCIGNORE.read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "negations are not used (older azd mishandled them)"
    return patterns


def ignored(path: str, patterns: list[str]) -> bool:
    """gitignore's rules for the patterns .funcignore uses: a pattern with a slash is anchored at
    the root and names a path or a folder above it; one without matches any path component."""
    parts = path.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern.lstrip("/"):
            anchored = pattern.lstrip("/")
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            if any(fnmatch.fnmatchcase(prefix, anchored) for prefix in prefixes):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern.lstrip("/")) for part in parts):
            return True
    return False


def packaged() -> list[str]:
    """The files the package would hold: what git tracks (a clean clone), less .funcignore's."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    patterns = ignore_patterns()
    return sorted(path for path in tracked if (ROOT / path).is_file() and not ignored(path, patterns))


@pytest.fixture(scope="module")
def package():
    return packaged()


@pytest.mark.parametrize("left_out", ["simulator/", "responder/demo/", "tests/", "bench/", "infra/", "docs/", "scripts/"])
def test_development_tools_stay_out(package, left_out):
    assert [path for path in package if path.startswith(left_out)] == []


@pytest.mark.parametrize("needed", ["function_app.py", "host.json", "requirements.txt", "rules/policy.yaml",
                                    "rules/annotations.yaml", "handlers/alerts.py", "pipeline/settings.py"])
def test_the_app_goes_in(package, needed):
    assert needed in package


def test_no_key_material(package):
    assert [p for p in package if p.endswith((".pem", ".key", ".crt", ".pfx"))] == []


_IMPORTED = """
import json, sys
sys.path.insert(0, sys.argv[1])
import function_app  # noqa: F401  (what the Functions host loads)
from handlers import runtime
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
"""


def test_everything_the_app_imports_is_packaged(package):
    # Load the app as the host does (with the settings the template sets, less Azure) and list the
    # project files it imported: each must be in the package, or the app fails to start in Azure.
    env = {"PATH": "/usr/bin:/bin", "RESPONDER_AZURE": "none"}
    result = subprocess.run([sys.executable, "-c", _IMPORTED, str(ROOT)], cwd="/", env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout.strip().splitlines()[-1])
    ours = sorted({str(__import__("pathlib").Path(f).resolve().relative_to(ROOT)) for f in files
                   if f.startswith(str(ROOT)) and "/.venv" not in f})
    assert ours, "the app imported nothing of its own"
    assert [path for path in ours if path not in package] == []


if __name__ == "__main__":  # `python tests/infra/test_packaging.py`: print what would be packaged
    print("\n".join(packaged()))
