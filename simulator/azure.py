"""SimulatedAzure: the HTTPS server core with the ARM routes and a live fleet behind it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .arm import ArmApi
from .fleet import Fleet
from .operations import Operations
from .resource_graph import Quota, ResourceGraphApi
from .server import Request, Route, SimServer


class SimulatedAzure:
    """The simulated Azure: `with SimulatedAzure(fleet=...) as sim:` serves on `sim.base_url`.

    Clients trust it with `connection_verify=sim.ca_bundle`. Other modules (a Teams webhook,
    Graph) plug their endpoints in with `sim.add_route(method, path_regex, handler)`.

    `operation_delay`: seconds an ARM operation runs before it finishes (0: it has finished by
    the first poll); a number, or a dict of action name -> seconds with "*" for the rest.
    `retry_after`: the Retry-After (seconds) on 202s and polls; 0 keeps the SDKs polling fast.
    `page_size`: items per page of a list before a nextLink.
    """

    def __init__(
        self,
        fleet: Fleet | dict | str | os.PathLike | None = None,
        operation_delay: float | dict[str, float] = 0.0,
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
        self.operations = Operations(self.fleet)
        self.arm = ArmApi(
            self.fleet,
            self.operations,
            operation_delay=self._delay_for,
            page_size=lambda: self.page_size,
            retry_after=lambda: self.retry_after,
        )
        self.arm.register(self.server)
        # Resource Graph's HealthResources (annotations still active); its quota is Azure's.
        self.resource_graph = ResourceGraphApi(self.fleet, page_size=lambda: self.page_size, quota=Quota())
        self.resource_graph.register(self.server)

    def _delay_for(self, action: str) -> float:
        d = self.operation_delay
        if isinstance(d, dict):
            return float(d.get(action, d.get("*", 0.0)))
        return float(d)

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
        """Serve `method` on paths fully matching `path_regex`; `handler(request) -> Response`."""
        return self.server.add_route(method, path_regex, handler, **kwargs)

    def reset_log(self) -> None:
        """Forget the request log and zero the counters."""
        self.server.reset_log()

    def finish_operations(self) -> int:
        """Complete every pending operation now; returns how many were completed."""
        return self.operations.finish_all()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> SimulatedAzure:
        self.server.start()
        self.operations.run_in_background()
        return self

    def stop(self) -> None:
        self.operations.stop()
        self.server.stop()

    def __enter__(self) -> SimulatedAzure:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
