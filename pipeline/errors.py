"""Every error the pipeline raises, drawn once."""

from notify.errors import NotifyConfigError


class PipelineError(Exception):
    """Base of the pipeline's errors."""


class SettingsError(PipelineError):
    """An app setting has a value the app cannot use; the message names the setting."""


class NotifySettingsError(SettingsError, NotifyConfigError):
    """A notification app setting the app cannot use: a SettingsError to whoever reads the
    settings, and the notifier's own configuration error to whoever builds one."""


class DeliveryDeferred(PipelineError):
    """Some events of a delivery are still being decided by another attempt: the sender must retry.

    Raised by a trigger (never by the pipeline itself) after every other event of the delivery has
    been handled, so the host answers with a failure and Event Grid or the action group delivers
    the whole delivery again; the events already decided then read as duplicates."""

    def __init__(self, event_ids: list[str]):
        super().__init__(f"{len(event_ids)} event(s) held by another attempt, deliver again later: {', '.join(event_ids[:10])}")
        self.event_ids = event_ids


class NoticesNotRecorded(PipelineError):
    """A delivery's notices could not be recorded in the outbox. Raised by the pipeline after
    every event of the delivery has been decided and their claims given back (not settled), so
    the host answers with a failure, Event Grid or the action group delivers again, and that
    delivery is decided and told again instead of reading as a duplicate."""

    def __init__(self, event_ids: list[str], why: str, *, kept: int = 0):
        super().__init__(f"notices of {len(event_ids)} event(s) not recorded, deliver again: {why}")
        self.event_ids = event_ids
        self.kept = kept  # notices of later decisions (tick, approval) kept for the next batch
