"""ARM ids taken apart in one place: the parts of every shape the app meets, the refusals with
the part named, and no product module that splits an id by hand."""

from __future__ import annotations

import ast
import re

import pytest

from arm import SCALE_SET, SCALE_SET_VM, VM, ArmIdError, ResourceId, resource_key, short_name
from tests.conftest import ROOT
from tests.layout import FLOORS, sources

SUB = "00000000-0000-0000-0000-00000000d3e0"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-demo"
C = f"{RG}/providers/Microsoft.Compute"

# text -> (provider type, name, short name, scale set name, instance id, scale set id, resource group)
PARSED = [
    (f"{C}/virtualMachines/vm-1", VM, "vm-1", "vm-1", None, None, None, "rg-demo"),
    (f"{C}/virtualMachineScaleSets/ss-1", SCALE_SET, "ss-1", "ss-1", "ss-1", None, f"{C}/virtualMachineScaleSets/ss-1", "rg-demo"),
    (f"{C}/virtualMachineScaleSets/ss-1/virtualMachines/7", SCALE_SET_VM, "7", "ss-1/7", "ss-1", "7",
     f"{C}/virtualMachineScaleSets/ss-1", "rg-demo"),
    # A Flexible scale set's machine is a plain VM named after its set: its id names no set.
    (f"{C}/virtualMachines/ss-flex_1a2b3c4d", VM, "ss-flex_1a2b3c4d", "ss-flex_1a2b3c4d", None, None, None, "rg-demo"),
    (f"{C}/availabilitySets/as-1", "Microsoft.Compute/availabilitySets", "as-1", "as-1", None, None, None, "rg-demo"),
    # Event Grid sends ids in lower case, people in any case: the compute types come back canonical.
    (f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-Demo/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/SS-1/VIRTUALMACHINES/0",
     SCALE_SET_VM, "0", "SS-1/0", "SS-1", "0",
     f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-Demo/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/SS-1", "RG-Demo"),
    (f"  {C}/virtualMachines/vm-1/  ", VM, "vm-1", "vm-1", None, None, None, "rg-demo"),  # blanks and a trailing slash
    (f"/subscriptions/{SUB}", "", SUB, SUB, None, None, None, None),
    (RG, "", "rg-demo", "rg-demo", None, None, None, "rg-demo"),
    (f"/subscriptions/{SUB}/providers/Microsoft.ResourceHealth/events/ABC-123", "Microsoft.ResourceHealth/events",
     "ABC-123", "ABC-123", None, None, None, None),
    (f"{RG}/providers/Microsoft.Databricks/workspaces/ws", "Microsoft.Databricks/workspaces", "ws", "ws", None, None, None, "rg-demo"),
]  # fmt: skip


@pytest.mark.parametrize("text, provider_type, name, short, set_name, instance, set_id, group", PARSED)
def test_parts(text, provider_type, name, short, set_name, instance, set_id, group):
    rid = ResourceId.parse(text)
    assert rid.subscription == SUB
    assert (rid.provider_type, rid.name, rid.short_name, rid.scale_set_name, rid.instance_id, rid.resource_group) == (
        provider_type, name, short, set_name, instance, group)
    assert (rid.scale_set.text if rid.scale_set else None) == set_id
    assert rid.text == text.strip().rstrip("/")
    assert rid.key == rid.text.lower() == resource_key(text)
    assert rid.portal_url == "https://portal.azure.com/#@/resource" + rid.text
    assert short_name(text) == short


@pytest.mark.parametrize(
    "text, kind",
    [
        (f"{C}/virtualMachines/vm-1", "vm"),
        (f"{C}/virtualMachineScaleSets/ss-1", "scale set"),
        (f"{C}/virtualMachineScaleSets/ss-1/virtualMachines/7", "instance"),
        (f"{C}/virtualMachines/ss-flex_1a2b3c4d", "vm"),
        (f"{C}/availabilitySets/as-1", None),
        (f"/subscriptions/{SUB}", "subscription"),
        (RG, "resource group"),
    ],
)
def test_what_it_names(text, kind):
    rid = ResourceId.parse(text)
    found = [k for k, yes in [("vm", rid.is_vm), ("scale set", rid.is_scale_set), ("instance", rid.is_instance),
                              ("subscription", rid.is_subscription), ("resource group", rid.is_resource_group)] if yes]
    assert found == ([kind] if kind else [])


def test_one_resource_in_any_casing_is_one_key():
    lower = ResourceId.parse(f"{C}/virtualMachines/vm-1".lower())
    upper = ResourceId.parse(f"{C}/virtualMachines/vm-1".upper())
    assert lower == upper and hash(lower) == hash(upper) and len({lower, upper}) == 1
    assert lower != ResourceId.parse(f"{C}/virtualMachines/vm-2")


@pytest.mark.parametrize(
    "text, canonical",
    [
        (f"{C}/virtualmachines/vm-1".lower(), f"{C}/virtualMachines/vm-1".lower().replace(
            "/resourcegroups/", "/resourceGroups/").replace("microsoft.compute/virtualmachines", "Microsoft.Compute/virtualMachines")),
        (f"{C}/virtualMachineScaleSets/ss-1/virtualMachines/3/", f"{C}/virtualMachineScaleSets/ss-1/virtualMachines/3"),
    ],
)
def test_id_in_arms_casing_keeps_the_names(text, canonical):
    assert ResourceId.parse(text).id == canonical


def test_the_scale_set_id_of_a_set_or_instance_and_none_for_a_vm():
    assert ResourceId.parse(f"{C}/virtualmachinescalesets/ss-1/virtualmachines/3").scale_set_id == f"{C}/virtualMachineScaleSets/ss-1"
    with pytest.raises(ArmIdError, match="names no scale set"):
        ResourceId.parse(f"{C}/virtualMachines/ss-flex_1a2b3c4d").scale_set_id  # noqa: B018 - the property raises


def test_the_group_and_the_type_as_written():
    rid = ResourceId.parse(f"/subscriptions/{SUB}/resourcegroups/RG-Demo/providers/microsoft.compute/virtualmachines/vm-1")
    assert rid.resource_group_id is not None and rid.resource_group_id.text == f"/subscriptions/{SUB}/resourcegroups/RG-Demo"
    assert rid.resource_group_id.is_resource_group
    assert (rid.written_type, rid.provider_type) == ("microsoft.compute/virtualmachines", VM)
    assert ResourceId.parse(f"/subscriptions/{SUB}").resource_group_id is None


def test_an_extension_resource_names_what_it_extends():
    vm = f"{C}/virtualMachines/vm-1"
    status = ResourceId.parse(vm + "/providers/Microsoft.ResourceHealth/availabilityStatuses/current")
    assert status.provider_type == "Microsoft.ResourceHealth/availabilityStatuses"
    assert status.name == "current"
    assert status.scope is not None and status.scope.text == vm and status.scope.is_vm
    assert status.id == vm + "/providers/Microsoft.ResourceHealth/availabilityStatuses/current"


def test_of_passes_a_parsed_id_through():
    rid = ResourceId.parse(f"{C}/virtualMachines/vm-1")
    assert ResourceId.of(rid) is rid
    assert ResourceId.of(rid.text) == rid


@pytest.mark.parametrize(
    "text, part",
    [
        ("", "the id"),
        ("   ", "the id"),
        (None, "the id"),
        (42, "the id"),
        ("vm-1", "the id"),
        ("subscriptions/x/resourceGroups/rg", "the id"),
        ("/tenants/x", "the id"),
        (f"/subscriptions/{SUB}//resourceGroups/rg", "the id"),
        ("/subscriptions", "the subscription"),
        (f"/subscriptions/{SUB}/resourceGroups", "the resource group"),
        (f"/subscriptions/{SUB}/locations/westeurope", "the segment 'locations'"),
        (f"{RG}/providers", "the provider namespace"),
        (f"{RG}/providers/Microsoft.Compute", "the provider 'Microsoft.Compute'"),
        (f"{C}/virtualMachines", "the resource type 'virtualMachines'"),
        (f"{C}/virtualMachineScaleSets/ss-1/virtualMachines", "the resource type 'virtualMachines'"),
        (f"{C}/virtualMachines/vm-1/providers/Microsoft.ResourceHealth", "the provider 'Microsoft.ResourceHealth'"),
    ],
)
def test_refuses_with_the_part_named(text, part):
    with pytest.raises(ArmIdError) as caught:
        ResourceId.parse(text)
    assert caught.value.part == part
    assert str(caught.value).startswith(f"not an ARM resource id: {part} ")
    assert ResourceId.try_parse(text) is None


def test_short_name_of_a_text_that_is_no_id_is_its_last_segment():
    assert short_name("not-an-arm-id") == "not-an-arm-id"
    assert short_name("some/path/leaf/") == "leaf"


# -- nobody else takes an id apart ----------------------------------------------------------

# Splitting on "/" something that holds an id (a resource id, a scale set's or an availability
# set's, a target, a candidate...); other texts split on "/" (a URL's path, a file name, a
# "PowerState/running" code, a signal's name) are no ids.
ID_LIKE = re.compile(r"(?i)resource|_id\b|^id$|\brid\b|arm|scale_set|availability_set|target|candidate|subscription|group")
SPLITS = ("split", "rsplit", "partition", "rpartition")
# An id's fixed words looked for in a text: "providers", "/resourceGroups/"... An id built from
# its parts (an f-string) is fine; a provider type ("microsoft.compute/virtualmachines") is no id.
ID_WORDS = re.compile(r"(?i)^(resourcegroups|providers|virtualmachines|virtualmachinescalesets)$"
                      r"|/(subscriptions|resourcegroups|providers)(/|$)")
A_TYPE = re.compile(r"^[A-Za-z]+\.[A-Za-z.]+/")  # "Microsoft.Resources/subscriptions/resourceGroups/read"


def hand_parsing(source: str, name: str = "<probe>") -> list[str]:
    tree = ast.parse(source)
    built = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in ast.walk(node)}
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}  # docstrings
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SPLITS
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "/"
                and ID_LIKE.search(ast.unparse(node.func.value))):
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:80]}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in built | prose
                and ID_WORDS.search(node.value) and not A_TYPE.match(node.value)):
            found.append(f"{name}:{node.lineno}: {node.value[:80]!r}")
    return found


