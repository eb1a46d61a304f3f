"""What a person reads: resource parts, stable incident subjects, approval links, email bodies."""

from __future__ import annotations

import pytest

from notify.content import incident_view
from notify.links import stand_in
from notify.mail import incident_html, incident_text
from notify.notice import Notice
from notify.resource import view_of

from .conftest import APPROVAL, SUB, follow_up, notice, vm
from .validity import assert_valid_email_html

SS = f"/subscriptions/{SUB}/resourceGroups/rg-pool/providers/Microsoft.Compute/virtualMachineScaleSets/pool-a"


@pytest.mark.parametrize(
    "resource_id,kind,name,group,sub",
    [
        (vm("vm1", "RG-App"), "virtual machine", "vm1", "RG-App", SUB),
        (SS, "scale set", "pool-a", "rg-pool", SUB),
        (SS + "/virtualMachines/7", "scale-set instance", "pool-a / instance 7", "rg-pool", SUB),
        (f"/subscriptions/{SUB}", "subscription", SUB, None, SUB),
        (f"/subscriptions/{SUB}/resourceGroups/rg-x", "resource group", "rg-x", "rg-x", SUB),
        (f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/rg/PROVIDERS/Microsoft.Compute/virtualMachines/Loud", "virtual machine", "Loud", "rg", SUB),
        ("not-an-arm-id", "resource", "not-an-arm-id", None, None),
    ],
)
def test_resource_ids_read_into_parts(resource_id, kind, name, group, sub):
    ref = view_of(resource_id)
    assert (ref.kind, ref.name, ref.resource_group, ref.subscription) == (kind, name, group, sub)
    assert ref.portal_url.startswith("https://portal.azure.com/#@/resource/")


def test_follow_ups_keep_the_subject_so_mail_clients_thread_them():
    first = notice()
    subjects = {
        incident_view([follow_up(first, event, status, signal_name=name, signal_kind=kind)]).subject
        for event, status, kind, name in [
            ("opened", "planned", "annotation", "VirtualMachinePossiblyDegradedDueToHardwareFailure"),
            ("decided", "noop", "resource-health", "Degraded"),  # another signal of the same incident
            ("awaiting-approval", "awaiting-approval", "annotation", "VirtualMachinePossiblyDegradedDueToHardwareFailure"),
            ("started", "started", "annotation", "x"), ("failed", "failed", "availability", "Unavailable"),
            ("resolved", "succeeded", "availability", "Available"),
        ]
    }
    assert subjects == {"[INC-3f2a9c1b] vm-web-01 (rg-web)"}


@pytest.mark.parametrize(
    "event,status,links",
    [
        ("awaiting-approval", "awaiting-approval", True),
        ("decided", "planned", False),
        ("awaiting-approval", "duplicate", False),  # decided already: no stale links
        ("started", "started", False),
    ],
)
def test_approval_links_only_while_approval_is_pending(event, status, links):
    n = notice(event=event, status=status, approval_id=APPROVAL)
    view = incident_view([n])
    assert (view.approval_links is not None) == links
    assert (stand_in(APPROVAL, "approve") in incident_html(view)) == links


def test_the_email_carries_everything_in_html_and_in_text():
    first = notice(brakes=("Scope cooldown: 1 redeploy in the last hour.",), detail="We have detected a problem with the host.")
    view = incident_view([first, follow_up(first, "failed", "failed", reason="ARM answered Conflict: the VM is being updated.", next_step="Redeploy by hand once the update ends.")])
    html, text = incident_html(view), incident_text(view)
    for part in (html, text):
        for expected in ("INC-3f2a9c1b", "vm-web-01", "rg-web", "We have detected a problem", "Scope cooldown", "ARM answered Conflict", "Redeploy by hand", "portal.azure.com"):
            assert expected in part, expected
    assert "<script" not in html
    assert_valid_email_html(html)


def test_html_is_escaped():
    view = incident_view([notice(reason="<b>bold</b> & <script>x</script>")])
    html = incident_html(view)
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_a_notice_survives_the_outbox_json():
    n = notice(brakes=("a", "b"), routes=("ops-teams",), owner_emails=("o@contoso.com",), approval_id=APPROVAL)
    assert Notice.from_json(n.to_json()) == n


@pytest.mark.parametrize(
    "fields,expected",
    [
        (dict(event="opened", status="planned", mode="auto"), "Decided to redeploy the VM to a new host"),
        (dict(event="decided", status="planned", mode="observe"), "Would redeploy the VM to a new host (observe mode)"),
        (dict(event="awaiting-approval", status="awaiting-approval"), "Approval needed: redeploy the VM to a new host"),
        (dict(event="skipped", status="skipped", reason="verified against the live state: the VM is healthy; nothing to do"),
         "No action: verified against the live state: the VM is healthy"),
        (dict(event="decided", status="noop", action="none", rule="catalog"), "No action: the policy takes none for this signal"),
        (dict(event="failed", status="failed", action="reimage"), "Failed: reimage did not complete"),
        (dict(event="resolved", status="noop", action="none"), "Resolved: vm-web-01 is healthy again"),
    ],
)
def test_headlines(fields, expected):
    assert incident_view([notice(**fields)]).headline == expected
