"""Reading the acknowledgements partners send us (TA1, 997, 999) as results per control number.

Each TA1 says what became of one of our interchanges (TA101 is our ISA13); each 997 or 999 says
what became of one of our functional groups (AK102 is our GS06) and, through its AK2 loops, of
the transaction sets in it (AK202 is our ST02). A result carries the status in plain words and
the reasons with the meaning of every code, taken from the code lists of the schema dictionary
(``ack_codes.yaml`` names the element of each table), so a person can act on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from edi.text import is_digits
from edi.x12.acks import AckCodes, ack_codes
from edi.x12.reader import Source, X12Reader
from edi.x12.schema import SchemaSet, default_schemas
from edi.x12.structures import Interchange, InterchangeEnd, InterchangeStart, Segment, TransactionSet

ResultKind = Literal["TA1", "997", "999"]


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_ERRORS = "accepted with errors"
    PARTIALLY_ACCEPTED = "partially accepted"
    REJECTED = "rejected"


#: TA104, AK501 / IK501 and AK901 codes. M, W and X are rejections for security reasons (MAC
#: failed, assurance failed, content could not be analysed after decryption).
STATUS_BY_CODE = {
    "A": AckStatus.ACCEPTED,
    "E": AckStatus.ACCEPTED_WITH_ERRORS,
    "P": AckStatus.PARTIALLY_ACCEPTED,
    "R": AckStatus.REJECTED,
    "M": AckStatus.REJECTED,
    "W": AckStatus.REJECTED,
    "X": AckStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class Code:
    """A code as the partner sent it, with its meaning in the standard's dictionary."""

    code: str
    meaning: str | None = None

    def __str__(self) -> str:
        return f"{self.code} ({self.meaning})" if self.meaning else self.code


@dataclass(frozen=True, slots=True)
class ElementNote:
    """AK4 / IK4: one element of a segment of ours that the partner found in error."""

    position: int | None  # AK401-1: element position in the segment
    component: int | None  # AK401-2: component position in a composite
    repeat: int | None  # AK401-3: repetition (005010)
    element_ref: str | None  # AK402: data element number
    code: Code  # AK403 / IK403
    value: str | None = None  # AK404: copy of the bad data
    context: tuple[tuple[str, str], ...] = ()  # CTX under the IK4 (999)

    def describe(self, segment_id: str) -> str:
        where = f"{segment_id}{self.position:02d}" if self.position is not None else f"{segment_id} element"
        if self.component:
            where += f"-{self.component}"
        if self.repeat:
            where += f" (repetition {self.repeat})"
        ref = f" (element {self.element_ref})" if self.element_ref else ""
        value = f" {self.value!r}" if self.value else ""
        return f"{where}{ref}{value}: {self.code}"


@dataclass(frozen=True, slots=True)
class SegmentNote:
    """AK3 / IK3: one segment of ours the partner found in error, with its element notes."""

    segment_id: str  # AK301
    position: int | None  # AK302: position in the set, ST = 1
    loop_id: str | None  # AK303
    code: Code | None  # AK304 / IK304 (absent when only elements are in error)
    elements: tuple[ElementNote, ...] = ()
    context: tuple[tuple[str, str], ...] = ()  # CTX under the IK3 (999): business unit, ...

    def describe(self) -> list[str]:
        where = f"segment {self.position} {self.segment_id}" if self.position is not None else self.segment_id
        lines = [f"{where}: {self.code}"] if self.code is not None else []
        lines += [f"{where}: {note.describe(self.segment_id)}" for note in self.elements]
        return lines or [where]


@dataclass(frozen=True, slots=True)
class SetResult:
    """AK2 .. AK5: what became of one of our transaction sets."""

    set_id: str  # AK201
    control_number: str  # AK202: our ST02
    implementation: str | None  # AK203
    status: AckStatus | None  # None when the AK5 is missing or its code is unknown
    code: str  # AK501 / IK501 as sent
    reasons: tuple[Code, ...] = ()  # AK502..AK506
    segments: tuple[SegmentNote, ...] = ()

    def describe(self) -> list[str]:
        head = f"ST {self.control_number} ({self.set_id}): {self.status.value if self.status else self.code or '?'}"
        lines = [head + "".join(f"; {reason}" for reason in self.reasons)]
        lines += [f"ST {self.control_number} {line}" for note in self.segments for line in note.describe()]
        return lines


