"""Who owns a machine: the owner, or a platform that manages it (AKS, Databricks, Service Fabric,
or any resource or resource group whose `managedBy` is set).

A platform-managed machine is left alone by default: redeploying an AKS node, enabling automatic
repairs on a Databricks worker pool or deleting an instance of a Service Fabric node type behind
the platform's back is unsupported, and the platform repairs its own machines (AKS rotates nodes
and raises Resource Health events all the time). Each built-in marker below is one fact Azure
documents about a platform's machines; docs/ownership.md names the source of each. The policy's
`leave_alone:` section adds the owner's own markers and may lift a built-in platform, explicitly.

Pure: the facts come from actions.resource_info (the resource, its group, its extensions).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arm import ResourceId

from .errors import PolicyError
from .validation import check

# -- the facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extension:
    """A VM extension on the machine (or in the scale set's model): publisher and type."""

    publisher: str
    type: str


@dataclass(frozen=True)
class OwnerFacts:
    """What ownership is told from, all read with the resource: its own `managedBy` and tags, its
    resource group's name, `managedBy` and tags, and its extensions. For a scale-set instance,
    the scale set's (its model carries the tags and the extensions)."""

    resource_id: str
    managed_by: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    resource_group: str = ""  # default: the group named in resource_id
    group_managed_by: str = ""
    group_tags: Mapping[str, str] = field(default_factory=dict)
    extensions: tuple[Extension, ...] = ()

    def __post_init__(self) -> None:
        if not self.resource_group:
            object.__setattr__(self, "resource_group", resource_group_of(self.resource_id))


def resource_group_of(resource_id: str) -> str:
    rid = ResourceId.try_parse(resource_id)
    return (rid.resource_group or "") if rid is not None else ""


def _tag(tags: Mapping[str, str], name: str) -> str | None:
    """A tag's value by its name, compared without case as Azure compares tag names."""
    wanted = name.lower()
    return next((str(v) for k, v in tags.items() if k.lower() == wanted), None)


def _provider_type(arm_id: str) -> str:
    """'Microsoft.Databricks/workspaces' for a workspace's id; '' when the id names no provider."""
    rid = ResourceId.try_parse(arm_id)  # an extension resource's own provider: the last one
    return f"{rid.namespace}/{rid.types[0]}" if rid is not None and rid.namespace is not None else ""


# -- the built-in markers -------------------------------------------------------------------------

# A managedBy that names one of these is that platform's, and lifting the platform lifts it too.
MANAGERS = {
    "microsoft.containerservice/managedclusters": "aks",
    "microsoft.databricks/workspaces": "databricks",
    "microsoft.servicefabric/managedclusters": "service-fabric",
    "microsoft.servicefabric/clusters": "service-fabric",
}
# A Flexible scale set is the managedBy of its own VMs: the owner's scale set, not a platform.
NOT_A_PLATFORM = ("microsoft.compute/virtualmachinescalesets",)

# AKS names its node resource group MC_<resource group>_<cluster>_<region> unless told otherwise.
_AKS_NODE_GROUP = re.compile(r"^MC_.+_.+_[a-z0-9]+$", re.IGNORECASE)
# A Service Fabric managed cluster keeps its node types in SFC_<cluster id>.
_SF_MANAGED_GROUP = re.compile(r"^SFC_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
SF_PUBLISHERS = ("microsoft.azure.servicefabric", "microsoft.azure.servicefabric.mc")
SF_EXTENSION_TYPES = ("servicefabricnode", "servicefabriclinuxnode", "servicefabricmcnode")


def _managed_by(facts: OwnerFacts, platform: str) -> str | None:
    """The resource's or its group's managedBy, when it names a resource of `platform`."""
    for whose, value in (("the resource", facts.managed_by), (f"resource group {facts.resource_group}", facts.group_managed_by)):
        if value and MANAGERS.get(_provider_type(value).lower()) == platform:
            return f"{whose} is managed by {value}"
    return None


def _aks(facts: OwnerFacts) -> str | None:
    if _AKS_NODE_GROUP.match(facts.resource_group):
        return f"resource group {facts.resource_group} is an AKS node resource group (MC_<group>_<cluster>_<region>)"
    for whose, tags in (("the resource", facts.tags), (f"resource group {facts.resource_group}", facts.group_tags)):
        names = sorted(k for k in tags if k.lower().startswith("aks-managed-"))
        if names:
            return f"{whose} carries AKS's own tag {names[0]}"
    return _managed_by(facts, "aks")


def _databricks(facts: OwnerFacts) -> str | None:
    found = _managed_by(facts, "databricks")
    if found:
        return found
    vendor = _tag(facts.tags, "Vendor")
    if vendor is not None and vendor.strip().lower() == "databricks":
        return "the resource carries Databricks's default tag Vendor: Databricks"
    return None


def _service_fabric(facts: OwnerFacts) -> str | None:
    for ext in facts.extensions:
        if ext.publisher.lower() in SF_PUBLISHERS and ext.type.lower() in SF_EXTENSION_TYPES:
            return f"it runs the Service Fabric node extension {ext.publisher}/{ext.type}"
    if _SF_MANAGED_GROUP.match(facts.resource_group):
        return f"resource group {facts.resource_group} holds a Service Fabric managed cluster's node types"
    kind, cluster = _tag(facts.tags, "resourceType"), _tag(facts.tags, "clusterName")
    if kind is not None and kind.strip().lower() == "service fabric" and cluster:
        return f"the resource carries Service Fabric's cluster tags (resourceType: Service Fabric, clusterName: {cluster})"
    return _managed_by(facts, "service-fabric")


def _any_manager(facts: OwnerFacts) -> str | None:
    """managedBy naming anything that no platform marker above claims (nor the owner's own scale set)."""
    for whose, value in (("the resource", facts.managed_by), (f"resource group {facts.resource_group}", facts.group_managed_by)):
        kind = _provider_type(value).lower()
        if value and kind not in MANAGERS and kind not in NOT_A_PLATFORM:
            return f"{whose} is managed by {value}"
    return None


@dataclass(frozen=True)
class Platform:
    key: str  # what `lift:` names
    name: str  # what a person reads: "managed by <name>: ..."
    recognise: Callable[[OwnerFacts], str | None]


PLATFORMS: tuple[Platform, ...] = (
    Platform("aks", "AKS", _aks),
    Platform("databricks", "Databricks", _databricks),
    Platform("service-fabric", "Service Fabric", _service_fabric),
    Platform("managed-by", "another resource", _any_manager),
)
PLATFORM_KEYS = tuple(p.key for p in PLATFORMS)


# -- the owner's markers (policy.yaml, leave_alone:) ------------------------------------------------

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "markers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["platform"],
                "properties": {
                    "platform": {"type": "string", "minLength": 1},
                    "tag": {"type": "string", "minLength": 1},
                    "value": {"type": "string"},
                    "resource_group": {"type": "string", "minLength": 1},
                    "managed_by": {"type": "string", "minLength": 1},
                },
            },
        },
        "lift": {"type": "array", "items": {"enum": list(PLATFORM_KEYS)}, "uniqueItems": True},
    },
}
MATCHERS = ("tag", "resource_group", "managed_by")


