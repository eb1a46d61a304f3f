"""The annotations still active on a resource, from Azure Resource Graph's HealthResources.

The expected shapes are written from Azure's docs, not from the simulator: the
`microsoft.resourcehealth/resourceannotations` row's properties (targetResourceType,
targetResourceId, occurredTime, annotationName, reason, category, context, summary: "VM
availability information in Azure Resource Graph"), Resource Graph's QueryResponse (totalRecords,
count, resultTruncated, data, $skipToken: its REST reference, api-version 2021-03-01), its
throttling headers (x-ms-user-quota-remaining, x-ms-user-quota-resets-after: "Guidance for
throttled requests"), and the availability status whose title is the state
(AvailabilityStatuses_ListBySubscriptionId, read in place from the shared examples).
"""

from __future__ import annotations

import copy
import json

import pytest
from actions_testbed import SUB, judged, vm_id

from actions import registry
from actions.live_state import active_annotations, annotation_active
from simulator.server import Response

GRAPH_PATH = r"/providers/Microsoft\.ResourceGraph/resources"


def azure_row(resource_id: str, name: str, **extra) -> dict:
    """A HealthResources row as Azure's docs describe it."""
    return {
        "id": f"{resource_id}/providers/Microsoft.ResourceHealth/resourceAnnotations/current",
        "name": "current",
        "type": "microsoft.resourcehealth/resourceannotations",
        "tenantId": "72f988bf-0000-0000-0000-000000000000",
        "location": "eastus",
        "resourceGroup": "rg-actions",
        "subscriptionId": SUB,
        "properties": {
            "targetResourceType": "Microsoft.Compute/virtualMachines",
            "targetResourceId": resource_id,
            "occurredTime": "2026-12-04T07:59:12.4560000Z",
            "annotationName": name,
            "reason": "Degraded hardware",
            "category": "Unplanned",
            "context": "Platform Initiated",
            "summary": "We have identified that your VM is running on a host with degraded hardware.",
            **extra,
        },
    }


def query_answer(rows: list, *, skip_token: str | None = None, total: int | None = None) -> dict:
    answer = {"totalRecords": total if total is not None else len(rows), "count": len(rows),
              "resultTruncated": "false", "data": rows, "facets": []}  # fmt: skip
    if skip_token:
        answer["$skipToken"] = skip_token
    return answer


def graph_queries(sim) -> list:
    return [r for r in sim.requests if r.path.lower() == "/providers/microsoft.resourcegraph/resources"]


def test_the_simulated_resource_graph_holds_the_fleet_annotations(sim, clients):
    found = active_annotations(clients, vm_id("vm-accelnet"))
    assert [a.name for a in found] == ["AccelnetUnhealthy"]
    assert found[0].resource_id.lower() == vm_id("vm-accelnet").lower()
    assert found[0].occurred is not None
    assert active_annotations(clients, vm_id("vm-healthy")) == []
    assert annotation_active(clients, vm_id("vm-accelnet"), "accelnetunhealthy").name == "AccelnetUnhealthy"
    assert annotation_active(clients, vm_id("vm-accelnet"), "VirtualMachineHostCrashed") is None


def test_the_query_is_a_resource_graph_query_request(sim, clients):
    active_annotations(clients, vm_id("vm-accelnet"))
    (sent,) = graph_queries(sim)
    assert sent.method == "POST" and sent.query["api-version"] == "2021-03-01"
    assert sent.body["subscriptions"] == [SUB]
    assert sent.body["options"]["resultFormat"] == "objectArray"
    query = sent.body["query"]
    assert query.startswith("HealthResources")
    assert "type =~ 'microsoft.resourcehealth/resourceannotations'" in query
    assert vm_id("vm-accelnet").lower() in query


