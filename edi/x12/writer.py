"""Writing X12: interchange trees to bytes, and new interchanges built from lists of segments.

A tree read by ``edi.x12.reader`` is written back exactly as read: the same fields, counts and
control numbers, so a file in canonical form (``~`` and a line break after every segment) comes
back byte for byte. Writing with other delimiters rewrites the ISA (ISA11, ISA16) and the
component and repetition separators inside element values.

``build_interchange`` makes a new document: it pads the ISA, takes control numbers from a
``ControlNumberProvider``, counts SE01, GE01 and IEA01, and trims trailing empty elements. It
writes interchange acknowledgements (TA1) too, alone or ahead of the groups, and each group may
name its own application sender and receiver (GS02 / GS03).

X12 has no release (escape) character, so a value that contains a delimiter cannot be written
at all; the writer refuses it with a ``WriteError`` naming the segment and element. Each
segment is checked at once (one search for any delimiter character, built once per set of
delimiters); the values are looked at one by one only to name the one at fault, so a refusal
reads exactly as if every value had been checked in turn.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from edi.text import is_digits
from edi.x12.control_numbers import (
    ControlNumberProvider,
    format_group_number,
    format_interchange_number,
    format_set_number,
    interchange_party,
)
from edi.x12.delimiters import ISA_WIDTHS, Delimiters, repetition_allowed
from edi.x12.structures import Group, Interchange, Segment, TransactionSet

#: The separators our canonical files use (fixtures/README.md); 00401 has no repetition separator.
CANONICAL_DELIMITERS = Delimiters(element="*", component=">", segment="~", repetition="^")
#: What may follow a segment terminator: nothing, or one line break (the reader ignores these).
LINE_BREAKS = ("", "\n", "\r\n", "\r")
ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
#: ISA11 up to 00401: the interchange control standards identifier, 'U' (U.S. EDI community).
STANDARDS_IDENTIFIER = "U"
#: GS07: responsible agency code, X = Accredited Standards Committee X12.
RESPONSIBLE_AGENCY = "X"
#: ISA15: P production data, T test data.
USAGE_CODES = ("P", "T")
#: ISA01 / ISA03: 00 = no authorization / security information present (ISA02 / ISA04 blank).
NO_INFORMATION = "00"

#: An element given to the builder: a simple value, or the components of a composite.
ElementValue = str | Sequence[str]
#: A segment given to the builder: the segment id, then element 1, element 2, ...
SegmentFields = Sequence[ElementValue]
#: TA101..TA105: control number, date, time, acknowledgment code, note code.
TA1_ELEMENTS = 5


class GroupSpec(NamedTuple):
    """One functional group for ``build_interchange``.

    GS01 functional id, GS08 version, the sets, and GS02 / GS03 when this group names its own
    application sender and receiver. A plain ``(functional_id, version, sets)`` tuple is the same
    group with the defaults.
    """

    functional_id: str
    version: str
    sets: Sequence[Sequence[SegmentFields]]
    sender: str | None = None
    receiver: str | None = None


class WriteError(ValueError):
    """A value that cannot be written, located like a finding: segment id, element, component."""

    def __init__(
        self,
        message: str,
        *,
        segment_id: str,
        element: int | None = None,
        component: int | None = None,
        location: str = "",
    ) -> None:
        super().__init__(f"{message} — {location}" if location else message)
        self.segment_id = segment_id
        self.element = element
        self.component = component
        self.location = location


# -- writing trees ---------------------------------------------------------------------------


def write_interchange(ich: Interchange, delimiters: Delimiters | None = None, *, line_break: str = "\n") -> bytes:
    """Serialize one interchange; ``delimiters=None`` keeps the ones it was read with."""
    return b"".join(_InterchangeWriter(ich, delimiters, line_break).segments())


def write_interchanges(
    interchanges: Iterable[Interchange], delimiters: Delimiters | None = None, *, line_break: str = "\n"
) -> bytes:
    """Serialize interchanges one after another (each keeps its own delimiters when none are given)."""
    return b"".join(write_interchange(ich, delimiters, line_break=line_break) for ich in interchanges)


def tree_segments(ich: Interchange) -> Iterator[Segment]:
    """The segments of a tree in file order: ISA, its TA1s, then each GS, its sets, GE, then IEA."""
    yield ich.isa
    yield from ich.ta1s
    for group in ich.groups:
        yield group.gs
        for ts in group.sets:
            yield from ts.segments
        if group.ge is not None:
            yield group.ge
    if ich.iea is not None:
        yield ich.iea


class _InterchangeWriter:
    def __init__(self, ich: Interchange, delimiters: Delimiters | None, line_break: str) -> None:
        self.ich = ich
        self.repeats = repetition_allowed(ich.version)
        self.source = _for_version(ich.delimiters, self.repeats, ich.delimiters.repetition)
        self.target = _for_version(delimiters or ich.delimiters, self.repeats, self.source.repetition)
        _check_delimiters(self.target)
        if line_break not in LINE_BREAKS:
            raise ValueError(f"line_break must be one of {LINE_BREAKS!r}, not {line_break!r}")
        # Found once per interchange: every value written is checked against them.
        self.roles = self.target.by_character()
        self.pattern = self.target.pattern()
        clash = [char for char in line_break if char in self.roles]
        if clash:
            raise ValueError(
                f"line_break {line_break!r} contains the {self.roles[clash[0]]} separator; "
                "write with line_break='' instead"
            )
        self.ending = self.target.segment + line_break
        self.same = self.target == self.source
        self.group: str | None = None
        self.set: str | None = None

    def segments(self) -> Iterator[bytes]:
        ich = self.ich
        yield self._encode(self._isa(ich.isa), ich.isa)
        for ta1 in ich.ta1s:
            yield self._segment(ta1)
        for group in ich.groups:
            self.group = group.control_number
            yield self._segment(group.gs)
            for ts in group.sets:
                self.set = ts.control_number
                for seg in ts.segments:
                    yield self._segment(seg)
                self.set = None
            if group.ge is not None:
                yield self._segment(group.ge)
            self.group = None
        if ich.iea is not None:
            yield self._segment(ich.iea)

    def _isa(self, isa: Segment) -> str:
        fields = list(isa.fields)
        if len(fields) != 17 or fields[0] != "ISA":
            raise WriteError(
                f"the ISA has {len(fields) - 1} elements where it must have 16",
                segment_id="ISA",
                location=self._where(isa),
            )
        if self.repeats:
            assert self.target.repetition is not None  # _for_version supplies one
            fields[11] = self.target.repetition
        fields[16] = self.target.component
        # ISA16 is the component separator itself and ISA11 may be the repetition separator.
        for n, value in enumerate(fields[:16]):
            if n == 11 and self.repeats:
                continue
            self._refuse_delimiters(value, isa, n)
        return self.target.element.join(fields)

    def _segment(self, seg: Segment) -> bytes:
        fields = seg.fields
        target = self.target
        if self.pattern.search(fields[0]) is not None:
            self._refuse_delimiters(fields[0], seg, 0)
        if self.same:
            text = target.element.join(fields)
            # One look at the whole segment: no value holds an element separator exactly when the
            # joined text has one per join, and none holds a segment terminator.
            if text.count(target.element) != len(fields) - 1 or target.segment in text:
                self._refuse_structure(seg)
        else:
            text = target.element.join([fields[0], *(self._translate(seg, n) for n in range(1, len(fields)))])
        return self._encode(text, seg)

    def _translate(self, seg: Segment, n: int) -> str:
        """Element n with the source's component/repetition separators replaced by the target's."""
        value = seg.fields[n]
        source, target = self.source, self.target
        repeats = value.split(source.repetition) if source.repetition is not None else [value]
        written: list[str] = []
        for repeat in repeats:
            components = repeat.split(source.component)
            for c, component in enumerate(components, start=1):
                self._refuse_delimiters(component, seg, n, c if len(components) > 1 else None)
            written.append(target.component.join(components))
        if len(written) > 1:
            assert target.repetition is not None  # same version as the source, which has one
            return target.repetition.join(written)
        return written[0]

    def _refuse_structure(self, seg: Segment) -> None:
        """Refuse the first element holding an element separator or segment terminator."""
        target = self.target
        # The component and repetition separators inside a value are its structure, kept as is.
        for n in range(1, len(seg.fields)):
            value = seg.fields[n]
            if target.element in value or target.segment in value:
                self._refuse_delimiters(value, seg, n, structural=False)

    def _refuse_delimiters(
        self, value: str, seg: Segment, n: int, component: int | None = None, *, structural: bool = True
    ) -> None:
        if self.pattern.search(value) is None:
            return
        roles = self.roles
        if not structural:
            roles = {char: role for char, role in roles.items() if role in ("element", "segment")}
        for char, role in roles.items():
            if char in value:
                ref = _reference(seg.tag if n else value, n, component)
                raise WriteError(
                    f"{ref} {value!r} contains the {role} separator {char!r}; X12 has no release "
                    "character, so it cannot be written with these delimiters",
                    segment_id=seg.tag if n else value,
                    element=n or None,
                    component=component,
                    location=self._where(seg),
                )

    def _encode(self, text: str, seg: Segment) -> bytes:
        try:
            return (text + self.ending).encode("latin-1")
        except UnicodeEncodeError:
            for n, value in enumerate(seg.fields):
                try:
                    value.encode("latin-1")
                except UnicodeEncodeError as exc:
                    raise WriteError(
                        f"{_reference(seg.tag, n, None)} {value!r} has a character outside Latin-1 "
                        f"({value[exc.start]!r})",
                        segment_id=seg.tag,
                        element=n or None,
                        location=self._where(seg),
                    ) from None
            raise  # pragma: no cover - a delimiter outside Latin-1 is refused by _check_delimiters

    def _where(self, seg: Segment) -> str:
        parts = [f"ISA {self.ich.control_number}"]
        if self.group is not None:
            parts.append(f"GS {self.group}")
        if self.set is not None:
            parts.append(f"ST {self.set}")
            if seg.position:
                parts.append(f"segment {seg.position}")
        elif seg.index:
            parts.append(f"segment {seg.index} of the interchange")
        return " / ".join(parts)


def _for_version(delimiters: Delimiters, repeats: bool, fallback: str | None) -> Delimiters:
    """Drop the repetition separator where the version has none; supply one where it must."""
    if not repeats:
        return replace(delimiters, repetition=None) if delimiters.repetition is not None else delimiters
    if delimiters.repetition is None:
        repetition = fallback or CANONICAL_DELIMITERS.repetition
        return replace(delimiters, repetition=repetition)
    return delimiters


def _check_delimiters(delimiters: Delimiters) -> None:
    problems = delimiters.collisions()
    if problems:
        raise ValueError("unusable delimiters: " + "; ".join(problem for _, problem in problems))
    for char, role in delimiters.by_character().items():
        if ord(char) > 0xFF:
            raise ValueError(f"the {role} separator {char!r} is outside Latin-1")


def _reference(tag: str, n: int, component: int | None) -> str:
    """BEG03, BEG03-2 (component 2), or 'segment id' for element 0."""
    if n == 0:
        return "segment id"
    ref = f"{tag}{n:02d}"
    return f"{ref}-{component}" if component is not None else ref


# -- building new interchanges ---------------------------------------------------------------


def build_interchange(
    sender: tuple[str, str],
    receiver: tuple[str, str],
    groups: Sequence[GroupSpec | tuple[str, str, Sequence[Sequence[SegmentFields]]]],
    *,
    control_numbers: ControlNumberProvider,
    ta1s: Sequence[SegmentFields] = (),
    usage: str = "P",
    ack_requested: bool = False,
    now: datetime | None = None,
    delimiters: Delimiters | None = None,
    interchange_version: str | None = None,
    group_sender: str | None = None,
    group_receiver: str | None = None,
) -> Interchange:
    """Make a new interchange tree ready for ``write_interchange``.

    ``sender`` and ``receiver`` are (ISA05 qualifier, ISA06 id) and (ISA07, ISA08). Each group is
    a ``GroupSpec`` (or a ``(GS01, GS08, sets)`` tuple); each set is a list of segments, each
    segment a list ``[id, element 1, ...]`` whose elements are strings or, for a composite, lists
    of components. A set starts with ``['ST', set id]`` (ST03 may follow, ST02 is left empty) and
    has no SE: the builder assigns ST02, GS06 and ISA13 and writes SE, GE and IEA with their counts.
    GS02/GS03 are the group's own when it names them, else ``group_sender`` / ``group_receiver``,
    else the ISA sender and receiver ids.

    ``ta1s`` are interchange acknowledgements, ``['TA1', TA101, .., TA105]``, written right after
    the ISA (X12.5). An interchange of TA1s alone has no groups; it then needs
    ``interchange_version``, there being no GS08 to take ISA12 from.
    """
    specs = [GroupSpec(*group) for group in groups]
    if not specs and not ta1s:
        raise ValueError("an interchange needs at least one functional group or a TA1")
    version = interchange_version or _interchange_version(specs)
    if len(version) != 5 or not is_digits(version):
        raise ValueError(f"ISA12 {version!r} is not a five-digit interchange control version")
    if usage not in USAGE_CODES:
        raise ValueError(f"ISA15 {usage!r} is not a usage indicator (P production, T test)")
    repeats = repetition_allowed(version)
    delims = _for_version(delimiters or CANONICAL_DELIMITERS, repeats, None)
    _check_delimiters(delims)
    moment = now or datetime.now()
    # Check every value before drawing a control number, so a refused document uses none.
    isa_values = [
        NO_INFORMATION,
        " " * ISA_WIDTHS[1],
        NO_INFORMATION,
        " " * ISA_WIDTHS[3],
        *_party("ISA05", "ISA06", sender),
        *_party("ISA07", "ISA08", receiver),
        moment.strftime("%y%m%d"),
        moment.strftime("%H%M"),
        "",  # ISA11, below
        version,
        "",  # ISA13, drawn below
        "1" if ack_requested else "0",
        usage,
        delims.component,
    ]
    isa_values[10] = delims.repetition if delims.repetition is not None else STANDARDS_IDENTIFIER
    check = _ValueCheck(delims)
    # ISA11 and ISA16 are separators themselves; ISA13 is drawn below.
    _refuse_values(isa_values, check, "ISA", skip=(11, 13, 16))
    prepared_ta1s = [_prepare_ta1(fields, check) for fields in ta1s]
    default_sender = group_sender if group_sender is not None else sender[1].strip()
    default_receiver = group_receiver if group_receiver is not None else receiver[1].strip()
    prepared: list[tuple[list[str], list[list[list[str]]]]] = []
    for spec in specs:
        functional_id = spec.functional_id
        if len(functional_id) != 2:
            raise ValueError(f"GS01 {functional_id!r} must be a two-character functional identifier code")
        if not spec.sets:
            raise ValueError(f"functional group {functional_id} needs at least one transaction set")
        app_sender = spec.sender if spec.sender is not None else default_sender
        app_receiver = spec.receiver if spec.receiver is not None else default_receiver
        for name, value in (("GS02", app_sender), ("GS03", app_receiver)):
            if not 2 <= len(value) <= 15:
                raise ValueError(f"{name} {value!r} must be 2 to 15 characters")
        gs = ["GS", functional_id, app_sender, app_receiver, moment.strftime("%Y%m%d"), moment.strftime("%H%M"), ""]
        gs += [RESPONSIBLE_AGENCY, spec.version]
        _refuse_values(gs[1:], check, "GS")
        prepared.append((gs, [_prepare_set(ts, check) for ts in spec.sets]))

    isa13 = format_interchange_number(
        control_numbers.next_interchange(interchange_party(*sender), interchange_party(*receiver))
    )
    isa_values[12] = isa13
    isa = Segment(["ISA", *isa_values], index=1)
    ich = Interchange(isa=isa, delimiters=delims, offset=0)
    index = 1
    for ta1_fields in prepared_ta1s:
        index += 1
        ich.ta1s.append(Segment(ta1_fields, index=index))
    used: set[str] = set()
    for gs_fields, sets_fields in prepared:
        app_sender, app_receiver = gs_fields[2], gs_fields[3]
        gs06 = format_group_number(control_numbers.next_group(app_sender, app_receiver))
        while gs06 in used:
            # GS06 must be unique within the interchange (AK905 19), and the provider counts per
            # GS02 / GS03, so groups between other applications may be handed the same number.
            gs06 = format_group_number(control_numbers.next_group(app_sender, app_receiver))
        used.add(gs06)
        gs_fields[6] = gs06
        index += 1
        group = Group(interchange=ich, gs=Segment(gs_fields, index=index))
        for set_fields in sets_fields:
            st02 = format_set_number(control_numbers.next_set(app_sender, app_receiver))
            set_fields[0][2] = st02
            set_fields.append(["SE", str(len(set_fields) + 1), st02])
            segments = [
                Segment(fields, 0, index + position, position) for position, fields in enumerate(set_fields, start=1)
            ]
            index += len(segments)
            group.sets.append(TransactionSet(group=group, segments=segments, segment_count=len(segments)))
        group.set_count = len(group.sets)
        index += 1
        group.ge = Segment(["GE", str(group.set_count), gs06], index=index)
        ich.groups.append(group)
    ich.group_count = len(ich.groups)
    ich.iea = Segment(["IEA", str(ich.group_count), isa13], index=index + 1)
    return ich


def _interchange_version(groups: Sequence[GroupSpec]) -> str:
    """ISA12 from GS08: the first five digits (004010 -> 00401, 005010X222A1 -> 00501)."""
    versions = sorted({group.version[:5] for group in groups})
    if not versions:
        raise ValueError("an interchange without groups has no GS08 to take ISA12 from; pass interchange_version")
    if len(versions) != 1:
        raise ValueError(f"the groups have versions {versions}; say which ISA12 to use with interchange_version")
    return versions[0]


def _party(qualifier_ref: str, id_ref: str, party: tuple[str, str]) -> tuple[str, str]:
    qualifier, identifier = party
    if len(qualifier) != 2:
        raise ValueError(f"{qualifier_ref} {qualifier!r} must be a two-character interchange id qualifier")
    identifier = identifier.strip()
    if not 1 <= len(identifier) <= 15:
        raise ValueError(f"{id_ref} {identifier!r} must be 1 to 15 characters (it is space-padded to 15)")
    return qualifier, identifier.ljust(15)


class _ValueCheck:
    """The delimiters of the interchange being built, with their roles and regex found once."""

    __slots__ = ("component", "roles", "pattern")

    def __init__(self, delimiters: Delimiters) -> None:
        self.component = delimiters.component
        self.roles = delimiters.by_character()
        self.pattern = delimiters.pattern()


def _prepare_ta1(fields: SegmentFields, check: _ValueCheck) -> list[str]:
    """Check and flatten one TA1: the segment id, then TA101..TA105 at most."""
    if not fields or fields[0] != "TA1":
        raise ValueError(f"an interchange acknowledgement must be a TA1 segment, e.g. ['TA1', ...], not {fields!r}")
    if len(fields) - 1 > TA1_ELEMENTS:
        raise ValueError(f"a TA1 has {TA1_ELEMENTS} elements (TA101..TA105); {len(fields) - 1} were given")
    return _flatten(fields, check)


def _prepare_set(segments: Sequence[SegmentFields], check: _ValueCheck) -> list[list[str]]:
    """Check and flatten one set's segments; ST02 is left empty for the control number."""
    if not segments or not segments[0] or segments[0][0] != "ST":
        raise ValueError("a transaction set must start with an ST segment, e.g. ['ST', '850']")
    st = _flatten(segments[0], check)
    if len(st) < 2:
        raise ValueError("ST01 (transaction set identifier code) is missing")
    if len(st) > 2 and st[2]:
        raise ValueError(f"ST02 {st[2]!r} is given, but the control number provider assigns it; leave it empty")
    st[2:3] = [""]
    prepared = [st]
    for position, fields in enumerate(segments[1:], start=2):
        if not fields or not isinstance(fields[0], str):
            raise ValueError(f"segment {position} of set {st[1]} has no segment id")
        tag = fields[0]
        if tag in ENVELOPE_TAGS:
            raise ValueError(f"segment {position} of set {st[1]} is {tag}; the builder writes the envelopes")
        if _SEGMENT_ID.match(tag) is None:
            raise ValueError(
                f"segment {position} of set {st[1]}: {tag!r} is not a segment id (A-Z then 1-2 of A-Z, 0-9)"
            )
        prepared.append(_flatten(fields, check))
    return prepared


