"""A loopback proxy in front of Azurite that counts the Table requests it carries.

The count is taken on the wire, between the app's SDK and the storage server, so it is what
Table Storage would bill and throttle: one entity-group transaction (`$batch`) is one request,
whatever it holds; an SDK retry is another. Each request is kept as (method, table, kind), kind
being `batch`, `query` (a GET with a filter or over a whole table), `point` (a GET of one
entity) or `write`.
"""

from __future__ import annotations

import re
import socket
import threading
from collections import Counter
from urllib.parse import unquote, urlsplit

_TABLE = re.compile(r"^/[^/]+/(?P<table>[A-Za-z0-9]+)(?P<keyed>\(.*\))?$")


class CountingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str, str]] = []
        self.targets: list[str] = []  # each request's path and query, decoded
        self.bytes_answered = 0  # what the server sent back, headers included
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def connection_string(self, account_key: str) -> str:
        return ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                f"AccountKey={account_key};TableEndpoint=http://127.0.0.1:{self.port}/devstoreaccount1;")

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.targets.clear()
            self.bytes_answered = 0

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if kind is None or r[2] == kind)

    def by_kind(self) -> Counter:
        with self._lock:
            return Counter(r[2] for r in self.requests)

    def close(self) -> None:
        self._server.close()

    # -- plumbing -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Forward the client's requests one by one, noting each (HTTP/1.1 with Content-Length:
        what azure-core sends)."""
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                length = next((int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")), 0)
                while len(buffer) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                self._note(method, target)
                upstream.sendall(head + b"\r\n\r\n" + body)
        except OSError:
            return
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _answers(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while chunk := upstream.recv(65536):
                with self._lock:
                    self.bytes_answered += len(chunk)
                client.sendall(chunk)
        except OSError:
            pass

    def _note(self, method: str, target: str) -> None:
        parts = urlsplit(target)
        path = unquote(parts.path)
        match = _TABLE.match(path)
        table = match.group("table") if match else path
        if table.endswith("$batch") or path.endswith("$batch"):
            kind = "batch"
        elif method == "GET":
            kind = "point" if match and match.group("keyed") and "PartitionKey=" in match.group("keyed") and "RowKey=" in match.group("keyed") else "query"
        else:
            kind = "write"
        with self._lock:
            self.requests.append((method, table, kind))
            self.targets.append(unquote(target))
