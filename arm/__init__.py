"""ARM resource ids: the one place an id is taken apart; and Azure's times, read by one reader.

Standard library only, on the lowest floor: every package may use it, the decision core too.
"""

from .errors import ArmIdError
from .ids import PORTAL, SCALE_SET, SCALE_SET_VM, VM, ResourceId, resource_key, short_name
from .times import parse_time

__all__ = ["PORTAL", "SCALE_SET", "SCALE_SET_VM", "VM", "ArmIdError", "ResourceId", "parse_time", "resource_key",
           "short_name"]
