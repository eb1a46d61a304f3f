"""What people read, scenario by scenario (tests/notify/scenarios.py), as an on-call engineer at
3 a.m. would: the card and the email each say what the scenario must say, never what it must
not (a contradiction of what the app did, jargon, a raw time), carry the right buttons, and are
valid (the Adaptive Card 1.5 schema; an HTML5 parser with no parse error)."""

from __future__ import annotations

import json
import re

import pytest

from notify.humane import plain

from .scenarios import SCENARIOS, Scenario, visible_text, write_all
from .validity import assert_valid_card, assert_valid_email_html, schema_problems

BY_NAME = {s.name: s for s in SCENARIOS}
# Nothing a person reads is written like this, in any scenario.
NEVER_ANYWHERE = (
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),  # a raw ISO time
    re.compile(r"update domain 0 of 0"),
    re.compile(r"catalog default"),
    re.compile(r"\b(?:Skipped|New)\b"),  # the old statuses that contradicted what the app did
)
LOWER_AFTER_STOP = re.compile(r"[a-z]{2,}[.!?] +[a-z]")  # "done. then": a sentence that starts in lower case


def card_and_mail(scenario: Scenario) -> tuple[dict, str, dict]:
    card = scenario.rendered("teams")
    mail = scenario.rendered("email")
    return card, visible_text(card), mail


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_message_says_what_it_must_and_nothing_it_must_not(scenario):
    card, card_text, mail = card_and_mail(scenario)
    for expected in scenario.says:
        # The card shows outside text escaped (a Markdown link stays text); the email as written.
        assert expected in card_text or plain(expected) in card_text or expected in json.dumps(card), f"card lacks {expected!r}"
        assert expected.replace("\\", "") in mail["text"], f"email lacks {expected!r}"
    for unwanted in scenario.never:
        assert unwanted not in card_text and unwanted not in json.dumps(card), f"card says {unwanted!r}"
        assert unwanted not in mail["text"], f"email says {unwanted!r}"
    assert not LOWER_AFTER_STOP.search(card_text) and not LOWER_AFTER_STOP.search(mail["text"])
    for pattern in NEVER_ANYWHERE:
        assert not pattern.search(card_text), f"card: {pattern.pattern}"
        assert not pattern.search(mail["text"].split("\n\n", 1)[-1]), f"email: {pattern.pattern}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_card_is_valid_and_carries_its_buttons(scenario):
    card, _, _ = card_and_mail(scenario)
    assert_valid_card(card)
    actions = card["attachments"][0]["content"].get("actions", [])
    assert tuple(a["title"] for a in actions) == scenario.links or tuple(a["title"] for a in actions)[:len(scenario.links)] == scenario.links


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_email_is_valid_html_with_its_plain_text_and_importance(scenario):
    _, card_text, mail = card_and_mail(scenario)
    assert_valid_email_html(mail["html"])
    assert mail["text"].startswith(mail["subject"])  # the plain-text rendering is kept, and says the same
    assert mail["importance"] in ("low", "normal", "high")
    # The Teams card's title is the email's subject: one name for the incident everywhere.
    assert card_text.splitlines()[0] in (mail["subject"], plain(mail["subject"]))


@pytest.mark.parametrize("name,importance", [
    ("approve", "high"), ("failed", "high"), ("storm", "high"), ("digest", "high"),
    ("skipped", "low"), ("resolved", "low"), ("observe", "normal"),
])
def test_how_urgent_each_email_is(name, importance):
    assert BY_NAME[name].rendered("email")["importance"] == importance


def test_a_pending_approval_is_not_hidden_by_a_later_no_op():
    card, card_text, mail = card_and_mail(BY_NAME["approve"])
    assert [a["title"] for a in card["attachments"][0]["content"]["actions"]][:2] == ["Approve", "Reject"]
    assert "Approve: https://" in mail["text"] and "Approval needed" in card_text.splitlines()[1]


def test_markdown_in_azures_words_stays_text_beside_the_approve_button():
    card, _, mail = card_and_mail(BY_NAME["approve"])
    texts = json.dumps(card)
    assert "[Read more](http://evil.example" not in texts and r"\\[Read more\\]" in texts
    assert 'href="http://evil.example' not in mail["html"]


def test_the_storm_message_and_its_digests_share_one_subject():
    storm = BY_NAME["storm"].rendered("email")["subject"]
    digest = BY_NAME["digest"].rendered("email")["subject"]
    assert storm == digest and "westeurope" in storm and "[Storm]" in storm


def test_every_card_the_scenarios_render_passes_the_official_schema_and_a_broken_one_does_not():
    card = BY_NAME["approve"].rendered("teams")
    broken = json.loads(json.dumps(card))
    broken["attachments"][0]["content"]["body"].append({"type": "TextBlock"})  # no text: the schema requires it
    assert schema_problems(card) == [] and schema_problems(broken)


def test_make_messages_writes_each_scenarios_card_and_email(tmp_path):
    written = write_all(tmp_path / "messages")
    assert {p.name for p in written} == {f"{s.name}{suffix}" for s in SCENARIOS for suffix in (".card.json", ".email.html", ".email.txt")}
    assert all(p.stat().st_size > 200 for p in written)