def test_pages_are_followed_through_skip_token(sim, clients):
    rid = vm_id("vm-healthy")
    pages = {None: query_answer([azure_row(rid, "VirtualMachineHostCrashed")], skip_token="cGFnZTI=", total=2),
             "cGFnZTI=": query_answer([azure_row(rid, "AccelnetUnhealthy", impactType="Degraded")], total=2)}  # fmt: skip
    sim.add_route("POST", GRAPH_PATH, lambda request: pages[(request.json().get("options") or {}).get("$skipToken")])
    found = active_annotations(clients, rid)
    assert [a.name for a in found] == ["VirtualMachineHostCrashed", "AccelnetUnhealthy"]
    assert found[1].impact_type == "Degraded"
    assert found[1].properties["summary"].startswith("We have identified")
    assert len(graph_queries(sim)) == 2


def test_a_throttled_query_waits_for_the_quota_and_tries_again(sim, clients):
    rid = vm_id("vm-healthy")
    answers = [
        Response(429, {"error": {"code": "RateLimiting", "message": "Client application has been throttled"}},
                 {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:01"}),
        Response(200, query_answer([azure_row(rid, "AccelnetUnhealthy")]),
                 {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"}),
    ]  # fmt: skip
    sim.add_route("POST", GRAPH_PATH, lambda request: answers.pop(0) if len(answers) > 1 else answers[0])
    assert [a.name for a in active_annotations(clients, rid)] == ["AccelnetUnhealthy"]


def _serve_azure_availability(sim, shared_examples, name: str, state: str) -> None:
    example = json.loads((shared_examples / "AvailabilityStatuses_ListBySubscriptionId.json").read_text("utf-8"))
    body = copy.deepcopy(next(v for v in example["responses"]["200"]["body"]["value"]
                              if v["properties"]["availabilityState"] == state))  # fmt: skip
    body["id"] = f"{vm_id(name)}/providers/Microsoft.ResourceHealth/availabilityStatuses/current"
    assert body["properties"]["title"] == state  # Azure's title is the state, never an annotation
    sim.add_route("GET", rf".*/virtualMachines/{name}/providers/Microsoft\.ResourceHealth/availabilityStatuses/current",
                  lambda request: body)


def test_an_available_vm_still_annotated_in_resource_graph_is_redeployed(sim, clients, shared_examples):
    _serve_azure_availability(sim, shared_examples, "vm-healthy", "Available")
    sim.add_route("POST", GRAPH_PATH, lambda request: query_answer([azure_row(vm_id("vm-healthy"), "AccelnetUnhealthy")]))
    holds, said, facts = judged(registry.get("redeploy"), clients, vm_id("vm-healthy"), {"signal_annotation": "AccelnetUnhealthy"})
    assert holds, said
    assert "AccelnetUnhealthy is still active on it (evidence: annotation-active)" in said
    assert facts["annotation"] == "AccelnetUnhealthy" and facts["availability_state"] == "Available"


def test_an_available_vm_whose_annotation_resource_graph_no_longer_holds_is_left(sim, clients, shared_examples):
    _serve_azure_availability(sim, shared_examples, "vm-accelnet", "Available")
    sim.add_route("POST", GRAPH_PATH, lambda request: query_answer([azure_row(vm_id("vm-accelnet"), "VirtualMachineRestarted")]))
    holds, said, _facts = judged(registry.get("redeploy"), clients, vm_id("vm-accelnet"), {"signal_annotation": "AccelnetUnhealthy"})
    assert not holds
    assert "already healthy" in said and "AccelnetUnhealthy is no longer active on it" in said


def test_a_long_quota_wait_is_left_to_the_caller(sim, clients):
    from actions.errors import AzureCallError

    throttled = Response(429, {"error": {"code": "RateLimiting", "message": "Client application has been throttled"}},
                         {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:01:00"})  # fmt: skip
    sim.add_route("POST", GRAPH_PATH, lambda request: throttled)
    with pytest.raises(AzureCallError) as caught:
        active_annotations(clients, vm_id("vm-healthy"))
    assert caught.value.status == 429
