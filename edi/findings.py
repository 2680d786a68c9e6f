"""Findings: what a reader or validator saw wrong, located precisely enough to acknowledge it.

A finding is named by the acknowledgement code it produces (TA105, AK905, AK502, AK304, AK403),
so building a 997, 999 or TA1 is a walk over findings rather than a second analysis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Level(StrEnum):
    """Where a finding is acknowledged: the envelope or structure it belongs to."""

    INTERCHANGE = "interchange"  # TA1 (TA105)
    GROUP = "group"  # AK9 (AK905..AK909)
    SET = "set"  # AK5 / IK5 (AK502..AK506)
    SEGMENT = "segment"  # AK3 / IK3 (AK304)
    ELEMENT = "element"  # AK4 / IK4 (AK403)
    FILE = "file"  # nothing to acknowledge: warnings about the file itself


#: The code table each level's finding takes its code from (see edi/x12/data/ack_codes.yaml).
TABLE_BY_LEVEL = {
    Level.INTERCHANGE: "TA105",
    Level.GROUP: "AK905",
    Level.SET: "AK502",
    Level.SEGMENT: "AK304",
    Level.ELEMENT: "AK403",
    Level.FILE: "EE",
}


@dataclass(slots=True)
class Finding:
    """One problem, with every coordinate a person or an acknowledgement needs."""

    level: Level
    code: str
    message: str
    severity: Severity = Severity.ERROR
    file: str | None = None
    interchange: str | None = None  # ISA13
    group: str | None = None  # GS06
    transaction_set: str | None = None  # ST02
    set_id: str | None = None  # ST01
    segment_position: int | None = None  # counted from ST = 1
    segment_index: int | None = None  # counted from ISA = 1
    segment_id: str | None = None
    element: int | None = None  # 1-based element position
    component: int | None = None  # 1-based component position inside a composite
    repeat: int | None = None  # 1-based repetition
    element_ref: str | None = None  # data element number, e.g. "373"
    byte_offset: int | None = None  # offset in the file of the damaged segment's first byte
    offset_in_segment: int | None = None  # offset inside that segment of the damaged part
    value: str | None = None

    @property
    def table(self) -> str:
        return TABLE_BY_LEVEL[self.level]

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        """Where, in the words an EDI analyst uses: ISA 000000123 / GS 1 / ST 0001 / segment 3."""
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.interchange is not None:
            parts.append(f"ISA {self.interchange}")
        if self.group is not None:
            parts.append(f"GS {self.group}")
        if self.transaction_set is not None:
            parts.append(f"ST {self.transaction_set}")
        if self.segment_position is not None:
            parts.append(f"segment {self.segment_position}")
        elif self.segment_index is not None:
            parts.append(f"segment {self.segment_index} of the interchange")
        if self.byte_offset is not None:
            inside = self.offset_in_segment or 0
            parts.append(f"byte {self.byte_offset + inside}")
        return " / ".join(parts)

    def __str__(self) -> str:
        return f"{self.table} {self.code}: {self.message} — {self.location()}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.value
        data["severity"] = self.severity.value
        data["table"] = self.table
        return {key: value for key, value in data.items() if value is not None}


class UnreadableInput(Exception):
    """The input cannot be read as EDI at all (not a file, or no interchange header anywhere)."""

    def __init__(self, message: str, *, file: str | None = None, byte_offset: int | None = None):
        super().__init__(message)
        self.file = file
        self.byte_offset = byte_offset

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        at = f" (byte {self.byte_offset})" if self.byte_offset is not None else ""
        return f"{where}{self.args[0]}{at}"
