"""The `--outbox DIR` channel: write each message to a file instead of sending it.

A Teams message is written as JSON exactly as it would be posted to the webhook; an email as
its HTML body (with the plain-text rendering beside it as .txt). Useful for a dry run from the
command line and for looking at what people would receive.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "message"


class FileChannel:
    resend_when_unsure = True  # a file can always be written again

    def __init__(self, directory: str | Path, channel: str) -> None:
        self.directory = Path(directory)
        self.channel = channel
        self._lock = threading.Lock()

    def _next_path(self, label: str, suffix: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            seq = sum(1 for p in self.directory.iterdir() if p.suffix in (".json", ".html")) + 1
            return self.directory / f"{seq:05d}-{self.channel}-{_slug(label)}{suffix}"

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        if self.channel == "teams":
            path = self._next_path(label or target, ".json")
            from .teams import encode

            path.write_bytes(encode(payload))  # byte for byte what the webhook would receive
        else:
            path = self._next_path(label or target, ".html")
            path.write_text(payload["html"], encoding="utf-8")
            path.with_suffix(".txt").write_text(payload["text"], encoding="utf-8")
        return str(path)

    def confirm(self, target: str, payload: dict) -> bool | None:
        return None

    def close(self) -> None:
        pass
