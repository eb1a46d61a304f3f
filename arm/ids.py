"""An ARM resource id, parsed once into an immutable value.

    /subscriptions/{sub}[/resourceGroups/{group}][/providers/{namespace}/{type}/{name}[/{type}/{name}]...]

and an extension resource adds `/providers/{namespace}/{type}/{name}...` after the resource it
extends (a VM's `.../providers/Microsoft.ResourceHealth/availabilityStatuses/current`).

ARM compares ids case-insensitively and Azure itself sends them in more than one casing (Event
Grid in lower case, alerts as created), so every comparison goes through `key`; names keep the
casing they were given, which ARM preserves in URLs and logs.

Scale sets: a Uniform scale set's machine is a child resource,
`.../virtualMachineScaleSets/{set}/virtualMachines/{instance id}`; a Flexible scale set's
machines are plain VMs (`.../virtualMachines/{name}`) whose id says nothing of their set.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ArmIdError

VM = "Microsoft.Compute/virtualMachines"
SCALE_SET = "Microsoft.Compute/virtualMachineScaleSets"
SCALE_SET_VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
# The types this app acts on, in ARM's own casing (an id may arrive in any casing).
_CANONICAL = {t.lower(): t for t in (VM, SCALE_SET, SCALE_SET_VM)}
PORTAL = "https://portal.azure.com/#@/resource"


@dataclass(frozen=True, eq=False)
class ResourceId:
    """A subscription, a resource group, or a resource (perhaps a child, perhaps an extension).

    Two ids are equal when ARM would say they name the same thing (their `key`s are equal).
    """

    text: str  # as given, without surrounding blanks and trailing slashes
    subscription: str
    resource_group: str | None = None
    namespace: str | None = None  # "Microsoft.Compute"; None for a subscription or a group
    types: tuple[str, ...] = ()  # ("virtualMachineScaleSets", "virtualMachines")
    names: tuple[str, ...] = ()  # ("pool-a", "3"), one per type
    scope: ResourceId | None = None  # what an extension resource extends

    # -- reading ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: object) -> ResourceId:
        """The id's parts, or ArmIdError naming the part that is wrong."""
        if not isinstance(text, str):
            raise ArmIdError(text, "the id", f"is not text but {type(text).__name__}")
        given = text.strip().rstrip("/")
        if not given:
            raise ArmIdError(text, "the id", "is empty")
        if not given.startswith("/"):
            raise ArmIdError(text, "the id", "does not start with /subscriptions/")
        segments = given[1:].split("/")
        if "" in segments:
            raise ArmIdError(text, "the id", "has an empty segment (//)")
        if segments[0].lower() != "subscriptions":
            raise ArmIdError(text, "the id", "does not start with /subscriptions/")
        if len(segments) < 2:
            raise ArmIdError(text, "the subscription", "is missing")
        subscription, rest = segments[1], segments[2:]
        group = None
        if rest and rest[0].lower() == "resourcegroups":
            if len(rest) < 2:
                raise ArmIdError(text, "the resource group", "is missing after /resourceGroups")
            group, rest = rest[1], rest[2:]
        if not rest:
            return cls(given, subscription, group)
        if rest[0].lower() != "providers":
            raise ArmIdError(text, f"the segment {rest[0]!r}", "is neither resourceGroups nor providers")
        found: ResourceId | None = None
        while rest:  # one provider part, then one more per extension of what came before
            namespace, pairs, rest = _provider_part(text, rest)
            end = len(given) - sum(len(s) + 1 for s in rest)
            found = cls(given[:end], subscription, group, namespace, pairs[0::2], pairs[1::2], found)
        return found if found is not None else cls(given, subscription, group)

    @classmethod
    def of(cls, value: ResourceId | str) -> ResourceId:
        """The value itself when it is parsed already, else parsed: an id travels parsed."""
        return value if isinstance(value, ResourceId) else cls.parse(value)

    @classmethod
    def try_parse(cls, text: object) -> ResourceId | None:
        """For texts that need only be shown: None instead of an error."""
        try:
            return cls.parse(text)
        except ArmIdError:
            return None

    # -- what it names ---------------------------------------------------------------------

    @property
    def key(self) -> str:
        """What two spellings of one id share: ARM ids are case-insensitive."""
        return self.text.lower()

    @property
    def provider_type(self) -> str:
        """"Microsoft.Compute/virtualMachines"; "" for a subscription or a resource group.
        The compute types come in ARM's casing whatever the id's."""
        if self.namespace is None:
            return ""
        return _CANONICAL.get(self.written_type.lower(), self.written_type)

    @property
    def name(self) -> str:
        """The last name in the id: a VM's, a scale set's, a Uniform instance's id ("3"), or the
        resource group's or subscription's for those."""
        if self.names:
            return self.names[-1]
        return self.resource_group if self.resource_group is not None else self.subscription

    @property
    def written_type(self) -> str:
        """The provider type as the id writes it ("microsoft.compute/virtualmachines" from Event
        Grid): what a payload said, kept as it said it."""
        return "/".join((self.namespace, *self.types)) if self.namespace is not None else ""

    @property
    def resource_group_id(self) -> ResourceId | None:
        """The id of the resource group the resource is in, as written; None for a subscription."""
        if self.resource_group is None:
            return None
        head = self.scope.resource_group_id if self.scope is not None else None
        if head is not None:
            return head
        cut = len("/".join(self.text.split("/", 5)[:5]))  # "/subscriptions/{sub}/resourceGroups/{group}"
        return ResourceId(self.text[:cut], self.subscription, self.resource_group)

    @property
    def is_subscription(self) -> bool:
        return self.resource_group is None and self.namespace is None

    @property
    def is_resource_group(self) -> bool:
        return self.resource_group is not None and self.namespace is None

    @property
    def is_vm(self) -> bool:
        """A plain VM (a Flexible scale set's machines are these)."""
        return self.provider_type == VM

    @property
    def is_scale_set(self) -> bool:
        return self.provider_type == SCALE_SET

    @property
    def is_instance(self) -> bool:
        """A Uniform scale set's machine."""
        return self.provider_type == SCALE_SET_VM

    @property
    def scale_set(self) -> ResourceId | None:
        """The scale set itself for a scale set or a Uniform instance; None otherwise (a Flexible
        set's VM does not name its set: the VM's `virtualMachineScaleSet` property does)."""
        if self.is_scale_set:
            return self
        if self.is_instance:
            cut = len(self.text) - len(self.types[-1]) - len(self.names[-1]) - 2
            return ResourceId(self.text[:cut], self.subscription, self.resource_group, self.namespace,
                              self.types[:1], self.names[:1])
        return None

    @property
    def scale_set_id(self) -> str:
        """The scale set's `id` for a scale set or a Uniform instance; ArmIdError for anything else."""
        if self.scale_set is None:
            raise ArmIdError(self.text, "the id", "names no scale set")
        return self.scale_set.id

    @property
    def scale_set_name(self) -> str | None:
        """The scale set's name for a scale set or a Uniform instance."""
        return self.names[0] if self.is_scale_set or self.is_instance else None

    @property
    def instance_id(self) -> str | None:
        """A Uniform instance's id within its set ("3")."""
        return self.names[1] if self.is_instance else None

    @property
    def short_name(self) -> str:
        """Enough for a person to recognise in a line: "vm-1", "pool-a", "pool-a/3"."""
        if self.is_instance:
            return f"{self.names[0]}/{self.names[1]}"
        return self.name

    @property
    def portal_url(self) -> str:
        return f"{PORTAL}{self.text}"

    @property
    def id(self) -> str:
        """The id in ARM's casing of its fixed words and of the compute types; names as given."""
        head = f"{self.scope.id}" if self.scope is not None else f"/subscriptions/{self.subscription}"
        if self.scope is None and self.resource_group is not None:
            head += f"/resourceGroups/{self.resource_group}"
        if self.namespace is None:
            return head
        canonical = self.provider_type.split("/")
        parts = [f"{t}/{n}" for t, n in zip(canonical[1:], self.names, strict=True)]
        return "/".join((f"{head}/providers", canonical[0], *parts))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResourceId) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.text


