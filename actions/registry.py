"""The registry of actions: name -> executor, and the permissions they add up to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import UnknownActionError

if TYPE_CHECKING:
    from .base import Executor


class Registry:
    def __init__(self) -> None:
        self._executors: dict[str, Executor] = {}

    def register(self, cls: type) -> type:
        """Class decorator: register one instance of an Executor subclass under its name."""
        executor = cls()
        if executor.name in self._executors:
            raise ValueError(f"action {executor.name!r} registered twice")
        self._executors[executor.name] = executor
        return cls

    def get(self, name: str) -> Executor:
        try:
            return self._executors[name]
        except KeyError:
            raise UnknownActionError(name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._executors)

    def __contains__(self, name: object) -> bool:
        return name in self._executors

    def __iter__(self) -> Iterator[Executor]:
        return iter(self._executors[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._executors)


registry = Registry()


def required_permissions() -> list[str]:
    """Sorted union of the RBAC actions of every registered action (writes, reads, polling),
    with the linked actions a scale-set write is checked against when an action writes one.

    The infra's two custom roles together are checked against this list, exactly: the base
    role holds it less `scale_set_write_permissions()`, the opt-in role holds those.
    """
    from .resource_info import READS as RESOURCE_INFO_READS
    from .scale_set_write import LINKED, needs_write

    declared = {permission for executor in registry for permission in executor.permissions}
    if needs_write(declared):
        declared |= set(LINKED)
    return sorted(declared | set(RESOURCE_INFO_READS))  # the brakes read the resource before acting


def scale_set_write_permissions() -> list[str]:
    """What the opt-in scale-set write role must hold: the write and its linked actions, when
    some registered action writes a scale set (otherwise nothing)."""
    from .scale_set_write import PERMISSIONS, needs_write

    declared = {permission for executor in registry for permission in executor.permissions}
    return sorted(PERMISSIONS) if needs_write(declared) else []


def actions_needing_scale_set_write() -> list[str]:
    """Names of the actions skipped without the scale-set write role."""
    from .scale_set_write import needs_write

    return [executor.name for executor in registry if needs_write(executor.permissions)]
