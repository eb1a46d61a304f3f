"""What every card Teams gets says: each event and status, each catalog entry, and what is left
when a card is cut to fit 28 KB. (Whether a card is valid Adaptive Card 1.5 is checked against
the schema; the walker's own refusals are tested at the end.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.card_schema import MAX_BYTES, card_problems, payload_bytes
from notify.cards import envelope, render_digest, render_incident, signed_size
from notify.content import digest_view, incident_view
from notify.errors import CardError
from notify.notice import EVENTS
from rules.vocabulary import STATUSES

from notify.links import sign, stand_in

from .conftest import APPROVAL, T0, follow_up, notice, signed_link, vm

CATALOG = Path(__file__).resolve().parents[2] / "rules" / "annotations.yaml"
SECTIONS = {
    "annotations": "annotation",
    "availability": "availability",
    "resource_health": "resource-health",
    "service_health": "service-health",
    "scheduled_events": "scheduled-event",
    "repair_states": "repair-state",
    "maintenance_status": "maintenance-status",
}


def catalog_entries():
    import yaml

    document = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    entries = []
    for section, kind in SECTIONS.items():
        for name, entry in (document.get(section) or {}).items():
            entries.append((kind, name, entry))
    return entries


def texts(payload: dict) -> list[str]:
    """What a person reads on the card, in order: every TextBlock, and each fact as "title: value"."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            elif node.get("type") == "FactSet":
                found.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["attachments"][0]["content"]["body"])
    return found


# What a person reads for each status, and the headline of a step that redeploys: stated here,
# not taken from the product's own tables, so a changed word fails.
STATUS_READS = {
    "planned": ("Planned", "Decided to redeploy the VM to a new host"),
    "awaiting-approval": ("Waiting for approval", "Waiting for approval to redeploy the VM to a new host"),
    "started": ("In progress", "In progress: redeploy the VM to a new host"),
    "succeeded": ("Succeeded", "Succeeded: redeploy the VM to a new host"),
    "failed": ("Failed", "Failed: redeploy the VM to a new host"),
    "skipped": ("Skipped", "Skipped: redeploy the VM to a new host"),
    "duplicate": ("Duplicate: already handled", "Already handled: redeploy the VM to a new host"),
    "rejected": ("Rejected", "Rejected: redeploy the VM to a new host"),
    "noop": ("Nothing to do", "Nothing to do"),
}
# Three events speak for themselves whatever the status.
EVENT_READS = {
    "opened": ("New", "Azure reported VirtualMachinePossiblyDegradedDueToHardwareFailure"),
    "resolved": ("Resolved", "Resolved: the resource is healthy again"),
    "storm": ("Automation paused", "Storm: many resources at once; automation paused"),
}


def test_every_status_has_its_words_here():
    assert set(STATUS_READS) == set(STATUSES)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("event", EVENTS)
def test_a_card_renders_for_every_event_and_status(event, status):
    n = notice(event=event, status=status, approval_id=APPROVAL, brakes=("Cooldown: redeployed 3 h ago.",), next_step="Check the app.")
    payload = render_incident(incident_view([n]))
    words, headline = EVENT_READS.get(event) or STATUS_READS[status]
    read = texts(payload)
    assert read[:2] == ["[INC-3f2a9c1b] vm-web-01", headline]
    assert f"Status: {words}" in read and "Action: redeploy the VM to a new host" in read
    assert "- Cooldown: redeployed 3 h ago." in read
    waiting = event == "awaiting-approval" and n.approval_id
    assert ("Approve or reject with the links below. Check the app." if waiting else "Check the app.") in read
    actions = payload["attachments"][0]["content"]["actions"]
    titles = [a["title"] for a in actions]
    assert ("Approve" in titles) == (event == "awaiting-approval" and status == "awaiting-approval")
    assert titles[-1] == "Open in Azure portal"