@dataclass(frozen=True, slots=True)
class AckResult:
    """One acknowledgement: a TA1 about one of our interchanges, or a 997 / 999 about a group."""

    kind: ResultKind
    sender: tuple[str, str]  # ISA05 / ISA06 of the acknowledgement: the partner
    receiver: tuple[str, str]  # ISA07 / ISA08: us
    interchange: str  # ISA13 of the acknowledgement's own interchange
    control_number: str | None  # ST02 of the 997 / 999 (None for a TA1)
    status: AckStatus | None  # TA104 or AK901, in words
    code: str  # TA104 or AK901 as sent
    reasons: tuple[Code, ...] = ()  # TA105, or AK905..AK909
    interchange_control_number: str | None = None  # TA101: our ISA13
    group_control_number: str | None = None  # AK102: our GS06
    functional_id: str | None = None  # AK101: our GS01
    version: str | None = None  # AK103 (or the acknowledgement's GS08 when absent)
    interchange_date: str | None = None  # TA102
    interchange_time: str | None = None  # TA103
    declared: int | None = None  # AK902: sets our GE01 declared
    received: int | None = None  # AK903
    accepted: int | None = None  # AK904
    sets: tuple[SetResult, ...] = ()
    problems: tuple[str, ...] = ()  # what is wrong with the acknowledgement itself

    @property
    def acknowledges(self) -> str:
        """'interchange' for a TA1, 'group' for a 997 or 999."""
        return "interchange" if self.kind == "TA1" else "group"

    def set_status(self, control_number: str) -> AckStatus | None:
        """What became of our set ST02 = ``control_number``; None when the acknowledgement cannot say.

        A 997 may leave out the AK2 loops of sets it accepts: then the group's status speaks for
        them, unless the group was only partially accepted.
        """
        for result in self.sets:
            if result.control_number == control_number:
                return result.status
        if self.status in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS, AckStatus.REJECTED):
            return self.status
        return None

    def describe(self) -> list[str]:
        """Lines a person can read: what was acknowledged, the status, and every reason."""
        if self.kind == "TA1":
            head = f"ISA {self.interchange_control_number}"
        else:
            head = f"GS {self.group_control_number} ({self.functional_id})"
        status = self.status.value if self.status else self.code or "?"
        lines = [f"{self.kind} {head}: {status}" + "".join(f"; {reason}" for reason in self.reasons)]
        for result in self.sets:
            lines += [f"  {line}" for line in result.describe()]
        lines += [f"  problem: {problem}" for problem in self.problems]
        return lines


# -- reading ----------------------------------------------------------------------------------


def read_acknowledgements(
    source: Source, *, schemas: SchemaSet | None = None, name: str | None = None
) -> list[AckResult]:
    """Every TA1, 997 and 999 in ``source``, in file order (an interchange's TA1s first).

    The file is streamed: only the results of the interchange being read are held until its IEA.
    """
    meanings = _Meanings(schemas or default_schemas(), ack_codes())
    results: list[AckResult] = []
    pending: list[AckResult] = []
    start: InterchangeStart | None = None
    for event in X12Reader(source, name=name):
        if isinstance(event, InterchangeStart):
            start, pending = event, []
        elif isinstance(event, TransactionSet) and event.id in ("997", "999") and start is not None:
            pending.append(_FunctionalReader(event, start, meanings).read())
        elif isinstance(event, InterchangeEnd):
            ich = event.interchange
            results.extend(_ta1_result(ta1, ich, meanings) for ta1 in ich.ta1s)
            results.extend(pending)
            pending, start = [], None
    return results


