"""Checking a rule document against its JSON schema, and knowing when that was already done.

jsonschema and PyYAML are most of a worker's cold start: importing them, parsing the YAML, and
`jsonschema.validate` checking the schema itself against the metaschema on every call. So:

- the schemas (constants of this code) are checked against the metaschema by the tests, not here;
- the documents this package ships are checked in full by the tests, which keep them, parsed, in
  `checked.json` beside them under their sha256 (tests/rules/test_validated_documents.py fails
  until the record matches the files, and rewrites it when run as a module). A file whose bytes
  have a recorded digest is byte for byte a document already checked: it is taken from the
  record, with neither YAML nor jsonschema. Any other file, an operator's own policy or catalog,
  is parsed and checked in full, with the same errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RECORD = Path(__file__).with_name("checked.json")


def check(document: Any, schema: Mapping[str, Any], error: type[Exception], where: str) -> None:
    """Raise `error("<where>: <path>: <problem>")` when `document` does not satisfy `schema`:
    jsonschema's best match among the errors, as `jsonschema.validate` chooses it."""
    from jsonschema import exceptions, validators

    found = exceptions.best_match(validators.validator_for(schema)(schema).iter_errors(document))
    if found is not None:
        at = "/".join(str(p) for p in found.absolute_path) or "(top)"
        raise error(f"{where}: {at}: {found.message}")


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def checked_document(raw: bytes) -> Any | None:
    """The document these bytes hold, when the tests checked it in full against the current
    schemas; None for any other bytes. Parsed afresh on each call: callers may keep and change it."""
    try:
        record = json.loads(RECORD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no usable record: every document is parsed and checked
    entry = record.get("documents", {}).get(digest(raw))
    return entry["document"] if entry else None
