"""Structured logs: context (event id, resource id, incident) bound once per signal and carried
on every line, as key=value text for people and as `extra` fields for Application Insights."""

from __future__ import annotations

import contextvars
import logging
from contextlib import contextmanager
from typing import Any, Iterator

logger = logging.getLogger("responder")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("responder_context", default={})


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: v for k, v in values.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _context.reset(token)


def _render(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or "=" in text or not text) else text


def log(message: str, level: int = logging.INFO, **values: Any) -> None:
    fields = {**_context.get(), **values}
    line = message + "".join(f" {key}={_render(value)}" for key, value in fields.items())
    logger.log(level, line, extra={"responder": fields})
