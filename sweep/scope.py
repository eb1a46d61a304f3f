"""What the sweep may look at: subscriptions, and resource groups included or excluded.

ARM has no resource-group-scoped `statusOnly` list of VMs, so the sweep lists whole
subscriptions and drops what is outside the resource-group filters as it reads; the filters
save decisions, not reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from arm import ResourceId

from .errors import ScopeError


def resource_group_of(resource_id: str) -> str:
    """The resource group an id names, in lower case ("" for none)."""
    rid = ResourceId.try_parse(resource_id)
    return (rid.resource_group or "").lower() if rid is not None else ""


@dataclass(frozen=True)
class Scope:
    subscriptions: tuple[str, ...]
    resource_groups_include: tuple[str, ...] = ()  # empty: every resource group
    resource_groups_exclude: tuple[str, ...] = ()  # wins over include

    def __post_init__(self) -> None:
        object.__setattr__(self, "subscriptions", tuple(dict.fromkeys(s.strip().lower() for s in self.subscriptions if s.strip())))
        if not self.subscriptions:
            raise ScopeError("no subscription in scope: set RESPONDER_SUBSCRIPTIONS (or pass --subscription)")
        object.__setattr__(self, "resource_groups_include", tuple(g.strip().lower() for g in self.resource_groups_include if g.strip()))
        object.__setattr__(self, "resource_groups_exclude", tuple(g.strip().lower() for g in self.resource_groups_exclude if g.strip()))

    @classmethod
    def from_settings(cls, settings, subscriptions: tuple[str, ...] = ()) -> Scope:
        """The scope of `pipeline.Settings`; `subscriptions` replaces the settings' when given."""
        return cls(
            subscriptions=tuple(subscriptions) or tuple(settings.subscriptions),
            resource_groups_include=tuple(settings.resource_groups_include),
            resource_groups_exclude=tuple(settings.resource_groups_exclude),
        )

    def covers_group(self, resource_group: str) -> bool:
        group = resource_group.lower()
        if group in self.resource_groups_exclude:
            return False
        return not self.resource_groups_include or group in self.resource_groups_include

    def covers(self, resource_id: str) -> bool:
        """Whether a resource listed from an in-scope subscription is in the resource-group scope."""
        return self.covers_group(resource_group_of(resource_id))
