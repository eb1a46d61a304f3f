"""A channel that sends through another and also writes what it sent to the --outbox folder,
so a person can open each card and email of a run that really posted them."""

from __future__ import annotations

from typing import Any


class TeeChannel:
    def __init__(self, primary: Any, copy: Any) -> None:
        self.primary = primary
        self.copy = copy
        self.channel = primary.channel
        self.resend_when_unsure = primary.resend_when_unsure

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        receipt = self.primary.send(target, payload, label=label)  # raises when it did not go through
        self.copy.send(target, payload, label=label)
        return receipt

    def confirm(self, target: str, payload: dict) -> bool | None:
        return self.primary.confirm(target, payload)

    def close(self) -> None:
        self.primary.close()
        self.copy.close()
