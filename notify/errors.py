"""Every error of the notify package, in one tree.

A channel problem never reaches the pipeline: `Notifier.record_many` records and returns (it raises
only NoticesNotRecordedError, when the outbox itself cannot take a delivery's notices), and
`Notifier.flush` turns these errors into outbox state (retry later, confirm, or failed). They
exist so that channels can say precisely what went wrong and the outbox can react to it.
"""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every error raised inside notify/."""


class NotifyConfigError(NotifyError):
    """Settings or policy routes that cannot work (unknown webhook, bad JSON, no sender)."""


class CardError(NotifyError):
    """A card that Teams would not render, or that cannot be made to fit the size limit."""


class ApprovalLinkError(NotifyError):
    """A message carries approval links that cannot be signed at send time (no secret, or the
    approval is no longer in the ledger): sending it without them would leave a person no way
    to decide from it, so it fails visibly."""


class OutboxError(NotifyError):
    """The outbox store failed (disk, lock, schema)."""


class NoticesNotRecordedError(NotifyError):
    """A delivery's notices could not be recorded (the outbox's store failed): the delivery must
    fail, so that its sender delivers it again and nobody's message is lost."""


class ChannelError(NotifyError):
    """A send did not go through. Subclasses say whether and when to try again."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ThrottledError(ChannelError):
    """The channel said "too many requests" (429, or a 200 carrying a throttling text)."""


class UnavailableError(ChannelError):
    """The channel was down or failed before accepting the message: sending again is safe."""


class UncertainDeliveryError(ChannelError):
    """The channel may have accepted the message although it answered with an error
    (a 5xx or a dropped connection after the request was sent). Sending again could
    duplicate it, so the outbox first asks the channel whether it went out."""


class RejectedError(ChannelError):
    """The channel refused the message for good (400, 401, 403, 404, 413): retrying will not help."""

    retryable = False
