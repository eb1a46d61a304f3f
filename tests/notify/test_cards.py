"""Every card Teams gets is Adaptive Card 1.5, holds only what Teams renders, and fits 28 KB."""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.card_schema import MAX_BYTES, card_problems, payload_bytes
from notify.cards import envelope, render_digest, render_incident
from notify.content import incident_view
from notify.errors import CardError
from notify.links import sign, stand_in
from notify.notice import EVENTS
from notify.scope_views import digest_view
from rules.vocabulary import STATUSES

from .conftest import APPROVAL, T0, follow_up, notice, signed_link, vm
from .validity import schema_problems

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
# Used when the catalog file is absent: one entry per kind, shaped like the catalog's.
OWN_TABLE = [
    ("annotation", "VirtualMachineHostCrashed", {"meaning": "The host crashed.", "initiator": "platform", "impact": "downtime-reboot", "category": "host-failure", "default_action": "redeploy", "next_step": None, "temp_disk_loss": False, "routine": False}),
    ("availability", "Unavailable", {"meaning": "Down.", "initiator": "unknown", "impact": "unknown", "category": "availability", "default_action": "none", "next_step": "Look.", "temp_disk_loss": False, "routine": False}),
]


def catalog_entries():
    if not CATALOG.exists():
        return OWN_TABLE
    import yaml

    document = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    entries = []
    for section, kind in SECTIONS.items():
        for name, entry in (document.get(section) or {}).items():
            entries.append((kind, name, entry))
    return entries


def assert_renders(payload: dict) -> None:
    assert card_problems(payload) == []
    assert payload_bytes(payload) <= MAX_BYTES
    assert schema_problems(payload) == []  # the official Adaptive Card 1.5 schema


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("event", EVENTS)
def test_a_card_renders_for_every_event_and_status(event, status):
    n = notice(event=event, status=status, approval_id=APPROVAL, brakes=("Cooldown: redeployed 3 h ago.",), next_step="Check the app.")
    payload = render_incident(incident_view([n]))
    assert_renders(payload)
    actions = payload["attachments"][0]["content"]["actions"]
    titles = [a["title"] for a in actions]
    # Where the incident stands decides, whatever the event: resolved or a storm ends the asking.
    assert ("Approve" in titles) == (status == "awaiting-approval" and event not in ("resolved", "storm"))
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
    assert_renders(payload)
    text = str(payload)
    assert name in text and entry["meaning"][:40] in text


def test_the_card_says_what_azure_said_what_was_decided_done_and_left():
    first = notice(brakes=("Hourly cap: 2 of 20 actions used.",), next_step="Redeploy the VM to a healthy host before the redeploy deadline.")
    steps = [first, follow_up(first, "decided", "planned"), follow_up(first, "started", "started"), follow_up(first, "succeeded", "succeeded")]
    card = render_incident(incident_view(steps))["attachments"][0]["content"]
    text = str(card)
    for expected in (
        "[INC-3f2a9c1b] vm-web-01 (rg-web)",  # title carries the incident id, as the email's subject
        "VirtualMachinePossiblyDegradedDueToHardwareFailure",  # what Azure said
        "The host of this VM may be failing",  # its meaning
        "Sun 22 Nov 03:00 UTC",  # when
        "rg-web",
        "11111111-2222-3333-4444-555555555555",
        "redeploy the VM to a new host",  # what was decided
        "Policy rule degraded-hardware",  # why
        "Hourly cap: 2 of 20 actions used.",  # brakes
        "Done: redeploy succeeded",  # how it ended
        "Started: redeploy",  # what happened
    ):
        assert expected in text, expected
    # The app did it: nothing tells a person to redeploy, and "Why" keeps the reason, not the outcome.
    assert "Next step for you" not in text and "before the redeploy deadline" not in text
    portal = card["actions"][-1]["url"]
    assert portal == "https://portal.azure.com/#@/resource" + vm()


def test_huge_content_is_cut_to_fit():
    first = notice(reason="x" * 20_000, brakes=tuple(f"brake {i} " * 20 for i in range(300)), meaning="m" * 5000)
    steps = [first] + [follow_up(first, "started", "started", reason=f"attempt {i} " * 50) for i in range(400)]
    payload = render_incident(incident_view(steps))
    assert_renders(payload)


def test_a_digest_of_ten_thousand_lists_some_and_counts_the_rest():
    notices = [notice(incident_id=f"INC-{i:08x}", resource_id=vm(f"vm-{i:05d}")) for i in range(10_000)]
    view = digest_view(notices, opened=T0, closed=T0, listed=10_000)
    payload = render_digest(view)
    assert_renders(payload)
    text = str(payload)
    assert "more resources not listed" in text and "10000 resources" in text


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
        # A type that is not a name (a list cannot be looked up): a problem, not a crash.
        (lambda c: c["body"].append({"type": ["TextBlock"], "text": "x"}), "element type ['TextBlock']"),
        (lambda c: c["actions"].append({"type": {"Action.OpenUrl": 1}, "url": "https://x"}), "action {'Action.OpenUrl': 1}"),
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
    assert_renders(payload)
    text = str(payload)
    assert stand_in(f"APR-{9:016x}", "approve") in text and stand_in(f"APR-{10:016x}", "approve") not in text
    assert stand_in(f"APR-{0:016x}", "reject") in digest_html(view) and stand_in(f"APR-{0:016x}", "reject") in digest_text(view)
    assert_renders(sign(payload, signed_link))  # still fits once every listed link is signed


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
    "fields",
    [
        dict(resource_id="/subscriptions/11111111-2222-3333-4444-555555555555", signal_kind="service-health", signal_name="Maintenance/Planned", event="opened", action="none", location=None),
        dict(resource_id="/subscriptions/11111111-2222-3333-4444-555555555555", event="storm", status="skipped", action="none", brakes=("Storm breaker: 41% of the scope unhealthy (limit 10%).",)),
        dict(resource_id=vm() .replace("virtualMachines/vm-web-01", "virtualMachineScaleSets/pool/virtualMachines/4"), signal_kind="repair-state", signal_name="Suspended", action="resume-automatic-repairs"),
    ],
)
def test_cards_for_subscriptions_storms_and_scale_sets(fields):
    payload = render_incident(incident_view([notice(**fields)]))
    assert_renders(payload)
