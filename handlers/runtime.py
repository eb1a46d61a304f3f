"""The pipeline of this worker, built once on first use (cold start stays small) and shared by
every trigger. Tests swap it with `use`."""

from __future__ import annotations

import logging
import threading

from pipeline import Pipeline, Settings, SettingsError
from wiring import build_pipeline

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


def prepare_in_background(settings: Settings | None = None) -> threading.Thread | None:
    """Build the pipeline now, in the background, when this worker acts on Azure.

    The host loads the app before the first invocation; building then lets the ARM clients' warm-up
    (imports, session, token: 0.3 to 0.5 s) finish before the first remediation waits on it. A
    worker without Azure (RESPONDER_AZURE unset) builds at first use, keeping its cold start small.
    A failure here is only logged: the first event builds again and reports it."""
    if settings is None:
        try:
            settings = Settings.from_env()
        except SettingsError:
            settings = None  # the build meets the same error: it is logged there, raised at the first event
    if settings is not None and settings.azure == "none":
        return None

    def build() -> None:
        try:
            pipeline()
        except Exception as exc:  # noqa: BLE001 - the first event meets the same error and raises it
            logging.getLogger("responder").warning("pipeline not prepared at start-up: %s: %s", type(exc).__name__, exc)

    thread = threading.Thread(target=build, name="pipeline-prepare", daemon=True)
    thread.start()
    return thread
