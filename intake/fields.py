"""Reading fields out of untrusted JSON, with errors that name the field.

Azure spells the same thing several ways (see AZURE-FACTS.md); the normalisers here are the one
place those spellings are folded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping  # not typing.Mapping: isinstance on it is several times slower
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from arm import ResourceId

from .errors import PayloadError

_MISSING = object()


def child(obj: Any, key: str, where: str, kind: type | tuple = dict, default: Any = _MISSING) -> Any:
    """obj[key], checked to be of `kind`; PayloadError naming `where.key` otherwise."""
    path = f"{where}.{key}" if where else key
    if type(obj) is not dict and not isinstance(obj, Mapping):  # JSON gives dicts: skip the ABC check for them
        raise PayloadError(where or "body", f"expected an object, got {_type_name(obj)}")
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is not _MISSING:
            return default
        raise PayloadError(path, "is missing")
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
        expected = " or ".join(_type_name_of(k) for k in _as_tuple(kind))
        raise PayloadError(path, f"expected {expected}, got {_type_name(value)}")
    return value


def text(obj: Any, key: str, where: str, default: Any = _MISSING, limit: int = 4096, numbers: bool = True) -> str:
    """A string field. A required one (no `default`) must be a string: a number, true/false, an
    object or a list is refused naming the field, not turned into text (`"availabilityState":
    12345` is no state named "12345"). An optional one may also be a number, taken as its text
    (Azure sends some ids and codes in an alert's context as numbers), unless `numbers` is False
    (an optional field that decides what the signal is: a stage, a condition); never an object
    or a list."""
    value = child(obj, key, where, str if default is _MISSING or not numbers else (str, int, float), default)
    if value is default and default is not _MISSING:
        return value
    return _bounded(str(value), f"{where}.{key}" if where else key, limit)


def text_value(value: Any, where: str, limit: int = 4096) -> str:
    """As `text`, for a value already found (under one of several spellings, say)."""
    if value is None or value == "":
        raise PayloadError(where, "is missing")
    if not isinstance(value, str):
        raise PayloadError(where, f"expected a string, got {_type_name(value)}")
    return _bounded(value, where, limit)


def _bounded(value: str, where: str, limit: int) -> str:
    if len(value) > limit:
        raise PayloadError(where, f"is {len(value)} characters long, more than {limit}")
    return unicode_text(value, where)


def loose_text(value: Any, where: str, limit: int = 4096) -> str:
    """An optional field read leniently as text: a string, or a number or true/false taken as its
    text (Azure is not consistent about them). An object or a list is refused naming the field,
    as is text longer than `limit` and what no store can hold."""
    if isinstance(value, (dict, list)):
        raise PayloadError(where, f"expected a string, got {_type_name(value)}")
    return _bounded(str(value or ""), where, limit)


def whole_number(value: Any, where: str) -> int | None:
    """An optional count (seconds, say): an integer, or its digits as a string as some sources
    send them; absent is None. A fraction, true/false, words or an object are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
        return int(value.strip())
    raise PayloadError(where, f"expected a whole number, got {_type_name(value) if not isinstance(value, str) else repr(value[:40])}")


def unicode_text(value: str, where: str) -> str:
    """JSON may escape a lone UTF-16 surrogate (\\ud800) that no UTF-8 store can hold: refuse it here."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError(where, "holds a lone surrogate, which is not a Unicode character") from None
    return value


def any_key(obj: Mapping, *keys: str) -> Any:
    """The first present key among spellings (Azure varies case between sources)."""
    for key in keys:
        if key in obj and obj[key] is not None:
            return obj[key]
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        if lowered.get(key.lower()) is not None:
            return lowered[key.lower()]
    return None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def timestamp(value: Any, where: str) -> datetime:
    """ISO 8601 with Z or an offset and up to 7 fractional digits, or RFC 1123; always UTC."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(where, f"expected a date and time, got {_type_name(value)}")
    raw = value.strip()
    try:
        iso = _FRACTION.sub(r"\1", raw.replace("Z", "+00:00").replace("z", "+00:00"))
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            raise PayloadError(where, f"{raw[:60]!r} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_INITIATORS = {
    "platforminitiated": "platform",
    "platform": "platform",
    "customerinitiated": "customer",
    "userinitiated": "customer",
    "customer": "customer",
    "user": "customer",
    "vminitiated": "vm",
    "vm": "vm",
    "unknown": "unknown",
}


def initiator(value: Any) -> str:
    """'Platform Initiated', 'Platform-Initiated', 'PlatformInitiated', 'User-initiated'..."""
    folded = re.sub(r"[\s_-]+", "", str(value or "")).lower()
    return _INITIATORS.get(folded, "unknown" if folded else "")


def azure_category(value: Any) -> str:
    """'Not Applicable' -> 'not-applicable'; 'Planned', 'Unplanned', 'Unknown' lower-cased."""
    return re.sub(r"[\s_]+", "-", str(value or "").strip()).lower()


def impact_type(value: Any) -> str:
    """'Downtime Reboot' -> 'downtime-reboot' and so on."""
    return re.sub(r"[\s_]+", "-", str(value or "").strip()).lower()


def json_list(value: Any, where: str) -> list:
    """`impactedServices` is a JSON string in real alerts and an array in test alerts."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            decoded = json.loads(value) if value.strip() else []
        except ValueError:
            raise PayloadError(where, "is a string that is not JSON") from None
        if isinstance(decoded, list):
            return decoded
    raise PayloadError(where, f"expected an array or a JSON string of one, got {_type_name(value)}")


def resource_type_of(resource_id: str) -> str:
    """Microsoft.Compute/virtualMachines from an ARM id (with nested types kept, as written)."""
    rid = ResourceId.try_parse(resource_id)
    return rid.written_type if rid is not None else ""


def looks_like_resource_id(value: str) -> bool:
    return len(value) < 1024 and ResourceId.try_parse(value) is not None


def _as_tuple(kind: type | tuple) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_name_of(kind: type) -> str:
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}.get(kind, kind.__name__)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _type_name_of(type(value))
