"""SimulatedAzure: the HTTPS server core with the ARM routes and a live fleet behind it."""

from __future__ import annotations

import os
from typing import Any, Callable

from .fleet import Fleet
from .server import Request, Route, SimServer


class SimulatedAzure:
    """The simulated Azure: `with SimulatedAzure(fleet=...) as sim:` serves on `sim.base_url`.

    Clients trust it with `connection_verify=sim.ca_bundle`. Other modules (a Teams webhook,
    Graph) plug their endpoints in with `sim.add_route(method, path_regex, handler)`.
    """

    def __init__(
        self,
        fleet: "Fleet | dict | str | os.PathLike | None" = None,
        operation_delay: float = 0.0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        page_size: int = 1000,
        retry_after: int = 0,
    ) -> None:
        self.fleet = Fleet.from_any(fleet)
        self.operation_delay = operation_delay
        self.page_size = page_size
        self.retry_after = retry_after
        self.server = SimServer(host=host, port=port)

    # -- the server core, passed through ----------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ca_bundle(self) -> str:
        return self.server.ca_bundle

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def requests(self):
        return self.server.requests

    @property
    def counters(self) -> dict[str, int]:
        return self.server.counters

    @property
    def faults(self):
        return self.server.faults

    def add_route(self, method: str, path_regex: str, handler: Callable[[Request], Any], **kwargs: Any) -> Route:
        return self.server.add_route(method, path_regex, handler, **kwargs)

    def finish_operations(self) -> int:
        """Complete every pending operation now; returns how many were completed."""
        return 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "SimulatedAzure":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "SimulatedAzure":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
