"""Resource Graph queries of a sweep: paged through `$skipToken`, paced by the caller's quota.

Every answer carries `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after`: when the
quota is spent the next query waits for the reset instead of being refused. A query refused
anyway (429, another process of the same identity spent the quota) waits what the refusal names
and is asked again, up to `MAX_REFUSALS` times in a row; the SDK's own retry is off for these
calls, as it would retry on its own backoff rather than on the reset Azure names (a server error
or a lost connection is retried here instead, twice). Each page is one read in the
sweep's stats; waits are counted apart (`throttle_waits`, `throttle_seconds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from actions.active_annotations import quota_remaining, quota_resets_after

from .arm_reads import describe
from .errors import ReadError
from .stats import SweepStats

MAX_REFUSALS = 5
# The SDK's retry is off for these calls (it would retry a 429 on its own backoff): what it would
# have retried besides is retried here, twice, a second apart.
TRANSIENT = (408, 500, 502, 503, 504)
TRANSIENT_TRIES = 2
TRANSIENT_WAIT = 1.0
DEFAULT_WAIT = 5.0  # Resource Graph's window, when a refusal names no reset
RESULT_FORMAT = "objectArray"


class GraphReads:
    def __init__(
        self,
        graph: Any,
        stats: SweepStats,
        *,
        top: int | None = None,
        progress: Callable[[SweepStats], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.graph = graph
        self.stats = stats
        self.top = top  # rows a page ($top); None: Resource Graph's default (1,000 at most)
        self.progress = progress
        self.sleep = sleep
        self.timer = timer
        self._quota_back_at = 0.0  # when the spent quota resets (timer seconds); 0: not spent

    def pages(self, what: str, api: str, query: str, subscriptions: tuple[str, ...] = (),
              management_group: str | None = None) -> Iterator[list[dict[str, Any]]]:  # fmt: skip
        """The pages of one query's rows over `subscriptions` (or a management group)."""
        from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

        skip_token = None
        while True:
            request = QueryRequest(
                subscriptions=list(subscriptions) or None,
                management_groups=[management_group] if management_group else None,
                query=query,
                options=QueryRequestOptions(skip_token=skip_token, top=self.top, result_format=RESULT_FORMAT),
            )
            answer = self._ask(what, request)
            rows = list(answer.data or [])
            self.stats.read(api, len(rows))
            if self.progress is not None:
                self.progress(self.stats)
            yield rows
            skip_token = answer.skip_token
            if not skip_token:
                return

    def _ask(self, what: str, request: Any) -> Any:
        from azure.core.exceptions import AzureError, HttpResponseError

        refused = transient = 0
        while True:
            self._wait_for_quota()
            try:
                answer, headers = self.graph.resources(request, retry_total=0,
                                                       cls=lambda response, model, _: (model, response.http_response.headers))  # fmt: skip
            except HttpResponseError as exc:
                if exc.status_code == 429 and refused < MAX_REFUSALS:
                    refused += 1
                    self.stats.throttled += 1
                    self._wait(quota_resets_after(getattr(exc.response, "headers", None)) or DEFAULT_WAIT)
                    continue
                if exc.status_code in TRANSIENT and transient < TRANSIENT_TRIES:
                    transient += 1
                    self.sleep(TRANSIENT_WAIT)
                    continue
                raise ReadError(what, describe(exc)) from exc
            except AzureError as exc:  # no answer at all (a connection reset, a timeout)
                if transient < TRANSIENT_TRIES:
                    transient += 1
                    self.sleep(TRANSIENT_WAIT)
                    continue
                raise ReadError(what, describe(exc)) from exc
            self._pace(headers)
            return answer

    def _pace(self, headers: Any) -> None:
        remaining, resets = quota_remaining(headers), quota_resets_after(headers)
        if remaining is not None and remaining <= 0 and resets:
            self._quota_back_at = self.timer() + resets

    def _wait_for_quota(self) -> None:
        wait = self._quota_back_at - self.timer()
        self._quota_back_at = 0.0
        if wait > 0:
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        self.stats.throttle_waits += 1
        self.stats.throttle_seconds += seconds
        self.sleep(seconds)
