"""Schema validation of what the reader yields: segment order and loops (AK3 / IK3), elements
(AK4 / IK4), the 856 hierarchy, the ISA and GS values, and whether the set and version are known.

Validation adds findings to the Interchange, Group and TransactionSet objects as they stream
past; it never stops at the first problem, and one bad set never affects the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

from edi.findings import Finding, Level, Severity
from edi.text import is_digits
from edi.x12.delimiters import ISA_FIELD_CODES, Delimiters
from edi.x12.elements import ElementFault, SegmentPlan, check_segment
from edi.x12.reader import element_offset
from edi.x12.schema import LoopDef, SchemaSet, SegmentDef, SegmentUse, TransactionSetDef, default_schemas
from edi.x12.structures import Event, Group, GroupStart, InterchangeStart, Segment, TransactionSet

#: ISA11 and ISA16 hold delimiters themselves, so no delimiter may be looked for inside them.
_NO_DELIMITERS = Delimiters(element="\x00", component="\x00", segment="\x00")


class _LoopIndex:
    """Where each segment id may appear among a loop's children, and which children are mandatory."""

    __slots__ = ("index_of", "mandatory", "plans", "tag")

    def __init__(self, loop: LoopDef) -> None:
        index_of: dict[str, list[int]] = {}
        for index, child in enumerate(loop.children):
            index_of.setdefault(child.tag, []).append(index)
        self.index_of = {tag: tuple(indexes) for tag, indexes in index_of.items()}
        self.mandatory = tuple(i for i, child in enumerate(loop.children) if child.usage == "M")
        self.tag = loop.tag
        self.plans = tuple(
            _compiled(child.segment if isinstance(child, SegmentUse) else child.children[0].segment)  # type: ignore[union-attr]
            for child in loop.children
        )


_COMPILED: dict[int, tuple[object, object]] = {}
_PATTERNS: dict[int, tuple[TransactionSetDef, _SetPattern]] = {}


def _set_pattern(tsdef: TransactionSetDef) -> _SetPattern:
    hit = _PATTERNS.get(id(tsdef))
    if hit is not None and hit[0] is tsdef:
        return hit[1]
    built = _SetPattern(tsdef)
    _PATTERNS[id(tsdef)] = (tsdef, built)
    return built


def _compiled(definition: LoopDef | SegmentDef) -> Any:
    """The loop index or segment plan of a definition, built once per definition object."""
    hit = _COMPILED.get(id(definition))
    if hit is not None and hit[0] is definition:
        return hit[1]
    built = _LoopIndex(definition) if isinstance(definition, LoopDef) else SegmentPlan(definition)
    _COMPILED[id(definition)] = (definition, built)
    return built


class _SetPattern:
    """The whole segment order of a set as one regular expression over one character per tag.

    A set whose tag sequence matches is in order, complete and within every maximum, so its
    structure needs no further walk; only a set that does not match is walked segment by segment
    to say what is wrong. Quantifiers are possessive, as the standard's reading is: a segment
    belongs to the first place that can take it.
    """

    __slots__ = ("alphabet", "matchers", "pattern", "plans")

    def __init__(self, tsdef: TransactionSetDef) -> None:
        self.alphabet: dict[str, str] = {}
        self.plans: dict[str, SegmentPlan] = {}
        self.pattern = re.compile(self._loop_body(tsdef.root))
        self.matchers: dict[Delimiters, dict[str, tuple[Any, SegmentPlan]]] = {}

    def matchers_for(self, delimiters: Delimiters) -> dict[str, tuple[Any, SegmentPlan]]:
        """Per segment id: the segment pattern's fullmatch for these delimiters, and the plan."""
        found = self.matchers.get(delimiters)
        if found is None:
            found = self.matchers[delimiters] = _Matchers(self.plans, delimiters)
        return found

    def _char(self, use: SegmentUse) -> str:
        char = self.alphabet.get(use.tag)
        if char is None:
            char = self.alphabet[use.tag] = chr(0x4E00 + len(self.alphabet))
            self.plans[use.tag] = _compiled(use.segment)
        return char

    def _loop_body(self, loop: LoopDef) -> str:
        parts = []
        for child in loop.children:
            low = 1 if child.usage == "M" else 0
            if isinstance(child, LoopDef):
                parts.append(f"(?:{self._loop_body(child)}){{{low},{child.max}}}+")
            else:
                parts.append(f"{self._char(child)}{{{low},{child.max}}}+")
        if loop.children and isinstance(loop.children[0], SegmentUse):
            parts[0] = self._char(loop.children[0])  # a loop's first segment starts each repetition once
        return "".join(parts)

    def key(self, segments: list[Segment]) -> str:
        get = self.alphabet.get
        return "".join([get(seg.fields[0], "\x00") for seg in segments])


class _Matchers(dict[str, tuple[Any, SegmentPlan]]):
    """Segment patterns compiled the first time a set holds the segment, not all up front.

    A set definition names many segments a partner never sends; compiling them all (their code
    lists make large patterns) made the first set of a file cost as much as hundreds of others.
    """

    __slots__ = ("plans", "delimiters")

    def __init__(self, plans: dict[str, SegmentPlan], delimiters: Delimiters) -> None:
        super().__init__()
        self.plans = plans
        self.delimiters = delimiters

    def __missing__(self, tag: str) -> tuple[Any, SegmentPlan]:
        plan = self.plans[tag]
        found = self[tag] = (plan.pattern_for(self.delimiters).fullmatch, plan)
        return found


@dataclass(slots=True)
class _Frame:
    loop: LoopDef
    index: int = -1  # child last used
    counts: list[int] = field(default_factory=list)
    repetitions: int = 1
    info: _LoopIndex = field(init=False)

    def __post_init__(self) -> None:
        self.info = _compiled(self.loop)


class _SetCheck:
    """Validates one transaction set against its definition."""

    def __init__(self, ts: TransactionSet, tsdef: TransactionSetDef, schemas: SchemaSet, version: str) -> None:
        self.ts = ts
        self.tsdef = tsdef
        self.version = version
        self.schemas = schemas
        group = ts.group
        self.delimiters = group.interchange.delimiters if group else Delimiters()
        self.context = _context(ts)
        self.reported = {f.segment_position for f in ts.findings if f.level is Level.SEGMENT}

    # -- findings ---------------------------------------------------------------------------
    def segment_finding(self, seg: Segment, code: str, message: str, tag: str | None = None) -> None:
        self.ts.findings.append(
            Finding(
                level=Level.SEGMENT, code=code, message=message, segment_position=seg.position,
                segment_index=seg.index, segment_id=tag or seg.tag, byte_offset=seg.offset, offset_in_segment=0,
                **self.context,
            )
        )  # fmt: skip

    def element_finding(self, seg: Segment, fault: ElementFault) -> None:
        self.ts.findings.append(
            Finding(
                level=Level.ELEMENT, code=fault.code, message=fault.message, segment_position=seg.position,
                segment_index=seg.index, segment_id=seg.tag, element=fault.element, component=fault.component,
                repeat=fault.repeat, element_ref=fault.ref, value=fault.value, byte_offset=seg.offset,
                offset_in_segment=element_offset(seg, fault.element, self.delimiters.element),
                **self.context,
            )
        )  # fmt: skip

    # -- structure --------------------------------------------------------------------------
    def run(self) -> None:
        segments = self.ts.segments
        fast = _set_pattern(self.tsdef)
        if self.ts.complete and not self.reported and fast.pattern.fullmatch(fast.key(segments)):
            delimiters = self.delimiters
            matchers = fast.matchers_for(delimiters)
            join = delimiters.element.join
            for seg in segments:
                fields = seg.fields
                fullmatch, plan = matchers[fields[0]]
                if fullmatch(join(fields)) is None:
                    faults = plan.faults(fields, delimiters)
                elif plan.simple:
                    continue
                else:
                    faults = plan.after_match(fields, delimiters)
                if faults:
                    for fault in faults:
                        self.element_finding(seg, fault)
        else:
            self._walk()
        if self.tsdef.hierarchy is not None:
            self._hierarchy()

    def _walk(self) -> None:
        root = self.tsdef.root
        stack = [_Frame(root, counts=[0] * len(root.children))]
        delimiters = self.delimiters
        locate, move = self._locate, self._move
        for seg in self.ts.segments:
            target = locate(stack, seg.tag)
            if target is None:
                if seg.position not in self.reported:
                    self._misplaced(seg)
                continue
            faults = move(stack, target, seg).faults(seg.fields, delimiters)
            if faults:
                for fault in faults:
                    self.element_finding(seg, fault)
        if self.ts.complete:
            self._finish(stack, self.ts.segments[-1])

    @staticmethod
    def _locate(stack: list[_Frame], tag: str) -> tuple[int, int] | None:
        """(frame depth, child index) where the segment goes; child -1 starts a loop repetition."""
        for depth in range(len(stack) - 1, -1, -1):
            frame = stack[depth]
            info = frame.info
            indexes = info.index_of.get(tag)
            if indexes is not None:
                start = frame.index
                for index in indexes:
                    if index >= start:
                        # The loop's first segment again starts its next repetition.
                        return (depth, -1) if index == 0 and depth else (depth, index)
            if depth and info.tag == tag:
                return depth, -1
        return None

    def _move(self, stack: list[_Frame], target: tuple[int, int], seg: Segment) -> SegmentPlan:
        """Advance the position to the target; the plan that checks the segment's elements."""
        depth, index = target
        if depth == len(stack) - 1 and index > 0:
            frame = stack[depth]
            child = frame.loop.children[index]
            if isinstance(child, SegmentUse):  # the common case: a later segment of the same loop
                if index > frame.index + 1:
                    self._missing_between(frame, frame.index + 1, index, seg)
                frame.index = index
                frame.counts[index] += 1
                if frame.counts[index] > child.max:
                    self.segment_finding(
                        seg, "5", f"{child.tag} appears {frame.counts[index]} times here; at most {child.max}"
                    )
                return frame.info.plans[index]  # type: ignore[no-any-return]
        while len(stack) - 1 > depth:
            self._leave(stack.pop(), seg)
        frame = stack[depth]
        if index == -1:  # a new repetition of the current loop
            self._leave(frame, seg, upto=len(frame.loop.children))
            frame.repetitions += 1
            frame.counts = [0] * len(frame.loop.children)
            frame.index = -1
            if frame.repetitions > frame.loop.max:
                self.segment_finding(
                    seg, "4", f"loop {frame.loop.id} occurs {frame.repetitions} times; at most {frame.loop.max}"
                )
            index = 0
        else:
            self._missing_between(frame, frame.index + 1, index, seg)
        frame.index = index
        child = frame.loop.children[index]
        frame.counts[index] += 1
        while isinstance(child, LoopDef):
            if frame.counts[index] > child.max:
                self.segment_finding(
                    seg, "4", f"loop {child.id} occurs {frame.counts[index]} times; at most {child.max}"
                )
            frame = _Frame(child, index=0, counts=[0] * len(child.children))
            frame.counts[0] = 1
            stack.append(frame)
            index = 0
            child = child.children[0]
        if frame.counts[index] > child.max:
            self.segment_finding(seg, "5", f"{child.tag} appears {frame.counts[index]} times here; at most {child.max}")
        return frame.info.plans[index]  # type: ignore[no-any-return]

    def _leave(self, frame: _Frame, seg: Segment, upto: int | None = None) -> None:
        """A loop repetition ends: its mandatory segments and loops that never came are missing."""
        self._missing_between(frame, frame.index + 1, len(frame.loop.children) if upto is None else upto, seg)

    def _missing_between(self, frame: _Frame, start: int, stop: int, seg: Segment) -> None:
        children = frame.loop.children
        for index in frame.info.mandatory:
            if index < start or index >= stop:
                continue
            child = children[index]
            if frame.counts[index] == 0:
                what = f"loop {child.id}" if isinstance(child, LoopDef) else f"segment {child.tag}"
                self.segment_finding(
                    seg, "3", f"mandatory {what} is missing before {seg.tag} (in {frame.loop.id})", tag=child.tag
                )

    def _finish(self, stack: list[_Frame], last: Segment) -> None:
        while len(stack) > 1:
            self._leave(stack.pop(), last)
        self._leave(stack[0], last)

    def _misplaced(self, seg: Segment) -> None:
        tag = seg.tag
        if tag in self.tsdef.tags:
            self.segment_finding(seg, "7", f"segment {tag} is not in its proper place in the {self.tsdef.id}")
        elif self.schemas.segment(self.version, tag) is not None:
            self.segment_finding(seg, "6", f"segment {tag} is not part of the {self.tsdef.id} transaction set")
        else:
            self.segment_finding(seg, "1", f"segment {tag} is not a segment X12 defines")

    # -- hierarchy --------------------------------------------------------------------------
    def _hierarchy(self) -> None:
        rule = self.tsdef.hierarchy
        assert rule is not None
        code = rule.default
        for seg in self.ts.segments:
            if seg.tag == rule.segment:
                code = seg.element(rule.element) or rule.default
                break
        order = rule.orders.get(code) or rule.orders.get(rule.default, ())
        rank = {level: i for i, level in enumerate(order)}
        levels: dict[str, str] = {}
        expected = 1
        for seg in self.ts.segments:
            if seg.tag != "HL":
                continue
            number, parent, level = seg.element(1), seg.element(2), seg.element(3)
            if number != str(expected):
                self.element_finding(
                    seg, ElementFault("7", 1, f"HL01 is {number!r}; the next hierarchical id should be {expected}",
                                      value=number, ref="628"),
                )  # fmt: skip
            expected = int(number) + 1 if is_digits(number) else expected + 1
            if level and order and level not in rank:
                self.element_finding(
                    seg, ElementFault("7", 3, f"HL03 {level!r} is not a level of structure {code} ({', '.join(order)})",
                                      value=level, ref="735"),
                )  # fmt: skip
            if parent:
                if parent not in levels:
                    self.element_finding(
                        seg, ElementFault("7", 2, f"HL02 {parent!r} names no earlier HL", value=parent, ref="734")
                    )
                elif (
                    level in rank
                    and levels[parent] in rank
                    and rank[level]
                    != rank[levels[parent]]
                    + 1
                    + sum(1 for skipped in order[rank[levels[parent]] + 1 : rank[level]] if skipped in rule.optional)
                ):
                    self.element_finding(
                        seg,
                        ElementFault(
                            "7", 3,
                            f"HL03 {level!r} cannot sit directly under {levels[parent]!r} in structure {code} "
                            f"({', '.join(order)})",
                            value=level, ref="735",
                        ),
                    )  # fmt: skip
            elif level in rank and order and rank[level] != 0:
                self.element_finding(
                    seg, ElementFault("7", 3, f"HL03 {level!r} has no parent; the top level of structure {code} is "
                                      f"{order[0]!r}", value=level, ref="735"),
                )  # fmt: skip
            levels[number] = level


class _Where(TypedDict):
    file: str | None
    interchange: str | None
    group: str | None
    transaction_set: str | None
    set_id: str | None


def _context(ts: TransactionSet) -> _Where:
    group = ts.group
    return {
        "file": None,
        "interchange": group.interchange.control_number if group else None,
        "group": group.control_number if group else None,
        "transaction_set": ts.control_number,
        "set_id": ts.id,
    }


def validate_set(ts: TransactionSet, schemas: SchemaSet, file: str | None = None) -> None:
    """Add the set's schema findings to ``ts.findings``."""
    group = ts.group
    if group is None or not group.supported:
        return
    tsdef = schemas.transaction_set(group.version, ts.id)
    where = _context(ts)
    where["file"] = file
    if tsdef is None:
        if not any(f.level is Level.SET and f.code == "6" for f in ts.findings):
            st = ts.segments[0]
            ts.findings.append(
                Finding(
                    level=Level.SET, code="1", element=1, segment_id="ST", segment_position=1, byte_offset=st.offset,
                    message=f"transaction set {ts.id} is not supported in version {group.version}",
                    **where,
                )
            )  # fmt: skip
        return
    before = len(ts.findings)
    _SetCheck(ts, tsdef, schemas, group.version).run()
    for finding in ts.findings[before:]:
        finding.file = file
    if any(f.level in (Level.SEGMENT, Level.ELEMENT) and f.is_error for f in ts.findings) and not any(
        f.level is Level.SET and f.code == "5" for f in ts.findings
    ):
        ts.findings.append(
            Finding(
                level=Level.SET, code="5", segment_id="ST", segment_position=1, byte_offset=ts.segments[0].offset,
                message="one or more segments of the set are in error", **where,
            )
        )  # fmt: skip


def validate_group(group: Group, schemas: SchemaSet, file: str | None = None) -> None:
    """Check GS values and whether its version (GS08) is one we hold schemas for."""
    gs = group.gs
    ich = group.interchange
    base = _Where(
        file=file, interchange=ich.control_number, group=group.control_number, transaction_set=None, set_id=None
    )
    if not schemas.knows_version(group.version):
        group.supported = False
        group.findings.append(
            Finding(
                level=Level.GROUP, code="2", segment_id="GS", element=8, byte_offset=gs.offset,
                offset_in_segment=element_offset(gs, 8, ich.delimiters.element),
                message=f"GS08 version {group.version!r} is not one the engine has schemas for", **base,
            )
        )  # fmt: skip
    sdef = next((d.segments.get("GS") for d in schemas.dictionaries.values() if "GS" in d.segments), None)
    if sdef is None:
        return

    def report(fault: ElementFault) -> None:
        if fault.element == 6 and fault.code in ("4", "5", "6"):
            return  # GS06 syntax is AK905 6, reported by the reader
        ich.findings.append(
            Finding(
                level=Level.INTERCHANGE, code="024", segment_id="GS", element=fault.element, value=fault.value,
                byte_offset=gs.offset, offset_in_segment=element_offset(gs, fault.element, ich.delimiters.element),
                message=f"invalid GS: {fault.message}", **base,
            )
        )  # fmt: skip

    check_segment(gs.fields, sdef, ich.delimiters, report)


