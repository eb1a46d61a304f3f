"""The ARM reads of a sweep: list pages followed through nextLink, and single GETs, each counted.

A list is consumed one page at a time (the SDK's ItemPaged fetches the next page only when the
last one is used up), so the sweep holds at most one page of each list it is walking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import ReadError
from .stats import SweepStats


def describe(exc: Exception) -> str:
    """An Azure SDK error as one line: status, ARM error code, message."""
    status = getattr(exc, "status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    head = " ".join(str(p) for p in (status, code) if p)
    return f"{head}: {message}".strip(": ").split("\n")[0][:300]


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn the SDK's errors (HTTP, connection, deserialisation) into a ReadError naming the read."""
    from azure.core.exceptions import AzureError

    try:
        yield
    except AzureError as exc:
        raise ReadError(what, describe(exc)) from exc


class ArmReads:
    def __init__(self, stats: SweepStats, page_size: int | None, progress: Callable[[SweepStats], None] | None):
        self.stats = stats
        self.page_size = page_size
        self.progress = progress

    def pages(self, what: str, api: str, paged: Any) -> Iterator[list[Any]]:
        """The pages of an ItemPaged, each a list; one ARM read each."""
        listed = 0
        with reading(what):
            for page in paged.by_page():
                items = list(page)
                listed += len(items)
                self.stats.read(api, len(items))
                self._tick()
                yield items
        self._budget(listed)

    def get(self, what: str, api: str, call: Callable[[], Any]) -> Any:
        with reading(what):
            result = call()
        self.stats.read(api)
        if self.page_size:
            self.stats.budget += 1
        self._tick()
        return result

    def _budget(self, listed: int) -> None:
        # The cost model: a list costs one read per page, and at least one when it is empty.
        if self.page_size:
            self.stats.budget += max(1, -(-listed // self.page_size))

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.stats)