@pytest.mark.parametrize("kind,name,entry", catalog_entries(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_card_renders_for_every_catalog_entry(kind, name, entry):
    n = notice(
        signal_kind=kind,
        signal_name=name,
        meaning=entry["meaning"],
        initiator=entry["initiator"],
        impact=entry["impact"],
        category=entry["category"],
        action=entry["default_action"],
        next_step=entry.get("next_step"),
        temp_disk_loss=entry.get("temp_disk_loss"),
        routine=bool(entry.get("routine")),
    )
    payload = render_incident(incident_view([n, follow_up(n, "decided", "planned")]))
    read = texts(payload)
    assert f"Signal: {name} ({kind})" in read, read
    assert f"Meaning: {entry['meaning']}" in read, "the catalog's meaning, whole"
    if entry.get("next_step"):
        assert entry["next_step"] in read


def test_the_card_says_what_azure_said_what_was_decided_done_and_left():
    first = notice(brakes=("Hourly cap: 2 of 20 actions used.",), next_step="Watch the app's health after the move.")
    steps = [first, follow_up(first, "decided", "planned"), follow_up(first, "started", "started"), follow_up(first, "succeeded", "succeeded")]
    card = render_incident(incident_view(steps))["attachments"][0]["content"]
    text = str(card)
    for expected in (
        "[INC-3f2a9c1b] vm-web-01",  # title carries the incident id
        "VirtualMachinePossiblyDegradedDueToHardwareFailure",  # what Azure said
        "The host of this VM may be failing",  # its meaning
        "2026-11-22 03:00 UTC",  # when
        "rg-web",
        "11111111-2222-3333-4444-555555555555",
        "redeploy the VM to a new host",  # what was decided
        "Policy rule degraded-hardware",  # why
        "Hourly cap: 2 of 20 actions used.",  # brakes
        "Succeeded: redeploy the VM to a new host",  # what happened, how it ended
        "Watch the app's health",  # what is left
    ):
        assert expected in text, expected
    portal = card["actions"][-1]["url"]
    assert portal == "https://portal.azure.com/#@/resource" + vm()


def test_huge_content_is_cut_to_fit():
    first = notice(reason="x" * 20_000, brakes=tuple(f"brake {i} " * 20 for i in range(300)), meaning="m" * 5000)
    steps = [first] + [follow_up(first, "started", "started", reason=f"attempt {i} " * 50) for i in range(400)]
    payload = render_incident(incident_view(steps))
    read = texts(payload)
    # Cut to fit, the card still says which incident, what stands, and that it left things out.
    assert read[:2] == ["[INC-3f2a9c1b] vm-web-01", "In progress: redeploy the VM to a new host"]
    # The newest steps are kept, the older ones counted; ten brakes listed, the rest counted.
    shown = [line for line in read if line.startswith("In progress: redeploy the VM to a new host. attempt")]
    assert shown and shown[-1].startswith("In progress: redeploy the VM to a new host. attempt 399 ")
    assert f"({401 - len(shown)} earlier steps not shown)" in read
    assert "(and 290 more)" in read and "- " + "brake 9 " * 20 in read
    assert signed_size(payload) <= MAX_BYTES


def test_a_digest_of_ten_thousand_lists_some_and_counts_the_rest():
    notices = [notice(incident_id=f"INC-{i:08x}", resource_id=vm(f"vm-{i:05d}")) for i in range(10_000)]
    view = digest_view(notices, opened=T0, closed=T0, listed=10_000)
    payload = render_digest(view)
    read = texts(payload)
    listed = [line for line in read if line.startswith("[vm-")]
    assert 0 < len(listed) < 10_000
    assert f"… and {10_000 - len(listed)} more resources not listed." in read
    assert any("10000 resources" in line for line in read[:3])
    assert signed_size(payload) <= MAX_BYTES


@pytest.mark.parametrize(
    "mutate,problem",
    [
        (lambda c: c["actions"].append({"type": "Action.Submit", "title": "Approve"}), "Action.Submit"),
        (lambda c: c["body"].append({"type": "Input.Text", "id": "x"}), "Input.Text"),
        (lambda c: c["body"].append({"type": "Table", "rows": []}), "Table"),
        (lambda c: c.update(version="1.6"), "version"),
        (lambda c: c["body"][1].update(color="pink"), "pink"),
        (lambda c: c["body"][1].update(onClick=1), "onClick"),
        (lambda c: c["body"].append({"type": "TextBlock", "text": "x" * (MAX_BYTES + 1)}), "size"),
        (lambda c: c["actions"].append({"type": "Action.OpenUrl", "title": "x", "url": "javascript:alert(1)"}), "URL"),
        (lambda c: c["body"].append({"type": "ColumnSet", "columns": [{"type": "TextBlock", "text": "x"}]}), "Columns only"),
    ],
)
def test_the_walker_refuses_what_teams_would_not_render(mutate, problem):
    payload = render_incident(incident_view([notice()]))
    mutate(payload["attachments"][0]["content"])
    problems = card_problems(payload)
    assert any(problem in p for p in problems), problems


def test_the_envelope_is_the_workflows_shape():
    payload = envelope({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "hi"}]})
    assert payload == {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": payload["attachments"][0]["content"]}],
    }
    assert card_problems(payload) == []
    assert card_problems({"type": "message", "attachments": []}) == ["envelope: expected exactly one attachment"]


