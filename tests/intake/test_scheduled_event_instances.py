"""A scale set's scheduled event names its machines in `Resources`; each is a signal of its own.

Built from Azure's published ScheduledEventEmitted sample (azure-compute-docs
scheduled-events-event-grid.md, read in place), with its `{vmss-name}` placeholder given the name
its own `Resources` use (`myvmss`): `myvmss_1` and `myvmss_2` are instances 1 and 2 of a Uniform
scale set; a Flexible set's machines are plain VMs named `<set>_<8 characters>`.
"""

from __future__ import annotations

import json

import pytest

from intake.deliveries import parse_delivery

SUB = "00000000-0000-0000-0000-0000000000c5"
SET = f"/subscriptions/{SUB}/resourceGroups/rg-se/providers/Microsoft.Compute/virtualMachineScaleSets/myvmss"


@pytest.fixture
def azure_sample(shared_examples) -> str:
    text = (shared_examples / "from-docs/scheduled-events-event-grid.ScheduledEventEmitted.EventGridEvent.json").read_text()
    return (text.replace("{subscription-id}", SUB).replace("{rg-name}", "rg-se").replace("{vmss-name}", "myvmss")
            .replace("{event-id}", "3da1b9aa-5204-4335-8c33-c54e315dcffe"))  # fmt: skip


def test_each_named_instance_is_a_signal(azure_sample):
    delivery = parse_delivery(azure_sample, "sample")
    assert delivery.rejections == []
    assert [s.resource_id for s in delivery.signals] == [f"{SET}/virtualMachines/1", f"{SET}/virtualMachines/2"]
    assert {s.details["scale_set_id"] for s in delivery.signals} == {SET}
    assert len({s.delivery_key for s in delivery.signals}) == 2  # one incident each, and each deduplicated
    assert {s.name for s in delivery.signals} == {"Freeze"}


def test_a_flexible_sets_vms_are_plain_vms(azure_sample):
    event = json.loads(azure_sample)
    event["data"]["resourceInfo"]["properties"]["Resources"] = ["myvmss_7f2a9b1c"]
    (signal,) = parse_delivery(json.dumps(event), "sample").signals
    assert signal.resource_id == f"/subscriptions/{SUB}/resourceGroups/rg-se/providers/Microsoft.Compute/virtualMachines/myvmss_7f2a9b1c"
    assert signal.resource_type == "Microsoft.Compute/virtualMachines"


def test_names_of_no_machine_of_the_set_leave_the_event_on_the_set(azure_sample):
    event = json.loads(azure_sample)
    event["data"]["resourceInfo"]["properties"]["Resources"] = ["someothervm"]
    (signal,) = parse_delivery(json.dumps(event), "sample").signals
    assert signal.resource_id == SET
