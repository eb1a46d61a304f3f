"""ledger.claims.ClaimBook on its own: which of a ledger instance's claims it may take again.

The contract tests race claims through both ledgers; these pin the book's own answers: only a
claim whose fate this instance does not know may be retaken, and only by its own holder token;
a claim held and still being decided never; and the book forgets its oldest entries first.
"""

from __future__ import annotations

import re

import pytest

from ledger.claims import REMEMBERED, ClaimBook


def test_holder_tokens_are_unique_within_a_worker_and_across_workers():
    book, other = ClaimBook(), ClaimBook()
    first, second = book.new_holder(), book.new_holder()
    assert re.fullmatch(r"[0-9a-f]{16}-1", first) and second == first[:-1] + "2"
    assert other.new_holder().split("-")[0] != first.split("-")[0]


@pytest.mark.parametrize(
    "steps, asked, retake, held",
    [
        ([], "h1", False, None),
        ([("unsure", "h1")], "h1", True, None),  # its write raised: the store may hold it, nobody else decides it
        ([("unsure", "h1")], "h2", False, None),  # another attempt's token
        ([("unsure", "h1")], None, False, None),  # a stored claim without a token
        ([("held", "h1")], "h1", False, "h1"),  # still being decided here: a duplicate waits
        ([("unsure", "h1"), ("held", "h1")], "h1", False, "h1"),
        ([("held", "h1"), ("unsure", "h1")], "h1", True, None),  # giving it back failed
        ([("unsure", "h1"), ("done", None)], "h1", False, None),
        ([("held", "h1"), ("done", None)], "h1", False, None),
        ([("unsure", "h1"), ("unsure", "h2")], "h1", False, None),  # the latest attempt's token only
    ],
)
def test_only_an_unsure_claim_may_be_retaken_by_its_own_holder(steps, asked, retake, held):
    book = ClaimBook()
    for step, holder in steps:
        getattr(book, step)("delivery-1", *([holder] if holder else []))
    assert book.may_retake("delivery-1", asked) is retake
    assert book.holder("delivery-1") == held
    assert book.may_retake("delivery-2", asked) is False and book.holder("delivery-2") is None


@pytest.mark.parametrize("step", ["held", "unsure"])
def test_the_book_forgets_its_oldest_claims_first(step):
    book = ClaimBook()
    for n in range(REMEMBERED):
        getattr(book, step)(f"d{n}", f"h{n}")
    getattr(book, step)("d0", "h0")  # remembered again: now the newest
    getattr(book, step)(f"d{REMEMBERED}", f"h{REMEMBERED}")
    known = book.holder if step == "held" else (lambda key: f"h{key[1:]}" if book.may_retake(key, f"h{key[1:]}") else None)
    assert known("d0") == "h0"
    assert known("d1") is None, "the oldest forgotten"
    assert known("d2") == "h2"
    assert known(f"d{REMEMBERED}") == f"h{REMEMBERED}"