@pytest.mark.parametrize(
    "source, caught",
    [
        ('parts = resource_id.strip("/").split("/")', True),
        ('name = scale_set_id.rstrip("/").rsplit("/", 1)[-1]', True),
        ('at = [p.lower() for p in parts].index("providers")', True),
        ('found = "/virtualmachinescalesets/" in rid.lower() or "/resourcegroups/" in x', True),
        ('ok = value.lower().startswith("/subscriptions/")', True),
        ('url = f"/subscriptions/{sub}/resourceGroups/{group}"', False),  # built, not taken apart
        ('state, code = state.split("/", 1)', False),  # "PowerState/running": no id
        ('KIND = "microsoft.compute/virtualmachinescalesets"', False),  # a type, not an id
        ('READ = "Microsoft.Resources/subscriptions/resourceGroups/read"', False),  # a permission
        ('cut = lowered.find("/providers/microsoft.maintenance/")', True),
        ('name = availability_set.rsplit("/", 1)[-1]', True),
    ],
)
def test_the_check_tells_taking_apart_from_building(source, caught):
    assert bool(hand_parsing(source)) is caught


def test_no_product_module_outside_arm_takes_an_id_apart():
    found = [hit for package in FLOORS if package != "arm" for path in sources(package)
             for hit in hand_parsing(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []
