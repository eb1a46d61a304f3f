"""Every error the actions package raises, drawn once.

    ActionError
    ├── UnknownActionError        no executor registered under that name
    ├── InvalidResourceIdError    not an ARM id of a VM, scale set or scale-set VM
    ├── NotApplicableError        the action does not handle that kind of resource
    ├── InvalidParameterError     a policy parameter is out of range or malformed
    ├── ConditionGoneError        start() found nothing left to do (the state moved on)
    ├── InvalidOperationTokenError a stored token this version cannot read
    ├── NoSubscriptionError       no subscription id given nor in AZURE_SUBSCRIPTION_ID
    ├── UnpermittedWriteError     a write without a permit the gate issued for it
    └── AzureCallError            ARM refused or failed a call (SDK error wrapped `from exc`)
        └── OutcomeUnknownError   a write was sent but its answer was lost: use recover()

A verification that does not hold is not an error: it is a Verdict with holds=False.
"""

from __future__ import annotations


class ActionError(Exception):
    """Base of every error raised by the actions package."""


class UnknownActionError(ActionError, LookupError):
    """No executor is registered under that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown action {name!r}; known actions: {', '.join(known)}")
        self.name = name
        self.known = known


class InvalidResourceIdError(ActionError, ValueError):
    """The text is not the ARM id of a VM, a scale set or a scale-set VM."""

    def __init__(self, resource_id: str, why: str) -> None:
        super().__init__(f"not a VM, scale set or scale-set VM id ({why}): {resource_id!r}")
        self.resource_id = resource_id


class NotApplicableError(ActionError, ValueError):
    """The action exists but does not handle this kind of resource."""

    def __init__(self, action: str, kind: str, applies_to: tuple[str, ...]) -> None:
        super().__init__(f"{action} does not apply to a {kind}; it handles: {', '.join(applies_to)}")
        self.action = action
        self.kind = kind


class InvalidParameterError(ActionError, ValueError):
    """A policy parameter is malformed or out of the range Azure accepts."""


class ConditionGoneError(ActionError):
    """start() re-read the state and found nothing left to act on."""


class InvalidOperationTokenError(ActionError, ValueError):
    """An operation token that this code cannot read (corrupt, or from another action)."""


class NoSubscriptionError(ActionError, ValueError):
    """Clients were asked for without a subscription id, and AZURE_SUBSCRIPTION_ID is not set."""


class UnpermittedWriteError(ActionError):
    """An executor was asked to write without a permit the gate issued for that very write.

    Only pipeline/gate.py issues permits, each for one action on one resource, once: a road to
    ARM that does not pass the gate cannot write, whatever it calls.
    """


class AzureCallError(ActionError):
    """ARM refused or failed a call; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OutcomeUnknownError(AzureCallError):
    """A write was sent and its answer lost (connection dropped): it may or may not have happened.

    The caller must not send it again blindly; `executor.recover(...)` reads the live state.
    """
