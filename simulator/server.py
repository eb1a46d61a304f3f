"""The simulated Azure's HTTPS server core: a route table, a request log, counters and faults.

Standard library only (plus the certificate from `tls`). Each connection is served on its own
thread (TLS handshake included, so a slow client does not hold the others up), with HTTP/1.1
keep-alive so an SDK's connection pool reuses connections.

A route is `(method, path_regex, handler)`; `handler(request) -> Response` (or a dict/list,
taken as a 200 JSON answer, or a `(status, body[, headers])` tuple). Routes added later win
over earlier ones, so a module can plug its own endpoints in, or override one, with
`add_route`. A path that no route matches is answered with ARM's 404 shape.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import Faults
from .tls import Certificate, make_certificate

log = logging.getLogger(__name__)

# Which counter a route feeds: ARM reads, ARM writes, operation polls, or none (a webhook).
COUNT_AUTO = "auto"  # GET/HEAD -> reads, anything else -> writes
COUNT_READ = "reads"
COUNT_WRITE = "writes"
COUNT_POLL = "polls"


@dataclass
class Request:
    method: str
    path: str  # decoded path, without the query
    raw_path: str  # as sent, query included
    query: dict[str, str]  # first value of each parameter
    query_list: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw_body: bytes
    body: Any  # parsed JSON, or text, or None when empty
    match: re.Match | None = None  # the route's regex match on the path
    fault: Any = None  # a fail-operation fault to apply, if any
    server: SimServer | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        """A query parameter looked up case-insensitively (ARM treats them so)."""
        lowered = name.lower()
        for key, value in self.query.items():
            if key.lower() == lowered:
                return value
        return default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return self.body


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> text; bytes -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        names = {k.lower() for k in headers}
        body = self.body
        if body is None or self.status in (204, 304):
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
            if "content-type" not in names:
                headers["Content-Type"] = "text/plain; charset=utf-8"
        else:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            if "content-type" not in names:
                headers["Content-Type"] = "application/json; charset=utf-8"
        return data, headers


def json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=body, headers=dict(headers or {}))


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """ARM's error shape: `{"error": {"code", "message"}}`."""
    return Response(status=status, body={"error": {"code": code, "message": message}}, headers=dict(headers or {}))


def _as_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    if isinstance(result, tuple):
        status, body, *rest = result
        return Response(status=status, body=body, headers=dict(rest[0]) if rest else {})
    return Response(status=200, body=result)


@dataclass
class RecordedRequest:
    """One line of the request log."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int | None  # None when the connection was dropped
    time: float  # wall-clock start (epoch seconds)
    duration: float  # seconds
    counter: str | None  # reads / writes / polls / None
    fault: str | None  # the fault kind that hit it, if any
    headers: dict[str, str] = field(default_factory=dict)
    response: Any = None  # parsed answer body (JSON) when small enough to keep

    def __getitem__(self, key: str) -> Any:  # entries read like dicts too
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[[Request], Any]
    counter: str | None


class SimServer:
    """A threaded HTTPS server on loopback with a route table, request log, counters and faults."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certificate: Certificate | None = None,
        keep_response_bodies: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.certificate = certificate
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.counters: dict[str, int] = {COUNT_READ: 0, COUNT_WRITE: 0, COUNT_POLL: 0}
        self.keep_response_bodies = keep_response_bodies
        self._routes: list[Route] = []
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._own_certificate = False

    # -- routes -----------------------------------------------------------------------------

    def add_route(
        self,
        method: str,
        path_regex: str,
        handler: Callable[[Request], Any],
        *,
        counter: str | None = None,
    ) -> Route:
        """Serve `method` (or "*") on paths that fully match `path_regex` (case-insensitive).

        `counter` (keyword only) is for ARM routes: "auto", "reads", "writes" or "polls";
        the default, None, keeps a route (a webhook, Graph) out of the ARM counters.
        """
        route = Route(method.upper(), re.compile(path_regex, re.IGNORECASE), handler, counter)
        with self._lock:
            self._routes.insert(0, route)  # later routes win
        return route

    def remove_route(self, route: Route) -> None:
        with self._lock:
            if route in self._routes:
                self._routes.remove(route)

    def _find(self, method: str, path: str) -> tuple[Route | None, re.Match | None, bool]:
        """The route for a request; the flag says a route had the path but not the method."""
        path_known = False
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            if route.method in ("*", method):
                return route, m, True
            path_known = True
        return None, None, path_known

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str:
        assert self.certificate is not None, "server not started"
        return self.certificate.cert_path

    def start(self) -> SimServer:
        if self._httpd is not None:
            return self
        if self.certificate is None:
            self.certificate = make_certificate()
            self._own_certificate = True
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        httpd_cls = type("_Server", (_HTTPServer,), {"address_family": family})
        self._httpd = httpd_cls((self.host, self.port), _Handler, sim=self, context=self.certificate.server_context())
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim-https-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        if self._own_certificate and self.certificate is not None:
            shutil.rmtree(self.certificate.directory, ignore_errors=True)
            self.certificate = None
            self._own_certificate = False

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- log and counters -------------------------------------------------------------------

    def count(self, counter: str | None, method: str) -> str | None:
        if counter == COUNT_AUTO:
            counter = COUNT_READ if method in ("GET", "HEAD") else COUNT_WRITE
        if counter:
            with self._lock:
                self.counters[counter] = self.counters.get(counter, 0) + 1
        return counter

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def reset_log(self) -> None:
        """Forget the request log and zero the counters (faults and routes stay)."""
        with self._lock:
            self.requests.clear()
            for k in self.counters:
                self.counters[k] = 0

    # -- one request ------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[Response | None, str | None, str | None]:
        """Route one request through faults and its handler: (response or None to drop, counter, fault kind)."""
        route, match, path_known = self._find(request.method, request.path)
        counter = self.count(route.counter, request.method) if route else None
        slow, answering, failing = self.faults.take(request.method, request.path)
        fault_kind = None
        for f in slow:
            fault_kind = "slow"
            time.sleep(f.delay)
        if answering is not None:
            fault_kind = answering.kind
            return _fault_response(answering), counter, fault_kind
        if route is None:
            if path_known:
                return (
                    arm_error(405, "MethodNotAllowed", f"The requested resource does not support http method '{request.method}'."),
                    counter,
                    fault_kind,
                )
            return (
                arm_error(404, "NotFound", f"No route for {request.method} {request.path} in the simulated Azure."),
                counter,
                fault_kind,
            )
        request.match = match
        request.server = self
        if failing is not None:
            request.fault = failing
            fault_kind = failing.kind
        try:
            response = _as_response(route.handler(request))
        except Exception as exc:  # noqa: BLE001 - a bug in a route must not kill the connection thread
            log.error("sim route %s %s failed:\n%s", request.method, request.path, traceback.format_exc())
            response = arm_error(500, "InternalServerError", f"simulated Azure route failed: {exc!r}")
        return response, counter, fault_kind