def read_functional_ack(ts: TransactionSet, *, schemas: SchemaSet | None = None) -> AckResult:
    """One 997 or 999 already read (as the ingest pipeline meets it among a file's sets)."""
    if ts.id not in ("997", "999") or ts.group is None:
        raise ValueError(f"transaction set {ts.id} is not a 997 or 999 inside a group")
    meanings = _Meanings(schemas or default_schemas(), ack_codes())
    return _FunctionalReader(ts, InterchangeStart(ts.group.interchange), meanings).read()


class _Meanings:
    """Code meanings from the schema dictionary of the acknowledgement's version."""

    def __init__(self, schemas: SchemaSet, codes: AckCodes) -> None:
        self.schemas = schemas
        self.codes = codes

    def code(self, kind: str, table: str, value: str, version: str) -> Code:
        element = self.codes.element(kind, table)
        if element is None:
            return Code(value)
        dictionaries = self.schemas.dictionaries
        preferred = dictionaries.get(SchemaSet.version_of(version))
        # The version's own list first; then the newest version that has one (TA1 codes are
        # the same in every version, and a 997 may come in a version we hold no schemas for).
        candidates = [preferred] if preferred is not None else []
        candidates += [dictionaries[v] for v in sorted(dictionaries, reverse=True)]
        for dictionary in candidates:
            definition = dictionary.elements.get(element)
            if definition is not None and definition.codes:
                return Code(value, definition.codes.get(value))
        return Code(value)


def _ta1_result(seg: Segment, ich: Interchange, meanings: _Meanings) -> AckResult:
    """One TA1 of the interchange ``ich``: what became of our interchange TA101."""
    code = seg.element(4)
    problems = [] if code in ("A", "E", "R") else [f"TA104 {code!r} is not an interchange acknowledgment code"]
    note = seg.element(5)
    return AckResult(
        kind="TA1",
        sender=ich.sender,
        receiver=ich.receiver,
        interchange=ich.control_number,
        control_number=None,
        status=STATUS_BY_CODE.get(code) if code in ("A", "E", "R") else None,
        code=code,
        reasons=(meanings.code("TA1", "TA105", note, ich.version + "0"),) if note else (),
        interchange_control_number=seg.element(1),
        interchange_date=seg.element(2) or None,
        interchange_time=seg.element(3) or None,
        problems=tuple(problems),
    )


@dataclass(slots=True)
class _NoteBuilder:
    segment_id: str
    position: int | None
    loop_id: str | None
    code: Code | None
    elements: list[ElementNote] = field(default_factory=list)
    context: list[tuple[str, str]] = field(default_factory=list)

    def build(self) -> SegmentNote:
        return SegmentNote(
            self.segment_id, self.position, self.loop_id, self.code, tuple(self.elements), tuple(self.context)
        )


@dataclass(slots=True)
class _SetBuilder:
    set_id: str
    control_number: str
    implementation: str | None
    code: str = ""
    reasons: tuple[Code, ...] = ()
    segments: list[SegmentNote] = field(default_factory=list)
    closed: bool = False

    def build(self) -> SetResult:
        return SetResult(
            set_id=self.set_id,
            control_number=self.control_number,
            implementation=self.implementation,
            status=STATUS_BY_CODE.get(self.code) if self.code != "P" else None,  # P is a group code
            code=self.code,
            reasons=self.reasons,
            segments=tuple(self.segments),
        )


