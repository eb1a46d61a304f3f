"""The messages people receive, scenario by scenario: each one a list of notices as the pipeline
submits them, composed exactly as the notifier composes a message (notify/compose.py).

The tests (test_messages.py) read each scenario's card and email as a person would; `make
messages` writes them to a folder to be opened:

    python -m tests.notify.scenarios messages/     # one .json card, .html and .txt email per scenario
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notify.compose import compose
from notify.digest import scope_of
from notify.links import sign
from notify.notice import Notice
from notify.outbox import DIGEST, INCIDENT, PENDING, Message

# Saturday 5 December 2026, 22:00 UTC: the night the demo is read again.
NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
SUB = "6f9a1129-e895-429b-8809-278e836ecdb3"
APPROVAL = "APR-0123456789abcdef"


def vm(name: str, rg: str = "rg-web") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"


def n(**fields) -> Notice:
    """A notice as the pipeline writes one for a degraded-hardware annotation; fields change it."""
    base = dict(
        incident_id="INC-3f2a9c1b", event="opened", resource_id=vm("vm-web-01"), signal_kind="annotation",
        signal_name="VirtualMachinePossiblyDegradedDueToHardwareFailure",
        meaning="The host of this VM may be failing; Azure plans to move it.", occurred=NOW - timedelta(minutes=20),
        category="degraded-hardware", initiator="platform", impact="degraded", action="redeploy", mode="approve",
        status="planned", reason="policy rule degraded-hardware redeploys VMs on a degraded host before Azure's deadline",
        location="westeurope", rule="degraded-hardware",
        next_step="Redeploy the VM to a healthy host before the redeploy deadline.",
        signal_facts={"deadline": (NOW + timedelta(hours=3)).isoformat()},
        detail="We have detected a problem with the host of this VM.",
    )
    base.update(fields)
    return Notice(**base)


def after(first: Notice, **fields) -> Notice:
    return replace(first, follow_up=True, **fields)


@dataclass(frozen=True)
class Scenario:
    name: str
    notices: tuple[Notice, ...]
    kind: str = INCIDENT  # INCIDENT | DIGEST
    says: tuple[str, ...] = ()  # what a person must read, in the card and in the email
    never: tuple[str, ...] = ()  # what must not be said (a contradiction, jargon, a raw time)
    links: tuple[str, ...] = ()  # the card's buttons, in order

    def message(self, channel: str) -> Message:
        first = self.notices[0]
        target = "ops" if channel == "teams" else "oncall@contoso.example"
        return Message(
            id=7, destination=f"{channel}:{target}", route=f"ops-{channel}", channel=channel, target=target, kind=self.kind,
            incident_id=None if self.kind == DIGEST else first.incident_id, cause=scope_of(first), state=PENDING,
            created_at=NOW - timedelta(minutes=5), due_at=NOW, next_attempt_at=NOW,
        )

    def rendered(self, channel: str) -> dict:
        """The message as it is sent: composed from the notices, approval links signed."""
        texts = [notice.to_json(NOW - timedelta(minutes=len(self.notices) - i)) for i, notice in enumerate(self.notices)]
        stored = compose(self.message(channel), texts, listed=10, sender="responder@contoso.example", now=NOW)
        return sign(stored["body"], lambda approval, choice: f"https://responder.contoso.example/api/approvals/{approval}.{choice}-token")


def _storm_brake(count: int = 14) -> str:
    return (f"storm breaker: {count} VMs of subscription {SUB} in westeurope turned unhealthy within 15 min (more than 10): "
            "a platform incident is more likely than a broken machine; automation in this scope pauses until it stays "
            "under the threshold for 30 min")


def _digest() -> tuple[Notice, ...]:
    notices = []
    for i in range(12):
        name = f"vm-app-{i:02d}"
        if i < 2:  # asked before the breaker tripped: still waiting for a person
            notices.append(n(incident_id=f"INC-d{i:07d}", resource_id=vm(name, "rg-app"), event="awaiting-approval",
                             status="awaiting-approval", approval_id=f"APR-{i:016x}",
                             approval_expires=(NOW + timedelta(hours=3)).isoformat()))
        elif i < 9:  # held by the breaker
            notices.append(n(incident_id=f"INC-d{i:07d}", resource_id=vm(name, "rg-app"), status="skipped",
                             reason=_storm_brake(), brakes=(_storm_brake(),)))
        else:  # Resource Health says unavailable; the policy takes no action on it
            notices.append(n(incident_id=f"INC-d{i:07d}", resource_id=vm(name, "rg-app"), signal_kind="resource-health",
                             signal_name="Unavailable", action="none", status="noop", rule="catalog", impact="unknown",
                             reason="catalog default: the VM is unavailable", next_step="Check the VM's boot diagnostics."))
    return tuple(notices)


FIRST = n(event="awaiting-approval", status="awaiting-approval", approval_id=APPROVAL,
          approval_expires=(NOW + timedelta(hours=3, minutes=55)).isoformat(),
          reason="policy rule degraded-hardware redeploys VMs on a degraded host; verified: the VM runs on the host Azure named",
          detail="We have detected a problem with the host. [Read more](http://evil.example/phish) *now*")

SCENARIOS = (
    Scenario(
        "approve",
        # A Resource Health alert about the same VM (a no-op) arrives within the hold: the approval stays.
        (FIRST, after(FIRST, event="decided", status="noop", action="none", signal_kind="resource-health",
                      signal_name="Degraded", rule="catalog", reason="catalog default: the VM is degraded")),
        says=("Approval needed: redeploy the VM to a new host", "links expire Sun 6 Dec 01:55 UTC (in 4 h)",
              "Approve or reject", "Azure acts on its own Sun 6 Dec 01:00 UTC (in 3 h)", "Region", "westeurope",
              "Degraded · Status: Action needed", r"\[Read more\]"),
        never=("No action", "Nothing to do", "catalog default"),
        links=("Approve", "Reject", "Open in Azure portal"),
    ),
    Scenario(
        "skipped",
        (n(event="opened", status="skipped", mode="auto",
           reason="verified against the live state: the VM is running on a healthy host; nothing to do"),),
        says=("No action: verified against the live state: the VM is running on a healthy host",
              "Nothing for you: the app found no reason to act on vm-web-01"),
        never=("Redeploy the VM to a healthy host before", "New", "Skipped: redeploy"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "failed",
        (n(status="started", mode="auto", reason="policy rule degraded-hardware; verified: the host is degraded; redeploy started"),
         after(n(), event="failed", status="failed", mode="auto", rule="tick",
               reason="Azure refused redeploy: (Conflict) The VM is being updated")),
        says=("Failed: redeploy did not complete", "Look at the failed redeploy in the resource's activity log",
              "Azure refused redeploy", "Started: redeploy", "Failed: action needed"),
        never=("In progress", "Approve"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "observe",
        (n(status="planned", mode="observe", reason="policy rule degraded-hardware; verified: the host is degraded"),),
        says=("Would redeploy the VM to a new host (observe mode)", "If you agree, redeploy the VM to a new host yourself before",
              "Observe: the app tells, never acts"),
        never=("In progress", "Decided to redeploy", "Approve"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "storm",
        (n(incident_id="INC-5708a001", resource_id=vm("vm-app-11", "rg-app"), event="storm", status="skipped", mode="auto",
           reason=_storm_brake(11), brakes=(_storm_brake(11),)),),
        says=("[Storm] Automation paused: VMs of subscription " + SUB + " in westeurope", "westeurope", SUB,
              "11 VMs of subscription", "a platform incident is more likely", "Check Azure Service Health for an incident affecting these VMs",
              "Do not redeploy VMs one by one", "vm-app-11"),
        never=("VirtualMachinePossiblyDegradedDueToHardwareFailure: ", "Redeploy the VM to a healthy host"),
        links=("Open Service Health",),
    ),
    Scenario(
        "digest",
        _digest(),
        kind=DIGEST,
        says=("[Storm] Automation paused: VMs of subscription " + SUB + " in westeurope", "This digest covers 12 incidents",
              "Waiting for approval: redeploy", "No action: storm breaker", "No action taken", "pending approvals", "vm-app-00",
              "Check Azure Service Health", "Automation is paused", "Unavailable"),
        never=("Action: redeploy", "Check the VM's boot diagnostics", "catalog default", "APR-0000000000000000.approve"),
        links=("Review 2 pending approvals", "Open Service Health"),  # one page lists them all, each with its own links
    ),
    Scenario(
        "service-health",
        (n(incident_id="INC-5e41c0de", resource_id=f"/subscriptions/{SUB}", signal_kind="service-health",
           signal_name="Incident/Active", meaning="Azure reports a service incident that affects this subscription.",
           category="platform-incident", impact="degraded", action="none", status="noop", rule="catalog",
           reason="catalog default: Azure reports a service incident", next_step="Follow the incident in Service Health; the app will not redeploy into a platform outage.",
           detail="Virtual Machines - West Europe - Mitigated",
           signal_facts={"tracking_id": "0DET-URB", "incident_type": "Incident", "stage": "Active",
                         "impact_start": (NOW - timedelta(hours=1, minutes=10)).isoformat(),
                         "impacted_services": ["Virtual Machines"], "regions": ["West Europe"]}),),
        says=("[INC-5e41c0de] Outage: Service Health 0DET-URB", "Tracking id", "0DET-URB", "https://app.azure.com/h/0DET-URB/6f9db3",
              "Sat 5 Dec 20:50 UTC (1 h ago)", "West Europe", "Follow the incident in Service Health"),
        never=(f"] {SUB}", "catalog default"),
        links=("Open in Service Health",),
    ),
    Scenario(
        "scheduled-event",
        (n(incident_id="INC-5c4ed001", signal_kind="scheduled-event", signal_name="Freeze", category="planned-maintenance",
           impact="freeze", action="none", status="noop", rule="catalog", reason="catalog default: a short pause",
           meaning="The VM will be paused for a few seconds for host maintenance.", next_step=None,
           detail="Host server is undergoing maintenance.",
           signal_facts={"not_before": (NOW + timedelta(hours=3)).isoformat(), "resources": ["vm-web-01"],
                         "duration_seconds": 9, "scheduled_event_id": "5D06C0FA-1F62-4AE6-A5B4-F7D4F8E9E3E2"}),),
        says=("Not before", "Sun 6 Dec 01:00 UTC (in 3 h)", "Instances", "vm-web-01", "Expected duration", "9 s",
              "Planned maintenance · Status: No action"),
        never=("catalog default", "T01:00:00"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "resolved",
        (n(status="started", mode="auto", reason="policy rule degraded-hardware; verified: the host is degraded; redeploy started"),
         after(n(), event="succeeded", status="succeeded", mode="auto", rule="tick", reason="redeploy succeeded"),
         after(n(), event="resolved", status="noop", action="none", signal_kind="availability", signal_name="Available",
               rule="resolution", reason="Available: the condition is over; the incident is resolved")),
        says=("Resolved: vm-web-01 is healthy again after the redeploy", "Redeploy succeeded",
              "Policy rule degraded-hardware"),
        never=("Next step for you", "NEXT STEP", "Approve", "In progress"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "approved-by-a-person",
        (FIRST, after(FIRST, event="started", status="started", rule="approval",
                      reason="approved by Ana Lopez (object id 0f1e2d3c-4b5a-4697-8899-aabbccddeeff) at 02:14 UTC from the approval link;"
                             " verified: the host is still degraded; redeploy started")),
        says=("Approved by Ana Lopez at 02:14 UTC, redeploy started", "In progress"),
        never=("Approve or reject",),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "rejected-by-a-person",
        (FIRST, after(FIRST, event="skipped", status="skipped", rule="approval",
                      reason="rejected by Ben Okafor (object id 11111111-2222-4333-8444-555555555555) at 02:20 UTC from the list of pending approvals")),
        says=("Rejected by Ben Okafor at 02:20 UTC: nothing was done", "No action: Rejected by Ben Okafor at 02:20 UTC"),
        never=("Approve or reject", "links expire"),
        links=("Open in Azure portal",),
    ),
    Scenario(
        "approval-expired",
        (FIRST, after(FIRST, event="skipped", status="skipped", rule="approval",
                      reason=f"approval expired at {(NOW - timedelta(minutes=1)).isoformat()}; a person is told")),
        says=("Approval expired: nothing was done", "Nobody approved in time, so the app did nothing",
              "Approval expired at Sat 5 Dec 21:59 UTC"),
        never=("Approve or reject", "links expire"),
        links=("Open in Azure portal",),
    ),
)


def visible_text(card_payload: dict) -> str:
    """Every text a person can read on a card (TextBlocks, facts, buttons), one per line."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            elif node.get("type") == "FactSet":
                found.extend(f"{f['title']}: {f['value']}" for f in node["facts"])
            elif node.get("type") == "Action.OpenUrl":
                found.append(node["title"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card_payload["attachments"][0]["content"])
    return "\n".join(found)


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in SCENARIOS:
        card, mail = scenario.rendered("teams"), scenario.rendered("email")
        for suffix, text in ((".card.json", json.dumps(card, indent=2, ensure_ascii=False)), (".email.html", mail["html"]),
                             (".email.txt", f"Subject: {mail['subject']}\nImportance: {mail['importance']}\n\n{mail['text']}")):
            path = folder / f"{scenario.name}{suffix}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "messages")
    for path in write_all(target):
        print(path)