def _fault_response(fault: Any) -> Response | None:
    if fault.kind == "drop":
        return None
    headers = {}
    if fault.retry_after is not None and fault.kind in ("429", "503"):
        ra = fault.retry_after
        headers["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
    if fault.kind == "429":
        return arm_error(
            429,
            fault.code or "TooManyRequests",
            fault.message or "The request is being throttled (simulated).",
            headers,
        )
    if fault.kind == "503":
        return arm_error(503, fault.code or "ServiceUnavailable", fault.message or "Service unavailable (simulated).", headers)
    if fault.kind == "409":  # ARM refusing the request at once, as it does a machine that changed state
        return arm_error(409, fault.code or "OperationNotAllowed", fault.message or "The operation is not allowed (simulated).", headers)
    return arm_error(500, fault.code or "InternalServerError", fault.message or "Internal server error (simulated).", headers)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler_cls, *, sim: SimServer, context: ssl.SSLContext) -> None:
        self.sim = sim
        self.context = context
        super().__init__(address, handler_cls)

    def finish_request(self, request, client_address) -> None:
        # The TLS handshake happens here, on the connection's own thread.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("sim TLS handshake failed from %s: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ConnectionError, ssl.SSLError, TimeoutError) as exc:
            log.debug("sim connection from %s ended: %s", client_address, exc)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:  # quiet on client disconnects
        log.debug("sim connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ResponderSimulatedAzure/1.0"
    sys_version = ""
    wbufsize = 64 * 1024  # one write per answer (headers and body together); flushed per request
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces stderr
        pass

    def version_string(self) -> str:
        return self.server_version

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        started_wall = time.time()
        started = time.perf_counter()
        sim = self.server.sim
        split = urlsplit(self.path)
        path = re.sub(r"/{2,}", "/", unquote(split.path))  # "//subscriptions/..." from a "/{resourceUri}" template
        query_list = parse_qs(split.query, keep_blank_values=True)
        query = {k: v[0] for k, v in query_list.items()}
        raw = self._read_body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(
            method=self.command.upper(),
            path=path,
            raw_path=self.path,
            query=query,
            query_list=query_list,
            headers=headers,
            raw_body=raw,
            body=body,
        )
        response, counter, fault_kind = sim.handle(request)
        status = response.status if response is not None else None
        # Logged before the answer goes out (or the connection is dropped): a client that has
        # seen the answer must find its request in the log. `duration` is the handling time.
        sim.record(
            RecordedRequest(
                method=request.method,
                path=path,
                query=query,
                body=body,
                status=status,
                time=started_wall,
                duration=time.perf_counter() - started,
                counter=counter,
                fault=fault_kind,
                headers=headers,
                response=response.body if response is not None and sim.keep_response_bodies else None,
            )
        )
        if response is None:  # a dropped connection: no answer at all
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        data, out_headers = response.encode()
        self.send_response(response.status)
        names = {k.lower() for k in out_headers}
        if "x-ms-request-id" not in names:
            out_headers["x-ms-request-id"] = str(uuid.uuid4())
        for name, value in out_headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