def validate_interchange_header(ich_event: InterchangeStart, schemas: SchemaSet, file: str | None = None) -> None:
    """Check ISA values (dates, codes, qualifiers) with the TA105 code of each field."""
    ich = ich_event.interchange
    isa = ich.isa
    if len(isa.fields) != 17:
        return  # the reader could not split the header; it has said why
    sdef = next((d.segments.get("ISA") for d in schemas.dictionaries.values() if "ISA" in d.segments), None)
    if sdef is None:
        return
    widths_reported = {f.element for f in ich.findings}

    def report(fault: ElementFault) -> None:
        if fault.element in widths_reported or fault.code in ("4", "5") or fault.element > 16:
            return
        if fault.element == 11 and ich.delimiters.repetition is not None:
            return  # ISA11 is the repetition separator from 00402 on
        ich.findings.append(
            Finding(
                level=Level.INTERCHANGE, code=ISA_FIELD_CODES[fault.element - 1], segment_id="ISA",
                element=fault.element, value=fault.value, byte_offset=isa.offset,
                offset_in_segment=element_offset(isa, fault.element, ich.delimiters.element), file=file,
                interchange=ich.control_number, message=fault.message,
                severity=Severity.ERROR,
            )
        )  # fmt: skip

    check_segment(isa.fields, sdef, _NO_DELIMITERS, report)


def validated_events(
    events: Iterable[Event], schemas: SchemaSet | None = None, file: str | None = None
) -> Iterator[Event]:
    """Pass the reader's events through, with schema findings added as each one goes by."""
    schemas = schemas or default_schemas()
    file = file or getattr(events, "name", None)
    for event in events:
        if isinstance(event, InterchangeStart):
            validate_interchange_header(event, schemas, file)
        elif isinstance(event, GroupStart):
            validate_group(event.group, schemas, file)
        elif isinstance(event, TransactionSet):
            validate_set(event, schemas, file)
        yield event
