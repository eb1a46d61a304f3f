"""Long-running ARM operations without a thread waiting on them.

The SDK's `begin_*` returns an LROPoller that polls on a background thread until the end.
A Functions invocation must return quickly and the timer tick does the waiting, so the
executors start an operation with a polling method whose `run` does nothing, keep only its
continuation token (azure-core's JSON token: the initial request and response, no pickle),
and later resume from that token to make exactly one status request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .errors import AzureCallError, InvalidOperationTokenError, OutcomeUnknownError
from .results import OperationState

_DETACHED_CLASS: Any = None


def _detached_polling() -> Any:
    """An ARMPolling that never loops: `run` returns at once, `update_status` is called by us."""
    global _DETACHED_CLASS
    if _DETACHED_CLASS is None:
        from azure.mgmt.core.polling.arm_polling import ARMPolling

        class DetachedARMPolling(ARMPolling):
            def run(self) -> None:  # the LROPoller's thread calls this: nothing to do
                return None

        _DETACHED_CLASS = DetachedARMPolling
    # The delay is unused (we never sleep between status requests).
    return _DETACHED_CLASS(0)


def start(begin: Callable[..., Any], *args: Any, what: str, **kwargs: Any) -> str:
    """Send the initial request of `begin(*args, **kwargs)` and return its continuation token."""
    from azure.core.polling.base_polling import BadResponse, BadStatus, OperationFailed

    with azure_errors(what, write=True):
        try:
            poller = begin(*args, polling=_detached_polling(), **kwargs)
        except (BadResponse, BadStatus, OperationFailed) as exc:
            # ARM accepted the request but gave no way to follow it (no Location header): the
            # operation may be running, so this is not a failure to retry blindly.
            raise OutcomeUnknownError(f"{what}: accepted, but the answer cannot be followed ({exc})") from exc
        return poller.continuation_token()


def poll(begin: Callable[..., Any], *args: Any, token: str, what: str) -> tuple[OperationState, str]:
    """One status request for the operation behind `token`: (state, message).

    State is InProgress, Succeeded, Failed or Canceled; message is ARM's error message for a
    failed operation. An operation URL that answers with an error status counts as Failed.
    """
    from azure.core.polling.base_polling import BadResponse, BadStatus

    with azure_errors(what, write=False):
        method = _detached_polling()
        try:
            begin(*args, continuation_token=token, polling=method)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidOperationTokenError(f"{what}: the stored continuation token is unreadable") from exc
        if method.finished():
            return _normalise(method.status()), ""
        try:
            method.update_status()
        except BadStatus:
            return "Failed", _error_message(method._pipeline_response)
        except BadResponse as exc:
            return "Failed", f"unreadable operation status: {exc}"
        state = _normalise(method.status())
        message = _error_message(method._pipeline_response) if state in ("Failed", "Canceled") else ""
        return state, message


def _normalise(status: str) -> OperationState:
    lowered = (status or "").lower()
    if lowered in ("succeeded", "success"):
        return "Succeeded"
    if lowered == "failed":
        return "Failed"
    if lowered in ("canceled", "cancelled"):
        return "Canceled"
    return "InProgress"


def _error_message(pipeline_response: Any) -> str:
    """ARM's error message from an operation status body ({"error": {"code","message"}})."""
    try:
        body = pipeline_response.http_response.json()
    except Exception:  # noqa: BLE001 - an empty or non-JSON body: report the HTTP status instead
        return f"HTTP {pipeline_response.http_response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return f"{code}: {message}" if code and message else str(message or code or "")
    return ""


@contextlib.contextmanager
def azure_errors(what: str, *, write: bool) -> Iterator[None]:
    """Turn SDK errors into the package's errors, `from` the original."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    try:
        yield
    except HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None)
        status = getattr(exc, "status_code", None)
        raise AzureCallError(f"{what} failed: {exc.message or exc}", status=status, code=code) from exc
    except ServiceResponseError as exc:
        if write:
            raise OutcomeUnknownError(
                f"{what}: the request was sent but its answer was lost; read the live state (recover) "
                "before sending it again"
            ) from exc
        raise AzureCallError(f"{what}: no answer ({exc})") from exc
    except ServiceRequestError as exc:
        raise AzureCallError(f"{what}: could not reach ARM ({exc})") from exc
