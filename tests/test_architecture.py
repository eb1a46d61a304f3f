"""Who may import what (docs/architecture.md, the floors in pyproject.toml), and what a cold
start pays for."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.layout import DEVELOPMENT, FLOORS, LEDGER_BACKENDS, PRODUCT, sources

# The command line's simulated-Azure session is the one seam where the product reaches the
# simulator, lazily and only for `sim`, `demo`, `--azure sim` and `doctor --sim`: the deployment
# leaves the simulator out (.funcignore), and none of these run in Azure.
SIMULATOR_SEAMS = {"responder/cli.py", "responder/azure_session.py", "responder/doctor/simulated.py"}


def imports_in(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, at module level) for every absolute import in a file, lazy ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, id(node) in top))
    return found


def imports_of(package: str) -> set[str]:
    return {module for path in sources(package) for _, module, _ in imports_in(path)}


def edges(files_of=sources) -> list[tuple[str, int, str, str]]:
    """(file, line, importer, imported) for every import of one first-party package by another."""
    ours = set(FLOORS) | set(DEVELOPMENT)
    found = []
    for package in FLOORS:
        for path in files_of(package):
            for line, module, _ in imports_in(path):
                target = module.split(".")[0]
                if target in ours and target != package:
                    found.append((path.name, line, package, target))
    return found


def upward(found) -> list[str]:
    return [f"{file}:{line} {importer} (floor {FLOORS[importer]}) imports {target}"
            for file, line, importer, target in found if target in FLOORS and FLOORS[target] >= FLOORS[importer]]


def test_the_package_list_names_every_package_in_the_tree():
    on_disk = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == set(PRODUCT) | set(DEVELOPMENT) - {"scripts"}  # scripts/ is a folder of scripts
    assert set(FLOORS) == set(PRODUCT) | {"function_app"}


def test_ruff_and_mypy_know_the_same_packages():
    """isort's first-party list and mypy's files are the package list's, not a drifting copy."""
    import tomllib

    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert set(tool["ruff"]["lint"]["isort"]["known-first-party"]) == set(PRODUCT) | set(DEVELOPMENT) | {"function_app"}
    assert set(tool["mypy"]["files"]) == set(PRODUCT) | {"function_app.py"}


def test_the_architecture_page_shows_each_room_on_its_floor():
    """docs/architecture.md's table of rooms is the floors of pyproject.toml, room for room."""
    import re

    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    shown = {name.removesuffix("/").removesuffix(".py"): int(floor)
             for floor, name in re.findall(r"^\| (\d+) \| `([a-z_]+/?(?:\.py)?)` \|", page, re.MULTILINE)}
    assert shown == FLOORS


def test_every_import_goes_down_a_floor():
    assert upward(edges()) == []


@pytest.mark.parametrize(("package", "imported"), [("pipeline", "approvals"), ("rules", "telemetry"), ("waves", "sweep")])
def test_an_import_up_or_across_a_floor_is_caught(package, imported, tmp_path):
    """The check reads what is in the tree: one more file importing up (lazily) or across is reported."""
    probe = tmp_path / "probe.py"
    probe.write_text(f"def later():\n    import {imported}\n")
    found = edges(lambda name: sources(name) + ([probe] if name == package else []))
    assert [line for line in upward(found) if line.startswith("probe.py")] == [
        f"probe.py:2 {package} (floor {FLOORS[package]}) imports {imported}"]


