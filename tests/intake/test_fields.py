"""The field readers every parser uses, at their edges: lengths, whole numbers."""

from __future__ import annotations

import pytest

from intake.errors import PayloadError
from intake.fields import loose_text, whole_number


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5), (0, 0), (-1, -1), ("5", 5), (" 30 ", 30), ("-1", -1), ("999999999999", 999999999999), (None, None), ("", None),
])
def test_a_whole_number_is_read(value, expected):
    assert whole_number(value, "DurationInSeconds") == expected


@pytest.mark.parametrize(("value", "problem"), [
    (5.5, "expected a whole number, got a number"),
    (True, "expected a whole number, got true or false"),
    ("five", "expected a whole number, got 'five'"),
    ("1e3", "expected a whole number, got '1e3'"),
    ("1000000000000", "expected a whole number, got '1000000000000'"),  # 13 digits: no duration is that long
    ({"s": 5}, "expected a whole number, got an object"),
])
def test_anything_else_is_refused_naming_the_field(value, problem):
    with pytest.raises(PayloadError) as refused:
        whole_number(value, "properties.DurationInSeconds")
    assert (refused.value.where, refused.value.problem) == ("properties.DurationInSeconds", problem)


@pytest.mark.parametrize(("length", "kept"), [(4096, True), (4097, False)])
def test_optional_text_is_bounded_at_its_limit(length, kept):
    if kept:
        assert loose_text("a" * length, "Description") == "a" * length
    else:
        with pytest.raises(PayloadError, match=r"^Description: is 4097 characters long, more than 4096$"):
            loose_text("a" * length, "Description")


def test_a_number_is_still_taken_as_its_text():
    assert (loose_text(12, "EventId"), loose_text(None, "EventId")) == ("12", "")
