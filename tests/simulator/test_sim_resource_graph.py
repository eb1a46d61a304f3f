"""The simulated Resource Graph answers the app's HealthResources queries as Azure does.

Expected shapes written from Azure's Resource Graph REST reference (api-version 2021-03-01:
QueryRequest {subscriptions, query, options {$top, $skipToken, resultFormat}}, QueryResponse
{totalRecords, count, resultTruncated, $skipToken, data, facets}), its throttling guidance
(x-ms-user-quota-remaining, x-ms-user-quota-resets-after as hh:mm:ss, 429 past the quota) and
the resourceannotations row of "VM availability information in Azure Resource Graph".
"""

from __future__ import annotations

import re

import pytest

SUB = "00000000-0000-0000-0000-0000000000b7"
OTHER = "00000000-0000-0000-0000-0000000000b8"
QUERY = "HealthResources | where type =~ 'microsoft.resourcehealth/resourceannotations' | project id, properties"
ROW_PROPERTIES = {"targetResourceType": str, "targetResourceId": str, "occurredTime": str, "annotationName": str,
                  "reason": str, "category": str, "context": str, "summary": str}  # fmt: skip
ROW_KEYS = {"id", "name", "type", "tenantId", "location", "resourceGroup", "subscriptionId", "properties"}


@pytest.fixture
def graph_sim():
    from simulator import SimulatedAzure

    fleet = {
        "defaults": {"subscriptionId": SUB, "resourceGroup": "RG-Graph"},
        "subscriptions": [SUB, OTHER],
        "vms": [*({"name": f"vm-{n}", "annotation": "VirtualMachineHostCrashed"} for n in range(5)),
                {"name": "vm-quiet"},
                {"name": "vm-other", "subscriptionId": OTHER, "annotation": "AccelnetUnhealthy"}],
        "scaleSets": [{"name": "ss-g", "capacity": 2, "instances": [{"instanceId": "1", "annotation": "AccelnetUnhealthy"}]}],
    }  # fmt: skip
    with SimulatedAzure(fleet=fleet, page_size=2) as azure:
        yield azure


def post(sim, body: dict, api: str = "2021-03-01"):
    import requests

    return requests.post(f"{sim.base_url}/providers/Microsoft.ResourceGraph/resources?api-version={api}", json=body,
                         headers={"Authorization": "Bearer caller-a"}, verify=sim.ca_bundle, timeout=10)  # fmt: skip


def test_rows_and_answer_have_azure_shape(graph_sim):
    answer = post(graph_sim, {"subscriptions": [SUB], "query": QUERY.split(" | project")[0]})  # every column
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) >= {"totalRecords", "count", "resultTruncated", "data", "facets"}
    assert body["resultTruncated"] == "false" and isinstance(body["totalRecords"], int)
    assert body["totalRecords"] == 6 and body["count"] == 2 and "$skipToken" in body  # 5 VMs and an instance
    row = body["data"][0]
    assert ROW_KEYS <= set(row)
    assert row["type"] == "microsoft.resourcehealth/resourceannotations"
    assert row["resourceGroup"] == "rg-graph"  # Resource Graph lower-cases it
    for name, kind in ROW_PROPERTIES.items():
        assert isinstance(row["properties"][name], kind), name
    assert row["id"].startswith(row["properties"]["targetResourceId"] + "/providers/")
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", answer.headers["x-ms-user-quota-resets-after"])
    assert int(answer.headers["x-ms-user-quota-remaining"]) == 14


def test_skip_token_pages_through_every_row(graph_sim):
    seen, token, pages = [], None, 0
    while True:
        body = post(graph_sim, {"subscriptions": [SUB], "query": QUERY,
                                "options": {"$skipToken": token} if token else {}}).json()  # fmt: skip
        seen += [r["properties"]["targetResourceId"] for r in body["data"]]
        pages += 1
        token = body.get("$skipToken")
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 6
    assert any(s.endswith("/virtualMachineScaleSets/ss-g/virtualMachines/1") for s in seen)


def test_a_target_filter_and_the_subscriptions_scope(graph_sim):
    rid = f"/subscriptions/{SUB}/resourceGroups/RG-Graph/providers/Microsoft.Compute/virtualMachines/vm-3"
    query = QUERY.replace(" | project", f" | where tolower(tostring(properties.targetResourceId)) == '{rid.lower()}' | project")
    rows = post(graph_sim, {"subscriptions": [SUB], "query": query}).json()["data"]
    assert [r["properties"]["targetResourceId"] for r in rows] == [rid]
    assert post(graph_sim, {"subscriptions": [OTHER], "query": QUERY}).json()["totalRecords"] == 1


def test_queries_it_does_not_answer_are_refused(graph_sim):
    answer = post(graph_sim, {"subscriptions": [SUB], "query": "Resources | extend size = properties.hardwareProfile.vmSize"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest"


def test_past_the_quota_the_answer_is_429_with_the_reset(graph_sim):
    statuses = [post(graph_sim, {"subscriptions": [SUB], "query": QUERY}) for _ in range(16)]
    assert [s.status_code for s in statuses[:15]] == [200] * 15
    throttled = statuses[15]
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "RateLimiting"
    assert throttled.headers["x-ms-user-quota-remaining"] == "0"
    assert 1 <= int(throttled.headers["x-ms-user-quota-resets-after"].split(":")[-1]) <= 5
