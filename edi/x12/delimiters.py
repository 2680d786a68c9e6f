"""Delimiters and the fixed-width ISA header they are read from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from edi.text import is_digits

#: Width of ISA01..ISA16 (X12.5 interchange control header; identical in 00401 and 00501).
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
#: TA105 code for a fault in each ISA field (ISA11 is the standards identifier up to 00401).
ISA_FIELD_CODES = (
    "010", "011", "012", "013", "005", "006", "007", "008",
    "014", "015", "016", "017", "018", "019", "020", "027",
)  # fmt: skip
#: "ISA", 16 separators, 86 bytes of fields, then the segment terminator.
ISA_LENGTH = 106
#: First version whose ISA11 is the repetition separator rather than a standards identifier.
REPETITION_FROM_VERSION = "00402"


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str | None = None  # None: the version has no repetition separator (00401 'U')

    def named(self) -> list[tuple[str, str]]:
        """(role, character) of every delimiter in use."""
        roles = [("element", self.element), ("component", self.component), ("segment", self.segment)]
        if self.repetition is not None:
            roles.append(("repetition", self.repetition))
        return roles

    def by_character(self) -> dict[str, str]:
        """Each delimiter character and the role it plays."""
        roles = {self.element: "element", self.component: "component", self.segment: "segment"}
        if self.repetition is not None:
            roles[self.repetition] = "repetition"
        return roles

    def pattern(self) -> re.Pattern[str]:
        """A regex matching any delimiter character, built once per set of delimiters.

        Writers check every value they write; one search per value (or per segment) is far
        cheaper than testing each delimiter in turn.
        """
        return _pattern(self)

    def collisions(self) -> list[tuple[str, str]]:
        """Pairs of roles that share a character, or a role given a letter or digit."""
        roles = self.named()
        problems: list[tuple[str, str]] = []
        for i, (name, char) in enumerate(roles):
            if len(char) != 1 or char.isalnum() or char == " ":
                problems.append((name, f"{char!r} cannot be a delimiter"))
            for other, other_char in roles[i + 1 :]:
                if char == other_char:
                    problems.append((other, f"the {name} and {other} separators are both {char!r}"))
        return problems


@lru_cache(maxsize=256)
def _pattern(delimiters: Delimiters) -> re.Pattern[str]:
    # Bounded: inbound files choose their own delimiters, and each is cached while answering it.
    # An alternation, not a class, so it means `char in value` even for an unusable delimiter.
    return re.compile("|".join(re.escape(char) for char in delimiters.by_character()))


#: TA105 code for a delimiter role that is unusable.
DELIMITER_CODES = {"element": "026", "component": "027", "segment": "004", "repetition": "016"}


def repetition_allowed(isa12: str) -> bool:
    """X12 has repetition separators from version 00402 on (ISA11 is 'U' before)."""
    return is_digits(isa12) and isa12 >= REPETITION_FROM_VERSION
