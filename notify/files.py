"""The `--outbox DIR` channel: write each message to a file instead of sending it.

A Teams message is written as JSON exactly as it would be posted to the webhook; an email as
its HTML body (with the plain-text rendering beside it as .txt). Useful for a dry run from the
command line and for looking at what people would receive.

Unlike a webhook, the folder can be read back: a message whose worker stopped between writing it
and recording it sent is found by its bytes (`confirm`) and not written twice. Each file is
written whole or not at all (a temporary name, then a rename), so a half-written one never
passes for the message.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "message"


class FileChannel:
    resend_when_unsure = True  # `confirm` always knows; should it not, a file can be written again

    def __init__(self, directory: str | Path, channel: str) -> None:
        self.directory = Path(directory)
        self.channel = channel
        self._lock = threading.Lock()

    def _next_path(self, label: str, suffix: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            seq = sum(1 for p in self.directory.iterdir() if p.suffix in (".json", ".html")) + 1
            return self.directory / f"{seq:05d}-{self.channel}-{_slug(label)}{suffix}"

    def _suffix(self) -> str:
        return ".json" if self.channel == "teams" else ".html"

    def _content(self, payload: dict) -> bytes:
        if self.channel == "teams":
            from .teams import encode

            return encode(payload)  # byte for byte what the webhook would receive
        return payload["html"].encode("utf-8")

    def send(self, target: str, payload: dict, *, label: str = "") -> str:
        path = self._next_path(label or target, self._suffix())
        if self.channel != "teams":
            _write_whole(path.with_suffix(".txt"), payload["text"].encode("utf-8"))
        _write_whole(path, self._content(payload))  # last: its presence means the message is out
        return str(path)

    def confirm(self, target: str, payload: dict) -> bool | None:
        """Whether this message was written before: a file of this channel with its very bytes."""
        if not self.directory.is_dir():
            return False
        content = self._content(payload)
        return any(p.stat().st_size == len(content) and p.read_bytes() == content
                   for p in self.directory.glob(f"*-{self.channel}-*{self._suffix()}"))

    def close(self) -> None:
        pass


def _write_whole(path: Path, content: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)
