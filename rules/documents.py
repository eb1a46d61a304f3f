"""Reading the files the rules are written in: YAML, with libyaml's C loader when PyYAML has it
(about eight times faster than the pure-Python one, which matters on a cold start), else the
Python one; and a file the tests already checked comes parsed from their record, without YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .validation import checked_document


def read_document(path: str, error: type[Exception], what: str) -> tuple[Any, bool]:
    """The document in the file at `path`, and whether the tests checked it in full (then it
    needs no schema check here). `error` names the file when it cannot be read or parsed."""
    return parse_document(read_file(path, error, what), path, error, what)


def read_file(path: str, error: type[Exception], what: str) -> bytes:
    """The file's bytes: what a cache of its parsed document is keyed by, so a file rewritten at
    the same path is parsed anew."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from exc


def parse_document(raw: bytes, path: str, error: type[Exception], what: str) -> tuple[Any, bool]:
    """`read_document` of bytes already read from `path`."""
    checked = checked_document(raw)
    if checked is not None:
        return checked, True
    import yaml

    try:
        return load_yaml(raw.decode("utf-8")), False
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read the {what}: {exc}") from exc


def load_yaml(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # nosec B506 - a safe loader, C or Python
