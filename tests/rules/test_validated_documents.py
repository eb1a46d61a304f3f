"""What lets a worker load the shipped rule documents without YAML or jsonschema
(rules/validation.py): the schemas are sound, the shipped documents pass every check in full and
are recorded, parsed, under their digests in rules/checked.json, and any other file is still
parsed and checked in full, with errors that name the place.

After changing a shipped document or a schema, rewrite the record (it is written only when every
check passes):

    .venv/bin/python -m tests.rules.test_validated_documents
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import validators

from rules import CatalogError, PolicyError, brakes, catalog, load_catalog, load_policy, ownership, parse_policy, policy
from rules.validation import RECORD, check, checked_document, digest
from waves import WavePolicyError, parse_maintenance
from waves import policy as waves_policy

SHIPPED = (catalog.DEFAULT_PATH, policy.DEFAULT_PATH)


@pytest.mark.parametrize("schema", [catalog.SCHEMA, policy.SCHEMA, brakes.SCHEMA, brakes.TAGS_SCHEMA, waves_policy.SCHEMA,
                                    ownership.SCHEMA],
                         ids=["catalog", "policy", "brakes", "tags", "maintenance", "leave_alone"])
def test_each_schema_is_a_valid_schema(schema):
    """`jsonschema.validate` checked this on every call; check() leaves it to this test."""
    validators.validator_for(schema).check_schema(schema)


def record_text() -> str:
    """The record of the shipped documents, after checking each in full (raises on a mistake)."""
    parsed = {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in SHIPPED}
    check(parsed["annotations.yaml"], catalog.SCHEMA, CatalogError, "annotations.yaml")
    rules = parse_policy(parsed["policy.yaml"], "policy.yaml", catalog.Catalog(parsed["annotations.yaml"]))  # every schema
    assert not rules.checked_in_tests
    parse_maintenance(parsed["policy.yaml"].get("maintenance"), "policy.yaml: maintenance")
    for name, document in parsed.items():
        assert json.loads(json.dumps(document)) == document, f"{name} holds a value JSON cannot (a date?): quote it"
    documents = {digest(path.read_bytes()): {"name": path.name, "document": parsed[path.name]} for path in SHIPPED}
    note = "Written by tests/rules/test_validated_documents.py: the shipped rule documents, checked in full, parsed."
    return json.dumps({"note": note, "documents": documents}, indent=1, ensure_ascii=False) + "\n"


def test_the_shipped_documents_pass_every_check_and_the_record_holds_them():
    expected = record_text()
    assert RECORD.read_text(encoding="utf-8") == expected, (
        "a shipped rule document or a schema changed: run `.venv/bin/python -m tests.rules.test_validated_documents`")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_a_shipped_document_comes_from_the_record_as_its_yaml_says(path):
    assert checked_document(path.read_bytes()) == yaml.safe_load(path.read_text(encoding="utf-8"))
    assert checked_document(path.read_bytes() + b"\n# one byte more\n") is None


def test_the_shipped_policy_read_from_the_record_means_what_its_yaml_says():
    shipped = load_policy(policy.DEFAULT_PATH, load_catalog())
    assert shipped.checked_in_tests
    in_full = parse_policy(yaml.safe_load(policy.DEFAULT_PATH.read_text(encoding="utf-8")), str(policy.DEFAULT_PATH), load_catalog())
    assert shipped.rules == in_full.rules and shipped.brakes == in_full.brakes and shipped.mode_tag == in_full.mode_tag
    assert shipped.leave_alone == in_full.leave_alone
    assert shipped.sections == in_full.sections and shipped.incident_ttl == in_full.incident_ttl


def changed_copy(tmp_path: Path, source: Path, change) -> Path:
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert checked_document(path.read_bytes()) is None
    return path


def _set(section: str, key: str, value):
    return lambda document: document.setdefault(section, {}).__setitem__(key, value)


# An operator's file (here: the shipped one with one mistake) is checked in full: each schema. The
# mistakes are ones only a schema sees (an unknown key, say), so a skipped check would show.
@pytest.mark.parametrize("source,change,error,where", [
    (policy.DEFAULT_PATH, lambda d: d["rules"][0].__setitem__("do", "reboot-everything"), PolicyError, "rules/0/do"),
    (policy.DEFAULT_PATH, lambda d: d.__setitem__("version", 2), PolicyError, "version"),
    (policy.DEFAULT_PATH, _set("brakes", "colour", "blue"), PolicyError, "brakes: (top)"),
    (policy.DEFAULT_PATH, _set("tags", "colour", "blue"), PolicyError, "tags: (top)"),
    (policy.DEFAULT_PATH, _set("leave_alone", "lift", ["kubernetes"]), PolicyError, "leave_alone: lift/0"),
    (catalog.DEFAULT_PATH, lambda d: d.__setitem__("unexpected", {}), CatalogError, "(top)"),
], ids=["rule action", "version", "brakes", "tags", "leave_alone", "catalog"])
def test_any_other_file_is_checked_in_full_naming_the_place(tmp_path, source, change, error, where):
    path = changed_copy(tmp_path, source, change)
    with pytest.raises(error) as raised:
        load_policy(path, load_catalog()) if source == policy.DEFAULT_PATH else load_catalog(path)
    assert f"{path}: {where}" in str(raised.value)


def test_the_maintenance_section_of_another_file_is_checked_in_full_even_without_azure(tmp_path, ledger):
    from pipeline import Settings
    from wiring import build_pipeline

    path = changed_copy(tmp_path, policy.DEFAULT_PATH, _set("maintenance", "colour", "blue"))
    with pytest.raises(WavePolicyError, match=r"maintenance: \(top\): Additional properties"):
        build_pipeline(Settings(policy_path=str(path)), ledger=ledger, notifier=False)


def test_a_file_that_is_not_yaml_is_named_in_the_error(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"rules: [unclosed\n")
    with pytest.raises(PolicyError, match=f"{path}: cannot read the policy"):
        load_policy(path)


if __name__ == "__main__":
    RECORD.write_text(record_text(), encoding="utf-8")
    sys.exit(0)
