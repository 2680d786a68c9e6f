"""The values a read produces: segments, transaction sets, groups and interchanges.

Interchanges and groups are yielded as soon as their header is read and completed when their
trailer is, so a consumer can stream over a file of any size one transaction set at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.findings import Finding
from edi.x12.delimiters import Delimiters


class Segment:
    """One segment: ``fields[0]`` is the segment id, ``fields[n]`` is element n (1-based)."""

    __slots__ = ("fields", "offset", "index", "position")

    def __init__(self, fields: list[str], offset: int = 0, index: int = 0, position: int = 0):
        self.fields = fields
        self.offset = offset  # byte offset of the segment id in the file
        self.index = index  # position in the interchange, ISA = 1
        self.position = position  # position in the transaction set, ST = 1 (0 outside a set)

    @property
    def tag(self) -> str:
        return self.fields[0]

    @property
    def elements(self) -> list[str]:
        return self.fields[1:]

    def element(self, n: int) -> str:
        """Element n (1-based), or '' when the segment is shorter."""
        return self.fields[n] if n < len(self.fields) else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(tuple(self.fields))

    def __repr__(self) -> str:
        return f"Segment({self.fields!r}, offset={self.offset})"


@dataclass(eq=False)
class Interchange:
    """ISA ... IEA. ``groups`` is filled only when the reader keeps the tree.

    ``ta1s`` are the interchange acknowledgements between the ISA and the first GS (X12.5); they
    are always kept, being few and belonging to the envelope rather than to any group.
    """

    isa: Segment
    delimiters: Delimiters
    offset: int
    iea: Segment | None = None
    findings: list[Finding] = field(default_factory=list)
    ta1s: list[Segment] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    group_count: int = 0
    end_offset: int | None = None

    @property
    def control_number(self) -> str:
        return self.isa.element(13)

    @property
    def version(self) -> str:
        return self.isa.element(12)

    @property
    def sender(self) -> tuple[str, str]:
        return self.isa.element(5), self.isa.element(6).strip()

    @property
    def receiver(self) -> tuple[str, str]:
        return self.isa.element(7), self.isa.element(8).strip()

    @property
    def ack_requested(self) -> bool:
        return self.isa.element(14) == "1"

    @property
    def usage(self) -> str:
        return self.isa.element(15)

    @property
    def complete(self) -> bool:
        return self.iea is not None


@dataclass(eq=False)
class Group:
    """GS ... GE."""

    interchange: Interchange
    gs: Segment
    ge: Segment | None = None
    findings: list[Finding] = field(default_factory=list)
    sets: list[TransactionSet] = field(default_factory=list)
    set_count: int = 0
    supported: bool = True  # False when GS08 names a version we have no schema for

    @property
    def functional_id(self) -> str:
        return self.gs.element(1)

    @property
    def control_number(self) -> str:
        return self.gs.element(6)

    @property
    def version(self) -> str:
        return self.gs.element(8)


@dataclass(eq=False)
class TransactionSet:
    """ST ... SE, with every segment between them (both included)."""

    group: Group | None
    segments: list[Segment]
    findings: list[Finding] = field(default_factory=list)
    segment_count: int = 0  # segments seen from ST to the end, including any too long to keep

    @property
    def id(self) -> str:
        return self.segments[0].element(1)

    @property
    def control_number(self) -> str:
        return self.segments[0].element(2)

    @property
    def complete(self) -> bool:
        return len(self.segments) > 1 and self.segments[-1].tag == "SE"

    @property
    def has_errors(self) -> bool:
        return any(f.is_error for f in self.findings)


@dataclass(frozen=True, slots=True)
class InterchangeStart:
    interchange: Interchange


@dataclass(frozen=True, slots=True)
class GroupStart:
    group: Group


@dataclass(frozen=True, slots=True)
class GroupEnd:
    group: Group


@dataclass(frozen=True, slots=True)
class InterchangeEnd:
    interchange: Interchange


Event = InterchangeStart | GroupStart | TransactionSet | GroupEnd | InterchangeEnd
