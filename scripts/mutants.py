"""Mutation testing of the modules that guard writes: `make mutants` (all of them, one after the
other) or `make mutants MODULE=approvals/tokens.py` (one).

Each module is mutated by mutmut (pinned in requirements-dev.txt) in a scratch copy of the
tracked files, against only the tests that cover it: one module at a time, one test process at
a time, so a shared machine stays usable. Prints each module's score and surviving mutants;
docs/mutation-testing.md records them and why each survivor is equivalent or accepted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# module -> the tests that cover it
MODULES = {
    "approvals/tokens.py": ["tests/approvals/test_tokens.py"],
    "pipeline/gate.py": ["tests/functional/test_gate_cases.py"],
    "rules/brakes.py": ["tests/rules/test_policy.py", "tests/functional/test_brake_boundaries.py"],
    "pipeline/safety.py": ["tests/pipeline/test_safety_cases.py"],
    "actions/statuses.py": ["tests/actions/test_statuses.py"],
    # The contract tests' Table Storage half needs Azurite (node_modules), which the scratch copy lacks.
    "ledger/claims.py": ["tests/ledger/test_claim_book.py", "tests/ledger/test_sqlite.py"],
    "actions/live_state.py": ["tests/actions/test_live_state.py"],
}
sys.path.insert(0, str(ROOT))
from tests.layout import DEVELOPMENT, PRODUCT  # noqa: E402 - the one package list, read once the root is on the path

# What mutmut copies beside the mutated module: the product, the simulator the tests start, the tests.
PACKAGES = [*PRODUCT, *[p for p in DEVELOPMENT if p in ("simulator", "tests")], "function_app.py", "pytest.ini", "pyproject.toml"]


def run(module: str, tests: list[str]) -> tuple[int, int, list[str]]:
    """(killed, total, survivors' names) for one module."""
    mutmut = Path(sys.executable).with_name("mutmut")
    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
        subprocess.run(["cp", "--parents", "-t", scratch, *[t.decode() for t in tracked if t]], cwd=ROOT, check=True)
        also = "\n    ".join(PACKAGES)
        (Path(scratch) / "setup.cfg").write_text(
            f"[mutmut]\nsource_paths = {module}\npytest_add_cli_args_test_selection = {chr(10).join('    ' + t for t in tests).strip()}\n"
            f"also_copy = {also}\n")
        subprocess.run([str(mutmut), "run", "--max-children", "1"], cwd=scratch, stdout=subprocess.DEVNULL)
        results = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=scratch, capture_output=True, text=True).stdout
        rows = re.findall(r"^\s*(\S+): (\w[\w ]*)$", results, re.MULTILINE)
        survivors = []
        for name, status in rows:
            if status == "survived":  # the name and the change, for docs/mutation-testing.md
                shown = subprocess.run([str(mutmut), "show", name], cwd=scratch, capture_output=True, text=True).stdout
                change = [line for line in shown.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
                survivors.append(name + "\n        " + "\n        ".join(change))
    killed = sum(1 for _, status in rows if status == "killed")
    return killed, len(rows), survivors


def main(argv: list[str]) -> int:
    wanted = argv or list(MODULES)
    unknown = [m for m in wanted if m not in MODULES]
    if unknown:
        print(f"mutants: not a module of the list: {', '.join(unknown)} (known: {', '.join(MODULES)})", file=sys.stderr)
        return 2
    for module in wanted:
        killed, total, survivors = run(module, MODULES[module])
        score = f"{100 * killed / total:.0f}%" if total else "no mutants"
        print(f"{module}: {killed} of {total} mutants killed ({score})")
        for name in survivors:
            print(f"    survived: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
