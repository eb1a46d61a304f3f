"""The ports the pipeline calls out through, to rooms on higher floors (waves/) or to notify/:
what each must offer, so the pipeline never imports them. The ledger's ports are in
rules/ports.py; these are the rest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

if TYPE_CHECKING:  # types only: notify/ is a lower floor
    from notify import Notice


class WavePolicy(Protocol):
    @property
    def action_params(self) -> Mapping[str, Any]:
        """The parameters a wave's perform-maintenance carries (waves.policy.MaintenancePolicy)."""


class TickEnd(TypedDict):
    """Something the tick brought to an end (an operation, a wave member's turn), as the pipeline
    records and tells it: a decision of the incident, `state` its status, `message` its reason."""

    incident_id: str
    signal_id: int | None
    resource_id: str
    action: str
    mode: str
    state: str
    message: str


class WaveEnded(Protocol):
    def as_tick_end(self) -> TickEnd:
        """A wave member's end, in the shape of an operation the tick ended."""


class WaveEnrolment(Protocol):
    """Maintenance in waves (waves.Waves): perform-maintenance in auto mode joins its scope's wave,
    and the tick moves waves on after the operations."""

    @property
    def policy(self) -> WavePolicy: ...

    def enroll(self, *, incident_id: str, signal_id: int | None, resource_id: str, mode: str,
               params: Mapping[str, Any], facts: Mapping[str, Any]) -> tuple[str, str]:
        """(planned | skipped | duplicate, reason)."""

    def advance(self) -> Iterable[WaveEnded]: ...


class DigestTiming(Protocol):
    @property
    def window(self) -> timedelta: ...

    @property
    def hold(self) -> timedelta: ...


class Sent(Protocol):
    @property
    def lines(self) -> list[str]:
        """One line per message handled, for the command line."""


class Notifier(Protocol):
    """What the notifications listener hands notices to (notify.Notifier: outbox, digests, sending)."""

    @property
    def digest(self) -> DigestTiming: ...

    def submit_many(self, notices: Iterable[Notice]) -> object:
        """Record notices in the outbox; never raises."""

    def record_many(self, notices: Iterable[Notice]) -> object:
        """Record a delivery's notices in the outbox; raises notify.NoticesNotRecordedError when
        the outbox cannot take them."""

    def flush(self, now: datetime | None = None) -> Sent: ...

    def drain(self, seconds: float) -> Sent: ...