class _FunctionalReader:
    """One 997 or 999, segment by segment: AK1, then AK2 loops (AK3 / AK4 or IK3 / CTX / IK4), AK9."""

    def __init__(self, ts: TransactionSet, start: InterchangeStart, meanings: _Meanings) -> None:
        self.ts = ts
        self.ich = start.interchange
        self.kind: ResultKind = "999" if ts.id == "999" else "997"
        self.tags = ("IK3", "IK4", "IK5") if self.kind == "999" else ("AK3", "AK4", "AK5")
        self.meanings = meanings
        self.version = ts.group.version if ts.group is not None else ""
        self.problems: list[str] = []
        self.sets: list[SetResult] = []
        self.ak1: Segment | None = None
        self.ak9: Segment | None = None
        self.current: _SetBuilder | None = None
        self.note: _NoteBuilder | None = None

    def meaning(self, table: str, code: str) -> Code:
        return self.meanings.code(self.kind, table, code, self.version)

    def read(self) -> AckResult:
        segment_tag, element_tag, set_tag = self.tags
        for seg in self.ts.segments[1:]:
            tag = seg.tag
            if tag == "AK1":
                self.ak1 = seg
                self.version = seg.element(3) or self.version
            elif tag == "AK2":
                self.close_set()
                self.current = _SetBuilder(seg.element(1), seg.element(2), seg.element(3) or None)
            elif tag == segment_tag and self.current is not None:
                self.close_note()
                code = seg.element(4)
                self.note = _NoteBuilder(
                    seg.element(1),
                    _int(seg.element(2)),
                    seg.element(3) or None,
                    self.meaning(segment_tag + "04", code) if code else None,
                )
            elif tag == element_tag and self.note is not None:
                self.note.elements.append(self.element_note(seg))
            elif tag == "CTX" and self.note is not None:
                parts = seg.element(1).split(self.ich.delimiters.component)
                pair = (parts[0], parts[1] if len(parts) > 1 else "")
                if self.note.elements:  # a CTX after an IK4 is that element's context
                    last = self.note.elements[-1]
                    self.note.elements[-1] = replace(last, context=(*last.context, pair))
                else:
                    self.note.context.append(pair)
            elif tag == set_tag and self.current is not None:
                self.close_note()
                self.current.code = seg.element(1)
                self.current.closed = True
                self.current.reasons = tuple(self.meaning(set_tag + "02", c) for c in seg.fields[2:7] if c)
                if self.current.code not in STATUS_BY_CODE or self.current.code == "P":
                    self.problems.append(
                        f"{set_tag}01 {self.current.code!r} is not a transaction set acknowledgment code"
                    )
            elif tag == "AK9":
                self.close_set()
                self.ak9 = seg
        self.close_set()
        return self.result()

    def element_note(self, seg: Segment) -> ElementNote:
        where = seg.element(1).split(self.ich.delimiters.component)
        return ElementNote(
            position=_int(where[0]),
            component=_int(where[1]) if len(where) > 1 else None,
            repeat=_int(where[2]) if len(where) > 2 else None,
            element_ref=seg.element(2) or None,
            code=self.meaning(self.tags[1] + "03", seg.element(3)),
            value=seg.element(4) or None,
        )

    def close_note(self) -> None:
        if self.note is not None and self.current is not None:
            self.current.segments.append(self.note.build())
        self.note = None

    def close_set(self) -> None:
        self.close_note()
        if self.current is not None:
            if not self.current.closed:
                self.problems.append(f"AK2 {self.current.set_id} {self.current.control_number} has no {self.tags[2]}")
            self.sets.append(self.current.build())
        self.current = None

    def result(self) -> AckResult:
        ich, ak1, ak9 = self.ich, self.ak1, self.ak9
        if ak1 is None:
            self.problems.append("there is no AK1, so it does not say which group it answers")
        if ak9 is None:
            self.problems.append("there is no AK9, so it does not say what became of the group")
        code = ak9.element(1) if ak9 is not None else ""
        if ak9 is not None and code not in STATUS_BY_CODE:
            self.problems.append(f"AK901 {code!r} is not a functional group acknowledge code")
        return AckResult(
            kind=self.kind,
            sender=ich.sender,
            receiver=ich.receiver,
            interchange=ich.control_number,
            control_number=self.ts.control_number,
            status=STATUS_BY_CODE.get(code),
            code=code,
            reasons=tuple(self.meaning("AK905", c) for c in ak9.fields[5:10] if c) if ak9 is not None else (),
            group_control_number=ak1.element(2) if ak1 is not None else None,
            functional_id=ak1.element(1) if ak1 is not None else None,
            version=self.version or None,
            declared=_int(ak9.element(2)) if ak9 is not None else None,
            received=_int(ak9.element(3)) if ak9 is not None else None,
            accepted=_int(ak9.element(4)) if ak9 is not None else None,
            sets=tuple(self.sets),
            problems=tuple(self.problems),
        )


def _int(text: str) -> int | None:
    return int(text) if is_digits(text) else None