def test_a_card_that_cannot_fit_is_an_error_not_a_silent_cut():
    from notify.cards import fit

    with pytest.raises(CardError):
        fit(lambda n, t: envelope({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "y" * 40_000}]}), 0)


def test_a_digest_keeps_approval_links_for_the_resources_it_lists():
    from notify.mail import digest_html, digest_text

    waiting = [
        notice(incident_id=f"INC-{i}", resource_id=vm(f"vm-{i}"), event="awaiting-approval", status="awaiting-approval", approval_id=f"APR-{i:016x}")
        for i in range(12)
    ]
    view = digest_view(waiting, opened=T0, closed=T0, listed=10)
    payload = render_digest(view)
    text = str(payload)
    assert stand_in(f"APR-{9:016x}", "approve") in text and stand_in(f"APR-{10:016x}", "approve") not in text
    assert stand_in(f"APR-{0:016x}", "reject") in digest_html(view) and stand_in(f"APR-{0:016x}", "reject") in digest_text(view)
    assert payload_bytes(sign(payload, signed_link)) <= MAX_BYTES  # still fits once every listed link is signed


def test_a_card_is_fitted_with_room_for_its_links_to_be_signed():
    from notify.cards import fit, incident_card
    from notify.links import ROOM_PER_LINK

    first = notice()
    steps = [first] + [follow_up(first, "started", "started", reason=f"step {i}") for i in range(8)]
    view = incident_view(steps + [follow_up(first, "awaiting-approval", "awaiting-approval", approval_id=APPROVAL)])
    budget = payload_bytes(incident_card(view)) + 100  # the stand-ins fit; the signed links would not

    payload = fit(lambda n, t: incident_card(view, steps=n, text_limit=t), len(view.steps), budget=budget)
    longest = lambda approval_id, choice: stand_in(approval_id, choice) + "x" * ROOM_PER_LINK  # noqa: E731
    assert payload_bytes(sign(payload, longest)) <= budget < payload_bytes(sign(incident_card(view), longest))


@pytest.mark.parametrize(
    "fields,expected",
    [
        (dict(resource_id="/subscriptions/11111111-2222-3333-4444-555555555555", signal_kind="service-health", signal_name="Maintenance/Planned", event="opened", action="none", location=None),
         ["[INC-3f2a9c1b] 11111111-2222-3333-4444-555555555555", "Azure reported Maintenance/Planned"]),
        (dict(resource_id="/subscriptions/11111111-2222-3333-4444-555555555555", event="storm", status="skipped", action="none", brakes=("Storm breaker: 41% of the scope unhealthy (limit 10%).",)),
         ["Storm: many resources at once; automation paused", "Status: Automation paused", "- Storm breaker: 41% of the scope unhealthy (limit 10%)."]),
        (dict(resource_id=vm() .replace("virtualMachines/vm-web-01", "virtualMachineScaleSets/pool/virtualMachines/4"), signal_kind="repair-state", signal_name="Suspended", action="resume-automatic-repairs"),
         ["Azure reported Suspended"]),
    ],
)
def test_cards_for_subscriptions_storms_and_scale_sets(fields, expected):
    read = texts(render_incident(incident_view([notice(**fields)])))
    for line in expected:
        assert line in read, (line, read)