@dataclass(frozen=True)
class OwnerMarker:
    """One marker of the owner's: a tag (present, or with a value), a resource group name or glob,
    or a managedBy glob; `platform` is what the skip reason calls the manager."""

    platform: str
    tag: str | None = None
    value: str | None = None
    resource_group: str | None = None
    managed_by: str | None = None

    def recognise(self, facts: OwnerFacts) -> str | None:
        if self.tag is not None:
            for whose, tags in (("the resource", facts.tags), (f"resource group {facts.resource_group}", facts.group_tags)):
                found = _tag(tags, self.tag)
                if found is not None and (self.value is None or found.strip().lower() == self.value.strip().lower()):
                    shown = self.tag if self.value is None else f"{self.tag}: {found}"
                    return f"{whose} carries the tag {shown} (policy leave_alone)"
            return None
        if self.resource_group is not None:
            if _glob(facts.resource_group, self.resource_group):
                return f"resource group {facts.resource_group} matches {self.resource_group} (policy leave_alone)"
            return None
        for whose, value in (("the resource", facts.managed_by), (f"resource group {facts.resource_group}", facts.group_managed_by)):
            if value and _glob(value, self.managed_by or ""):
                return f"{whose} is managed by {value}, which matches {self.managed_by} (policy leave_alone)"
        return None


def _glob(text: str, pattern: str) -> bool:
    """ARM names and ids compare without case; `*` and `?` as in a shell."""
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


@dataclass(frozen=True)
class LeaveAlone:
    """The policy's leave_alone section: the owner's markers, and the built-in platforms lifted."""

    markers: tuple[OwnerMarker, ...] = ()
    lifted: frozenset[str] = frozenset()

    def warnings(self) -> list[str]:
        """One line per lifted built-in platform, for the log at start."""
        names = {p.key: p.name for p in PLATFORMS}
        return [f"policy leave_alone lifts the built-in {key!r} markers: machines managed by {names[key]} may be acted on"
                for key in PLATFORM_KEYS if key in self.lifted]


def parse_leave_alone(section: Mapping[str, Any] | None, where: str = "policy: leave_alone",
                      checked_in_tests: bool = False) -> LeaveAlone:
    section = section or {}
    if not checked_in_tests:
        check(section, SCHEMA, PolicyError, where)
    markers = []
    for index, raw in enumerate(section.get("markers") or []):
        given = [key for key in MATCHERS if key in raw]
        if len(given) != 1:
            raise PolicyError(f"{where}: markers/{index}: give exactly one of {', '.join(MATCHERS)} "
                              f"({'none' if not given else ' and '.join(given)} given)")
        if "value" in raw and "tag" not in raw:
            raise PolicyError(f"{where}: markers/{index}: value is for a tag marker (give tag: NAME)")
        markers.append(OwnerMarker(**{k: raw[k] for k in ("platform", *MATCHERS, "value") if k in raw}))
    return LeaveAlone(markers=tuple(markers), lifted=frozenset(section.get("lift") or ()))


# -- the answer ---------------------------------------------------------------------------------------


def platform_owner(facts: OwnerFacts, leave_alone: LeaveAlone | None = None) -> str | None:
    """'managed by <platform>: <how it was recognised>' when a platform (or the owner's policy)
    says to leave this machine alone; None when it is the owner's to act on."""
    leave_alone = leave_alone or LeaveAlone()
    for platform in PLATFORMS:
        if platform.key in leave_alone.lifted:
            continue
        how = platform.recognise(facts)
        if how:
            return f"managed by {platform.name}: {how}"
    for marker in leave_alone.markers:
        how = marker.recognise(facts)
        if how:
            return f"managed by {marker.platform}: {how}"
    return None
