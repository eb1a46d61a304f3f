"""Is what people receive valid? Cards against the official Adaptive Card 1.5 schema (vendored in
schema/, see its SOURCE.md) and the Teams element set; email HTML through an HTML5 parser that
reports every parse error (html5lib, strict), with a title, a language and tables whose rows
have as many cells as their header."""

from __future__ import annotations

import json
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from notify.card_schema import MAX_BYTES, card_problems, payload_bytes

SCHEMA = Path(__file__).resolve().parent / "schema" / "adaptive-card-1.5.json"
HOST_EXTENSIONS = ("msteams",)  # Teams reads these beside the card; the schema does not list them


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft6Validator

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def schema_problems(payload: dict) -> list[str]:
    """Where the card breaks the Adaptive Card 1.5 schema (empty when it does not)."""
    card = dict(payload["attachments"][0]["content"])
    for key in HOST_EXTENSIONS:
        card.pop(key, None)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(card)'}: {e.message[:200]}" for e in _validator().iter_errors(card)]


def assert_valid_card(payload: dict) -> None:
    assert schema_problems(payload) == []
    assert card_problems(payload) == []
    assert payload_bytes(payload) <= MAX_BYTES
    assert payload["attachments"][0]["content"]["version"] == "1.5"


class _Tables(HTMLParser):
    """Counts cells per row, per table; notes the title and the html element's lang."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[int]] = []
        self.lang = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append(0)
        elif tag in ("td", "th"):
            self.tables[-1][-1] += 1

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def assert_valid_email_html(html: str) -> None:
    import html5lib

    parser = html5lib.HTMLParser(strict=True)  # raises at the first parse error, names where
    parser.parse(html)
    assert html.startswith("<!DOCTYPE html>")
    found = _Tables()
    found.feed(html)
    assert found.lang == "en" and found.title.strip(), "an email needs a language and a title"
    for table in found.tables:
        assert len(set(table)) <= 1, f"a table's rows have different numbers of cells: {table}"