def _provider_part(text: str, rest: list[str]) -> tuple[str, tuple[str, ...], list[str]]:
    """("Microsoft.Compute", (type, name, type, name...), what follows) from `providers/...`."""
    if len(rest) < 2:
        raise ArmIdError(text, "the provider namespace", "is missing after /providers")
    namespace, tail = rest[1], rest[2:]
    pairs: list[str] = []
    while tail and tail[0].lower() != "providers":
        if len(tail) < 2:
            raise ArmIdError(text, f"the resource type {tail[0]!r}", "has no name after it")
        pairs += tail[:2]
        tail = tail[2:]
    if not pairs:
        raise ArmIdError(text, f"the provider {namespace!r}", "names no resource type")
    return namespace, tuple(pairs), tail


def resource_key(value: ResourceId | str) -> str:
    """The case-insensitive key of an id, parsed or not (a stored row, a hold's name): for a text,
    equal to `ResourceId.parse(text).key` whenever that parses."""
    if isinstance(value, ResourceId):
        return value.key
    return value.strip().rstrip("/").lower()


def short_name(text: str) -> str:
    """`ResourceId.short_name`, or the text's last segment when it is no ARM id (a message must
    render whatever it was given)."""
    parsed = ResourceId.try_parse(text)
    if parsed is not None:
        return parsed.short_name
    return text.strip().rstrip("/").rsplit("/", 1)[-1]
