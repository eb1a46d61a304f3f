"""The project's packages and floors, read from pyproject.toml ([tool.responder]): the one list
every test and script that needs one uses."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TOOL = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["responder"]

PRODUCT: tuple[str, ...] = tuple(_TOOL["product"])  # deployed to Azure (with function_app.py)
DEVELOPMENT: tuple[str, ...] = tuple(_TOOL["development"])  # never deployed
FLOORS: dict[str, int] = dict(_TOOL["floors"])  # product package (and function_app) -> floor
LEDGER_BACKENDS: tuple[str, ...] = tuple(_TOOL["ledger"]["backends"])  # one package each under ledger/


def sources(package: str) -> list[Path]:
    """A package's Python files (function_app is a module)."""
    if (ROOT / f"{package}.py").is_file():
        return [ROOT / f"{package}.py"]
    return sorted((ROOT / package).rglob("*.py"))
