"""Who manages a machine (rules/ownership.py): each platform's documented markers, the near misses
that must stay the owner's, the owner's own markers from the policy, and lifting a built-in."""

from __future__ import annotations

import pytest

from rules import PolicyError, parse_policy
from rules.ownership import Extension, LeaveAlone, OwnerFacts, OwnerMarker, parse_leave_alone, platform_owner

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"


def vm(group: str = "rg-app", name: str = "vm1") -> str:
    return f"{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}"


def scale_set(group: str = "rg-app", name: str = "ss1") -> str:
    return f"{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


AKS_CLUSTER = f"{SUB}/resourceGroups/prod/providers/Microsoft.ContainerService/managedClusters/aks1"
WORKSPACE = f"{SUB}/resourceGroups/analytics/providers/Microsoft.Databricks/workspaces/ws1"
SF_MANAGED = f"{SUB}/resourceGroups/apps/providers/Microsoft.ServiceFabric/managedClusters/sf1"
BATCH_POOL = f"{SUB}/resourceGroups/batch/providers/Microsoft.Batch/batchAccounts/acct/pools/p1"
SF_GROUP = "SFC_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

# (case, facts, the reason expected or None). Reasons are matched whole: what a person reads.
CASES = [
    # AKS: the node resource group by its name, or by managedBy (a custom node resource group),
    # and AKS's own tags on node pools.
    ("aks node group", OwnerFacts(scale_set("MC_prod_aks1_westeurope", "aks-nodepool1-12345678-vmss")),
     "managed by AKS: resource group MC_prod_aks1_westeurope is an AKS node resource group (MC_<group>_<cluster>_<region>)"),
    ("aks node group, lower case", OwnerFacts(scale_set("mc_prod_aks1_eastus2")),
     "managed by AKS: resource group mc_prod_aks1_eastus2 is an AKS node resource group (MC_<group>_<cluster>_<region>)"),
    ("aks custom node group", OwnerFacts(scale_set("aks1-nodes"), group_managed_by=AKS_CLUSTER),
     f"managed by AKS: resource group aks1-nodes is managed by {AKS_CLUSTER}"),
    ("aks pool tag", OwnerFacts(scale_set("nodes"), tags={"aks-managed-poolName": "nodepool1", "env": "prod"}),
     "managed by AKS: the resource carries AKS's own tag aks-managed-poolName"),
    ("aks tag, other case", OwnerFacts(vm("nodes"), tags={"AKS-Managed-Orchestrator": "Kubernetes:1.33.3"}),
     "managed by AKS: the resource carries AKS's own tag AKS-Managed-Orchestrator"),
    ("aks tag on the group", OwnerFacts(vm("nodes"), group_tags={"aks-managed-cluster-name": "aks1"}),
     "managed by AKS: resource group nodes carries AKS's own tag aks-managed-cluster-name"),
    # Databricks: the managed resource group names the workspace; workers carry Vendor: Databricks.
    ("databricks group", OwnerFacts(vm("databricks-rg-ws1-abc"), group_managed_by=WORKSPACE),
     f"managed by Databricks: resource group databricks-rg-ws1-abc is managed by {WORKSPACE}"),
    ("databricks vendor tag", OwnerFacts(vm(), tags={"Vendor": "Databricks", "ClusterId": "0101-abc"}),
     "managed by Databricks: the resource carries Databricks's default tag Vendor: Databricks"),
    # Service Fabric: the node extension (classic, Linux, managed cluster), the managed cluster's
    # group, the cluster tags of Microsoft's templates.
    ("sf windows extension", OwnerFacts(scale_set(), extensions=(Extension("Microsoft.Azure.ServiceFabric", "ServiceFabricNode"),)),
     "managed by Service Fabric: it runs the Service Fabric node extension Microsoft.Azure.ServiceFabric/ServiceFabricNode"),
    ("sf linux extension", OwnerFacts(scale_set(), extensions=(Extension("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),
                                                               Extension("microsoft.azure.servicefabric", "servicefabriclinuxnode"))),
     "managed by Service Fabric: it runs the Service Fabric node extension microsoft.azure.servicefabric/servicefabriclinuxnode"),
    ("sf managed cluster extension", OwnerFacts(scale_set(), extensions=(Extension("Microsoft.Azure.ServiceFabric.MC", "ServiceFabricMCNode"),)),
     "managed by Service Fabric: it runs the Service Fabric node extension Microsoft.Azure.ServiceFabric.MC/ServiceFabricMCNode"),
    ("sf managed cluster group", OwnerFacts(scale_set(SF_GROUP)),
     f"managed by Service Fabric: resource group {SF_GROUP} holds a Service Fabric managed cluster's node types"),
    ("sf managed cluster managedBy", OwnerFacts(scale_set("sf-infra"), group_managed_by=SF_MANAGED),
     f"managed by Service Fabric: resource group sf-infra is managed by {SF_MANAGED}"),
    ("sf cluster tags", OwnerFacts(scale_set(), tags={"resourceType": "Service Fabric", "clusterName": "sf1"}),
     "managed by Service Fabric: the resource carries Service Fabric's cluster tags (resourceType: Service Fabric, clusterName: sf1)"),
    # Anything else that sets managedBy.
    ("other managedBy on the group", OwnerFacts(vm("batch-nodes"), group_managed_by=BATCH_POOL),
     f"managed by another resource: resource group batch-nodes is managed by {BATCH_POOL}"),
    ("other managedBy on the resource", OwnerFacts(vm(), managed_by=BATCH_POOL),
     f"managed by another resource: the resource is managed by {BATCH_POOL}"),
    # Near misses: the owner's own machines.
    ("plain vm", OwnerFacts(vm(), tags={"env": "prod"}), None),
    ("MC without the parts", OwnerFacts(vm("MC_prod")), None),
    ("MC with a hyphen", OwnerFacts(vm("MC-prod-aks1-westeurope")), None),
    ("MC inside the name", OwnerFacts(vm("legacy_MC_prod_aks1_westeurope")), None),
    ("MC group named with a region with a hyphen", OwnerFacts(vm("MC_prod_aks1_west-europe")), None),
    ("aks-managed without a suffix", OwnerFacts(vm(), tags={"aks-managed": "yes"}), None),
    ("aks-managed inside a tag name", OwnerFacts(vm(), tags={"my-aks-managed-pool": "x"}), None),
    ("aks in a tag value", OwnerFacts(vm(), tags={"team": "aks-managed-poolName"}), None),
    ("vendor not databricks", OwnerFacts(vm(), tags={"Vendor": "Contoso"}), None),
    ("databricks in a cluster name", OwnerFacts(vm(), tags={"ClusterName": "databricks-like"}), None),
    ("other extension of that publisher", OwnerFacts(scale_set(), extensions=(Extension("Microsoft.Azure.ServiceFabric", "ServiceFabricDiagnostics"),)), None),
    ("SF node type from another publisher", OwnerFacts(scale_set(), extensions=(Extension("Contoso.Tools", "ServiceFabricNode"),)), None),
    ("SFC_ without a cluster id", OwnerFacts(vm("SFC_apps")), None),
    ("resourceType tag alone", OwnerFacts(vm(), tags={"resourceType": "Service Fabric"}), None),
    ("flexible scale set owns its VM", OwnerFacts(vm(), managed_by=scale_set()), None),
    ("empty managedBy", OwnerFacts(vm(), managed_by="", group_managed_by=""), None),
]


@pytest.mark.parametrize("facts,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_built_in_markers(facts, expected):
    assert platform_owner(facts) == expected


OWNER = LeaveAlone(markers=(
    OwnerMarker("Azure Batch", managed_by="*/providers/Microsoft.Batch/*"),
    OwnerMarker("the HPC team", resource_group="hpc-*"),
    OwnerMarker("the CI runners", tag="ci-runner"),
    OwnerMarker("the render farm", tag="pool", value="render"),
))

OWNER_CASES = [
    ("a managedBy the owner lists too is still the built-in marker's", OwnerFacts(vm(), managed_by=BATCH_POOL),
     f"managed by another resource: the resource is managed by {BATCH_POOL}"),
    ("group glob", OwnerFacts(vm("HPC-West")), "managed by the HPC team: resource group HPC-West matches hpc-* (policy leave_alone)"),
    ("tag present", OwnerFacts(vm(), tags={"CI-Runner": ""}), "managed by the CI runners: the resource carries the tag ci-runner (policy leave_alone)"),
    ("tag on the group", OwnerFacts(vm(), group_tags={"ci-runner": "yes"}),
     "managed by the CI runners: resource group rg-app carries the tag ci-runner (policy leave_alone)"),
    ("tag with its value", OwnerFacts(vm(), tags={"pool": "Render"}), "managed by the render farm: the resource carries the tag pool: Render (policy leave_alone)"),
    ("tag with another value", OwnerFacts(vm(), tags={"pool": "batch"}), None),
    ("group not matching", OwnerFacts(vm("rg-hpc")), None),
]


@pytest.mark.parametrize("facts,expected", [c[1:] for c in OWNER_CASES], ids=[c[0] for c in OWNER_CASES])
def test_the_owners_markers(facts, expected):
    assert platform_owner(facts, OWNER) == expected


def test_the_owners_managed_by_glob_names_its_platform_once_the_generic_marker_is_lifted():
    owner = LeaveAlone(markers=OWNER.markers, lifted=frozenset({"managed-by"}))
    assert platform_owner(OwnerFacts(vm(), managed_by=BATCH_POOL), owner) == (
        f"managed by Azure Batch: the resource is managed by {BATCH_POOL}, which matches */providers/Microsoft.Batch/* (policy leave_alone)")


@pytest.mark.parametrize("lift,facts,expected", [
    # Lifting Databricks lifts its managedBy too: the generic marker does not take it back.
    ("databricks", OwnerFacts(vm("databricks-rg-ws1"), group_managed_by=WORKSPACE, tags={"Vendor": "Databricks"}), None),
    ("aks", OwnerFacts(scale_set("MC_prod_aks1_westeurope"), group_managed_by=AKS_CLUSTER, tags={"aks-managed-poolName": "p"}), None),
    ("service-fabric", OwnerFacts(scale_set(SF_GROUP), group_managed_by=SF_MANAGED,
                                  extensions=(Extension("Microsoft.Azure.ServiceFabric.MC", "ServiceFabricMCNode"),)), None),
    # Lifting one platform leaves the others in force.
    ("databricks", OwnerFacts(scale_set("MC_prod_aks1_westeurope")),
     "managed by AKS: resource group MC_prod_aks1_westeurope is an AKS node resource group (MC_<group>_<cluster>_<region>)"),
    ("managed-by", OwnerFacts(vm(), group_managed_by=WORKSPACE), f"managed by Databricks: resource group rg-app is managed by {WORKSPACE}"),
    ("managed-by", OwnerFacts(vm(), group_managed_by=BATCH_POOL), None),
])
def test_a_lifted_built_in_is_not_applied(lift, facts, expected):
    assert platform_owner(facts, LeaveAlone(lifted=frozenset({lift}))) == expected


def test_the_policy_section_reads_markers_and_lifts_and_warns_for_each_lift():
    section = {"markers": [{"platform": "the HPC team", "resource_group": "hpc-*"},
                           {"platform": "the render farm", "tag": "pool", "value": "render"}],
               "lift": ["service-fabric", "databricks"]}
    parsed = parse_leave_alone(section)
    assert parsed.markers == (OwnerMarker("the HPC team", resource_group="hpc-*"), OwnerMarker("the render farm", tag="pool", value="render"))
    assert parsed.warnings() == [
        "policy leave_alone lifts the built-in 'databricks' markers: machines managed by Databricks may be acted on",
        "policy leave_alone lifts the built-in 'service-fabric' markers: machines managed by Service Fabric may be acted on",
    ]
    assert parse_leave_alone(None) == LeaveAlone() and LeaveAlone().warnings() == []


@pytest.mark.parametrize("section,fragment", [
    ({"lift": ["kubernetes"]}, "policy: leave_alone: lift/0: 'kubernetes' is not one of ['aks', 'databricks', 'service-fabric', 'managed-by']"),
    ({"lift": "aks"}, "policy: leave_alone: lift: 'aks' is not of type 'array'"),
    ({"lift": ["aks", "aks"]}, "policy: leave_alone: lift: ['aks', 'aks'] has non-unique elements"),
    ({"markers": [{"tag": "ci-runner"}]}, "policy: leave_alone: markers/0: 'platform' is a required property"),
    ({"markers": [{"platform": "x", "tag": ""}]}, "policy: leave_alone: markers/0/tag: '' should be non-empty"),
    ({"markers": [{"platform": "x", "colour": "blue"}]}, "policy: leave_alone: markers/0: Additional properties are not allowed ('colour' was unexpected)"),
    ({"markers": [{"platform": "x"}]}, "policy: leave_alone: markers/0: give exactly one of tag, resource_group, managed_by (none given)"),
    ({"markers": [{"platform": "x", "tag": "a", "resource_group": "b"}]},
     "policy: leave_alone: markers/0: give exactly one of tag, resource_group, managed_by (tag and resource_group given)"),
    ({"markers": [{"platform": "x", "resource_group": "b", "value": "c"}]}, "policy: leave_alone: markers/0: value is for a tag marker (give tag: NAME)"),
    ({"unlift": ["aks"]}, "policy: leave_alone: (top): Additional properties are not allowed ('unlift' was unexpected)"),
])
def test_a_mistake_in_the_section_names_the_place(section, fragment):
    with pytest.raises(PolicyError) as raised:
        parse_leave_alone(section)
    assert str(raised.value) == fragment


def test_the_policy_carries_its_section_and_names_the_file_in_a_mistake():
    document = {"version": 1, "rules": [], "leave_alone": {"lift": ["databricks"]}}
    assert parse_policy(document, "ops.yaml").leave_alone == LeaveAlone(lifted=frozenset({"databricks"}))
    assert parse_policy({"version": 1, "rules": []}).leave_alone == LeaveAlone()
    with pytest.raises(PolicyError, match=r"^ops.yaml: leave_alone: markers/0: give exactly one of"):
        parse_policy({**document, "leave_alone": {"markers": [{"platform": "x"}]}}, "ops.yaml")

