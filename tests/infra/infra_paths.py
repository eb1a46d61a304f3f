"""Where the infrastructure and the tools that check it live (shared by the tests here)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TOOLS_VENV = ROOT / ".venv-tools"
TOOLS_PYTHON = TOOLS_VENV / "bin" / "python"
CHECKOV = TOOLS_VENV / "bin" / "checkov"
INSTALL_TOOLS = "sh scripts/install-tools.sh"

# Collected at import so each file is its own test case.
BICEP_FILES = sorted(path.relative_to(ROOT).as_posix() for path in INFRA.rglob("*.bicep"))
