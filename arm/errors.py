"""The one error of the arm package: a text that is not an ARM id, with the part that is wrong."""

from __future__ import annotations


class ArmIdError(ValueError):
    """`text` is not an ARM resource id; `part` names what is wrong (for example "resource group")."""

    def __init__(self, text: object, part: str, why: str) -> None:
        shown = text if isinstance(text, str) else repr(text)
        super().__init__(f"not an ARM resource id: {part} {why}: {str(shown)[:200]!r}")
        self.text = text
        self.part = part
        self.why = why
