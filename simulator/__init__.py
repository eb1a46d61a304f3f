"""The simulated Azure: a small HTTPS server on loopback speaking the part of ARM the app uses.

    from simulator import SimulatedAzure, Fleet
    with SimulatedAzure(fleet="responder/demo/fleet.json") as sim:
        client = ComputeManagementClient(LocalToken(), sub, base_url=sim.base_url,
                                         connection_verify=sim.ca_bundle)

See docs/simulated-azure.md.
"""

from .azure import SimulatedAzure
from .faults import Fault, Faults
from .fleet import Fleet
from .server import RecordedRequest, Request, Response, SimServer, arm_error, json_response

__all__ = [
    "Fault",
    "Faults",
    "Fleet",
    "RecordedRequest",
    "Request",
    "Response",
    "SimServer",
    "SimulatedAzure",
    "arm_error",
    "json_response",
]
