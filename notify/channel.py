"""What the outbox needs from a channel (Teams webhook, Graph mail, the --outbox writer)."""

from __future__ import annotations

from typing import Protocol


class Channel(Protocol):
    channel: str  # "teams" | "email"
    resend_when_unsure: bool  # after an uncertain send that `confirm` cannot settle: send again?

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        """Deliver one stored payload to `target` (a webhook name, or recipients); return a
        short receipt. Raise a notify.errors.ChannelError subclass when it did not go through."""

    def confirm(self, target: str, payload: dict) -> bool | None:
        """After an uncertain send: True it went out, False it did not, None cannot tell."""

    def close(self) -> None: ...
