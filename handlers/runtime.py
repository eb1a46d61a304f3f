"""The pipeline of this worker, built once on first use (cold start stays small) and shared by
every trigger. Tests swap it with `use`."""

from __future__ import annotations

import threading

from pipeline import Pipeline, Settings, build_pipeline

_lock = threading.Lock()
_pipeline: Pipeline | None = None


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                _pipeline = build_pipeline(Settings.from_env())
    return _pipeline


def use(replacement: Pipeline | None) -> None:
    """Install a pipeline (tests, the command line) or forget it (None: rebuilt on next use)."""
    global _pipeline
    with _lock:
        _pipeline = replacement
