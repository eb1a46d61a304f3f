"""Structured logs: context (event id, resource id, incident) bound once per signal and carried
on every line, as key=value text for people and as `extra` fields for Application Insights."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

logger = logging.getLogger("responder")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("responder_context", default={})  # noqa: B039 - never mutated: bound() sets a new dict


class bound:
    """`with bound(event_id=..., resource_id=...):` every line logged inside carries these fields.

    A class rather than a generator-based context manager: every signal enters several, so it
    is on the hot path (docs/performance.md)."""

    __slots__ = ("_values", "_token")

    def __init__(self, **values: Any):
        self._values = values

    def __enter__(self) -> None:
        added = {k: v for k, v in self._values.items() if v is not None and v != ""}
        self._token = _context.set({**_context.get(), **added} if added else _context.get())

    def __exit__(self, *exc: object) -> None:
        _context.reset(self._token)


def _render(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or "=" in text or not text) else text


def log(message: str, level: int = logging.INFO, **values: Any) -> None:
    if not logger.isEnabledFor(level):  # nothing would be written: build no line
        return
    fields = {**_context.get(), **values}
    line = message + "".join(f" {key}={_render(value)}" for key, value in fields.items())
    logger.log(level, line, extra={"responder": fields})