def _flatten(fields: SegmentFields, check: _ValueCheck) -> list[str]:
    """Join composites, refuse delimiters in values, trim trailing empty elements and components."""
    tag = fields[0]
    assert isinstance(tag, str)
    values = list(fields[1:])
    try:
        text = "".join(values)  # type: ignore[arg-type]  # a composite or non-str fails: checked below
    except TypeError:
        return _flatten_each(tag, fields, check)
    # Simple values only, the usual case: one check of the whole segment; the detailed check
    # of each value runs only to say which one is at fault.
    if check.pattern.search(text) is not None or not _latin_1(text):
        return _flatten_each(tag, fields, check)
    while values and not values[-1]:
        values.pop()
    return [tag, *values]  # type: ignore[list-item]  # all str: they joined


def _flatten_each(tag: str, fields: SegmentFields, check: _ValueCheck) -> list[str]:
    out = [tag]
    for n, value in enumerate(fields[1:], start=1):
        if isinstance(value, str):
            _refuse(value, check, tag, n)
            out.append(value)
            continue
        components = list(value)
        for c, component in enumerate(components, start=1):
            _refuse(component, check, tag, n, c)
        while components and not components[-1]:
            components.pop()
        out.append(check.component.join(components))
    while len(out) > 1 and not out[-1]:
        out.pop()
    return out


def _latin_1(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_values(values: Sequence[str], check: _ValueCheck, tag: str, skip: Container[int] = ()) -> None:
    """Refuse the first value (element 1, 2, ...) that cannot be written, checking all at once first."""
    try:
        text = "".join(value for n, value in enumerate(values, start=1) if n not in skip)
    except TypeError:
        text = None
    if text is not None and check.pattern.search(text) is None and _latin_1(text):
        return
    for n, value in enumerate(values, start=1):
        if n not in skip:
            _refuse(value, check, tag, n)


def _refuse(value: str, check: _ValueCheck, tag: str, n: int, component: int | None = None) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{_reference(tag, n, component)} must be a str, not {type(value).__name__}")
    if check.pattern.search(value) is None and _latin_1(value):
        return
    for char, role in check.roles.items():
        if char in value:
            raise WriteError(
                f"{_reference(tag, n, component)} {value!r} contains the {role} separator {char!r}; "
                "X12 has no release character, so it cannot be written with these delimiters",
                segment_id=tag,
                element=n,
                component=component,
            )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise WriteError(
            f"{_reference(tag, n, component)} {value!r} has a character outside Latin-1 ({value[exc.start]!r})",
            segment_id=tag,
            element=n,
            component=component,
        ) from None