def ledger_modules_imported(path: Path, package: tuple[str, ...]) -> set[str]:
    """The `ledger.*` names a module of `package` imports (`from .keys import clip` is
    ledger.table.keys.clip), relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found |= {f"{module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {module for module in found if module.split(".")[0] == "ledger"}


def crossings(backend: str, path: Path) -> list[str]:
    return [f"{path.name} imports {module}" for module in sorted(ledger_modules_imported(path, ("ledger", backend)))
            if module.split(".")[1] in LEDGER_BACKENDS and module.split(".")[1] != backend]


def test_each_ledger_backend_is_a_package_that_imports_no_other_backend():
    on_disk = {p.name for p in (ROOT / "ledger").iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == set(LEDGER_BACKENDS)
    assert [line for backend in LEDGER_BACKENDS for path in sorted((ROOT / "ledger" / backend).rglob("*.py"))
            for line in crossings(backend, path)] == []


@pytest.mark.parametrize(("source", "found"), [
    ("from ..table import keys\n", ["probe.py imports ledger.table.keys"]),
    ("from ..table.keys import clip\n", ["probe.py imports ledger.table.keys.clip"]),
    ("def later():\n    from ledger.table import TableLedger\n", ["probe.py imports ledger.table.TableLedger"]),
    ("from . import outbox\nfrom ..errors import LedgerError\nfrom .ledger import SqliteLedger\n", []),
])
def test_a_backend_importing_the_other_is_caught(source, found, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert crossings("sqlite", probe) == found


def test_the_product_reaches_the_simulator_only_through_the_command_lines_session():
    reached = [(str(path.relative_to(ROOT)), line) for package in FLOORS for path in sources(package)
               for line, module, _ in imports_in(path) if module.split(".")[0] in DEVELOPMENT]
    assert reached and {file for file, _ in reached} <= SIMULATOR_SEAMS, reached
    at_module_level = [(str(path.relative_to(ROOT)), line) for package in FLOORS for path in sources(package)
                       for line, module, top in imports_in(path) if top and module.split(".")[0] in DEVELOPMENT]
    assert at_module_level == []


# Who reads the process environment, and why. Everyone else receives settings (pipeline.Settings
# or a part of it: NotifySettings, TelemetrySettings), including the names the Functions
# platform sets (WEBSITE_HOSTNAME, AZURE_CLIENT_ID, APPLICATIONINSIGHTS_*). The Azure SDKs read
# their own variables (DefaultAzureCredential's AZURE_*): that is theirs, not the app's.
READS_THE_ENVIRONMENT = {
    "pipeline/settings.py": "the one reader of the app's settings",
    "responder/doctor/__init__.py": "`doctor` checks a deployment from the operator's shell: it reads azd's environment "
                                    "(the deployment's names, AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME...), not the app's settings",
}


def environment_reads_in(path: Path) -> list[int]:
    """Lines that touch the process environment: os.environ(b), os.getenv/putenv/unsetenv, or
    importing any of them from os."""
    names = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in names and isinstance(node.value, ast.Name) and node.value.id == "os":
            found.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(alias.name in names for alias in node.names):
            found.append(node.lineno)
    return found


def lines_found(lines_in: Callable[[Path], list[int]], files_of=sources) -> dict[str, list[int]]:
    """Each product file (by its path in the project) with the lines `lines_in` finds in it."""
    found = {}
    for package in FLOORS:
        for path in files_of(package):
            lines = lines_in(path)
            if lines:
                found[str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name] = lines
    return found


def environment_readers(files_of=sources) -> dict[str, list[int]]:
    return lines_found(environment_reads_in, files_of)


def test_only_the_settings_module_reads_the_environment():
    readers = environment_readers()
    assert set(readers) <= set(READS_THE_ENVIRONMENT), {k: v for k, v in readers.items() if k not in READS_THE_ENVIRONMENT}
    assert "pipeline/settings.py" in readers


@pytest.mark.parametrize("code", ["import os\nTOKEN = os.environ.get('X')\n", "import os\ndef later():\n    return os.getenv('X')\n",
                                  "from os import environ\n"])
def test_a_read_of_the_environment_elsewhere_is_caught(code, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(code)
    found = environment_readers(lambda name: sources(name) + ([probe] if name == "notify" else []))
    assert "probe.py" in found


# A store is asked for what its port declares (rules/ports.py), never probed for a method: every
# backend has every port (tests/ledger/test_ports_conformance.py), and a room that may run without a
# store says so in its types (an Optional the composition root passes). A probe is getattr or
# hasattr on an object named as a store: `ledger`, `store` (or `..._ledger`, `..._store`), bare or
# as an attribute (self.ledger, pipeline.ledger). The pipeline's other ports are held likewise: the
# remediator (pipeline.core.Remediator declares gate, act and waves) and a listener (its optional
# hooks are Protocols the pipeline asks for with isinstance).
def probes_a_store(target: ast.expr) -> bool:
    name = target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""
    return name in ("ledger", "store", "remediator", "listener") or name.endswith(("_ledger", "_store"))


def store_probes_in(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
            and node.args and probes_a_store(node.args[0])]


def store_probes(files_of=sources) -> dict[str, list[int]]:
    return lines_found(store_probes_in, files_of)


def test_no_room_probes_a_store_for_a_method():
    assert store_probes() == {}


@pytest.mark.parametrize("code", [
    "def f(ledger):\n    return hasattr(ledger, 'add_approval')\n",
    "def f(self):\n    return callable(getattr(self.ledger, 'sweep_cursor', None))\n",
    "def f(pipeline):\n    return getattr(pipeline.ledger, 'operations', None)\n",
    "def f(outbox_store):\n    return getattr(outbox_store, 'path')\n",
    "def f(remediator):\n    return getattr(remediator, 'gate', None)\n",
    "def f(self):\n    return [getattr(listener, 'tick', None) for listener in self.listeners]\n",
])
def test_a_store_probe_is_caught(code, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(code)
    assert store_probes(lambda name: sources(name) + ([probe] if name == "waves" else [])) == {"probe.py": [2]}


def test_rules_imports_no_azure_sdk_and_nothing_else_of_the_app():
    """Nothing but the floor below it: ARM ids (arm/), which is the standard library only."""
    imported = imports_of("rules")
    assert not [m for m in imported if m.startswith(("azure", "msgraph"))]
    assert not [m for m in imported if m.split(".")[0] in (set(FLOORS) | set(DEVELOPMENT)) - {"rules", "arm"}]


def test_handlers_and_intake_never_call_an_sdk_directly():
    imported = imports_of("handlers") | imports_of("intake")
    assert not [m for m in imported if m.startswith(("azure.mgmt", "azure.identity", "azure.data", "msgraph"))]


def test_handlers_hold_only_blueprints_and_their_plumbing():
    """Parsing lives in intake/: a module of handlers/ either registers a Blueprint or serves those that do."""
    plumbing = {"__init__.py", "http.py", "runtime.py"}
    for path in sources("handlers"):
        if path.name not in plumbing:
            assert "func.Blueprint()" in path.read_text(encoding="utf-8"), path.name


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
