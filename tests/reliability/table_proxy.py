"""A fault-injecting proxy in front of Azurite: the Table Storage ledger talks to it as to the
table service. A fault answers 503 without forwarding, or forwards and then drops the connection
(the write happened, its answer was lost): what Table Storage does on a bad day. A `412` fault
answers a conditional write (one with an `If-Match` ETag) as the service does when another
writer got there first, without forwarding it: only such writes can meet a 412 in Azure."""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class TableFault:
    method: str
    path: str  # regex searched in the path
    kind: str  # "503" | "drop-after" | "412"
    times: int = 1
    hits: int = 0


class TableProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.faults: list[TableFault] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                # A transaction names its table in its body: faults armed on a table hit its transactions too.
                target = self.path + (" " + body.decode("utf-8", "replace") if "$batch" in self.path else "")
                fault = proxy.take(self.command, target, self.headers.get("If-Match"))
                if fault is not None and fault.kind == "412":
                    error = (b'{"odata.error":{"code":"UpdateConditionNotSatisfied","message":{"lang":"en-US",'
                             b'"value":"The update condition specified in the request was not satisfied."}}}')
                    self.send_response(412, "Precondition Failed")
                    self.send_header("Content-Type", "application/json;odata=minimalmetadata")
                    self.send_header("x-ms-error-code", "UpdateConditionNotSatisfied")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                if fault is not None and fault.kind == "503":
                    self.send_response(503, "Server Busy")
                    self.send_header("Content-Length", "0")
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if fault is not None:  # drop-after: the write is done, the answer never arrives
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, method: str, path: str, if_match: str | None = None) -> TableFault | None:
        conditional = bool(if_match) and if_match.strip() != "*"
        with self.lock:
            for fault in self.faults:
                if fault.kind == "412" and not conditional:
                    continue
                if fault.hits < fault.times and fault.method in ("*", method) and re.search(fault.path, path):
                    fault.hits += 1
                    return fault
        return None

    def add(self, method: str, path: str, kind: str, times: int = 1) -> TableFault:
        fault = TableFault(method, path, kind, times)
        with self.lock:
            self.faults.append(fault)
        return fault

    def __enter__(self) -> TableProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
