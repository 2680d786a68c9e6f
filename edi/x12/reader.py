"""Streaming X12 reader: bytes in, envelope events and transaction sets out, in bounded memory.

The file is read in chunks and decoded as Latin-1 so that a character offset is a byte offset:
every segment keeps the offset of its first byte. Only the transaction set being read is held in
memory (and the whole tree when ``keep_tree`` is asked for). Envelope faults (counts, control
numbers, missing trailers) are found here; schema validation is ``edi.x12.validate``'s job.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO

from edi.findings import Finding, Level, Severity
from edi.text import is_digits
from edi.x12.delimiters import Delimiters
from edi.x12.isa import IsaHeader, parse_isa
from edi.x12.structures import (
    Event,
    Group,
    GroupEnd,
    GroupStart,
    Interchange,
    InterchangeEnd,
    InterchangeStart,
    Segment,
    TransactionSet,
)

CHUNK_SIZE = 1 << 20
#: Longest segment kept whole; a longer one is cut here and reported (no segment we read is near).
MAX_SEGMENT_LENGTH = 1 << 20
ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
LINE_BREAKS_AFTER_TERMINATOR = ("\r\n", "\n", "\r")  # one is tolerated silently after a terminator
WHITESPACE = " \t\r\n\f\v"
BOM = "\xef\xbb\xbf"  # UTF-8 byte order mark, as Latin-1 characters
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_CONTROL_NUMBER = re.compile(r"[0-9A-Za-z]{4,9}\Z")
_NUMERIC = re.compile(r"[0-9]{1,9}\Z")
_BODY_TAGS: set[str] = set()  # well-formed segment ids already seen, other than the envelope's

Source = str | os.PathLike[str] | bytes | BinaryIO


class X12Reader:
    """Iterate a file's events: InterchangeStart, GroupStart, TransactionSet, GroupEnd, InterchangeEnd.

    ``findings`` holds what belongs to the file rather than to an envelope (a BOM, junk between
    interchanges). Envelope findings are on the Interchange, Group and TransactionSet objects.
    """

    def __init__(
        self,
        source: Source,
        *,
        name: str | None = None,
        keep_tree: bool = False,
        chunk_size: int = CHUNK_SIZE,
        max_segment_length: int = MAX_SEGMENT_LENGTH,
    ) -> None:
        if isinstance(source, bytes):
            self._stream: BinaryIO = io.BytesIO(source)
            self.name = name
        elif isinstance(source, (str, os.PathLike)):
            self._stream = open(source, "rb")  # noqa: SIM115 - closed when iteration ends
            self.name = name or os.fspath(source)
        else:
            self._stream = source
            self.name = name or getattr(source, "name", None)
        self.keep_tree = keep_tree
        self.chunk_size = chunk_size
        self.max_segment_length = max_segment_length
        self.findings: list[Finding] = []
        self.interchanges: list[Interchange] = []  # only with keep_tree
        self._ich: Interchange | None = None
        self._grp: Group | None = None
        self._ts: TransactionSet | None = None
        self._index = 0
        self._group_ids: set[str] = set()
        self._set_ids: set[str] = set()
        self._seen_interchanges: set[str] = set()
        self._junk_end = -1

    # -- reading ---------------------------------------------------------------------------
    def _read(self) -> str:
        return self._stream.read(self.chunk_size).decode("latin-1")

    def __iter__(self) -> Iterator[Event]:
        try:
            yield from self._events()
        finally:
            self._stream.close()

    def _events(self) -> Iterator[Event]:
        buf = self._read()
        base = 0
        eof = not buf
        after_bare_terminator = False
        if buf.startswith(BOM):
            self._file_finding("bom", "the file starts with a UTF-8 byte order mark; ignored", 0, Severity.WARNING)
            buf, base = buf[3:], 3
        while True:
            # Header mode: find the next ISA, skipping whitespace and junk.
            buf, base, eof = yield from self._seek_isa(buf, base, eof, after_bare_terminator)
            after_bare_terminator = False
            if not buf:
                return
            while True:
                header = parse_isa(buf, 0, eof)
                if header is not None:
                    break
                more = self._read()
                eof = not more
                buf += more
            yield from self._open_interchange(header, base)
            if header.delimiters is None:
                # Unusable delimiters: nothing in this interchange can be read. Look for the next.
                yield from self._close_interchange(None, readable=False)
                buf, base = buf[3:], base + 3
                continue
            delims = header.delimiters
            buf, base = buf[header.length :], base + header.length
            # Segment mode.
            term, esep = delims.segment, delims.element
            after = buf[:2]
            line_break = next((b for b in ("\r\n", "\n", "\r") if after.startswith(b) and b != term), "")
            token = term + line_break
            buf, base = buf[len(line_break) :], base + len(line_break)
            body_tags = _BODY_TAGS
            restart = False
            follows = len(token)  # what the start of ``buf`` follows: a bare terminator (1) or the token
            while not restart:
                # Split on terminator + line break when every terminator in the chunk has one.
                pieces = buf.split(token)
                step = len(token)
                if line_break and buf.count(term) != len(pieces) - 1:
                    pieces = buf.split(term)
                    step = 1
                tail = pieces.pop()
                i = 0
                if not pieces:
                    step = follows
                index = self._index
                ts = self._ts
                segs = ts.segments if ts is not None else None
                for piece in pieces:
                    start = i
                    i += len(piece) + step
                    if not piece or piece[0] <= " ":
                        stripped = piece.lstrip(WHITESPACE)
                        lead = len(piece) - len(stripped)
                        if lead:
                            after_bare_terminator = step == 1 or (start == 0 and follows == 1)
                            self._whitespace_finding(piece[:lead], base + start, after_bare_terminator)
                        if not stripped:
                            if not piece:
                                self._empty_segment(base + start)
                            continue
                        piece = stripped
                        start += lead
                    fields = piece.split(esep)
                    tag = fields[0]
                    index += 1
                    if tag in body_tags and segs is not None:  # the hot path: one lookup
                        segs.append(Segment(fields, base + start, index, len(segs) + 1))
                        continue
                    if tag[:3] == "ISA":
                        tag = "ISA"  # another interchange, perhaps with other delimiters
                    elif tag not in ENVELOPE_TAGS:
                        well_formed = _SEGMENT_ID.match(tag) is not None
                        if well_formed:
                            body_tags.add(tag)
                        if segs is not None:
                            segment = Segment(fields, base + start, index, len(segs) + 1)
                            segs.append(segment)
                            if not well_formed:
                                self._bad_segment_id(segment)
                            continue
                    self._index = index
                    if tag == "ISA":
                        same = parse_isa(buf, start, eof)
                        if same is None or same.delimiters != delims or same.length != len(piece) + 1:
                            buf, base = buf[start:], base + start
                            restart = True
                            if self._ich is not None:
                                yield from self._close_interchange(None)
                            break
                        if self._ich is not None:
                            yield from self._close_interchange(None)
                        yield from self._open_interchange(same, base + start)
                    else:
                        yield from self._envelope(Segment(fields, base + start, index))
                    index = self._index
                    ts = self._ts
                    segs = ts.segments if ts is not None else None
                self._index = index
                if restart:
                    break
                follows = step
                base += i
                if self._ich is None:
                    # The interchange ended: whatever follows is read from a fresh ISA.
                    buf, restart, after_bare_terminator = tail, True, step == 1
                    break
                more = self._read() if not eof else ""
                if not more:
                    eof = True
                    if tail.strip(WHITESPACE):
                        yield from self._unterminated(tail, base, esep)
                    if self._ich is not None:
                        yield from self._close_interchange(None)
                    buf = ""
                    break
                buf = tail + more
                if len(tail) > self.max_segment_length:
                    buf, base, eof = yield from self._too_long(buf, base, delims)
            if not restart and eof and not buf:
                return

    def _seek_isa(
        self, buf: str, base: int, eof: bool, after_terminator: bool
    ) -> Generator[Event, None, tuple[str, int, bool]]:
        """Skip to the next 'ISA'; whitespace is a warning, anything else an error."""
        space, space_at = "", base
        while True:
            stripped = buf.lstrip(WHITESPACE)
            lead = len(buf) - len(stripped)
            if lead:
                if not space:
                    space_at = base
                space += buf[:lead]
                buf, base = stripped, base + lead
            if buf:
                if space:
                    self._whitespace_finding(space, space_at, after_terminator)
                space = ""
                if buf.startswith("ISA"):
                    return buf, base, eof
                if not (len(buf) < 3 and "ISA".startswith(buf) and not eof):
                    found = buf.find("ISA", 1)
                    junk_end = found if found >= 0 else max(len(buf) - 2, 1)
                    self._junk(buf[:junk_end], base)
                    buf, base = buf[junk_end:], base + junk_end
                    if found >= 0:
                        return buf, base, eof
            if eof:
                if buf:
                    self._junk(buf, base)
                return "", base + len(buf), eof
            more = self._read()
            eof = not more
            buf += more
        yield  # pragma: no cover - makes this a generator for ``yield from``

    # -- envelope ---------------------------------------------------------------------------
    def _open_interchange(self, header: IsaHeader, offset: int) -> Iterator[Event]:
        self._index = 1
        isa = Segment(header.fields, offset, 1)
        ich = Interchange(isa=isa, delimiters=header.delimiters or Delimiters(), offset=offset)
        self._ich = ich
        self._group_ids = set()
        for fault in header.faults:
            ich.findings.append(
                self._finding(
                    Level.INTERCHANGE, fault.code, fault.message, isa,
                    element=fault.element, offset_in_segment=fault.offset_in_segment,
                )
            )  # fmt: skip
        if header.delimiters is not None and ich.control_number in self._seen_interchanges:
            ich.findings.append(
                self._finding(
                    Level.INTERCHANGE, "025",
                    f"interchange control number {ich.control_number} appears twice in this file",
                    isa, element=13, severity=Severity.WARNING,
                )
            )  # fmt: skip
        self._seen_interchanges.add(ich.control_number)
        if self.keep_tree:
            self.interchanges.append(ich)
        yield InterchangeStart(ich)

    def _close_interchange(self, iea: Segment | None, readable: bool = True) -> Iterator[Event]:
        ich = self._ich
        assert ich is not None
        if self._ts is not None:
            yield from self._close_set(None)
        if self._grp is not None:
            yield from self._close_group(None)
        ich.iea = iea
        if iea is None:
            if readable and not any(f.code == "023" for f in ich.findings):
                ich.findings.append(
                    self._finding(Level.INTERCHANGE, "023", "the interchange has no IEA trailer", ich.isa)
                )
        else:
            ich.end_offset = iea.offset
            self._check_trailer(
                iea, ich.findings, Level.INTERCHANGE, ("021", "001"),
                count=ich.group_count, counted="groups", header="ISA13", control=ich.control_number,
            )  # fmt: skip
        self._ich = None
        yield InterchangeEnd(ich)

    def _envelope(self, seg: Segment) -> Iterator[Event]:
        tag = seg.tag
        if self._ich is None:
            self._junk(seg.tag, seg.offset)
            return
        if self._ts is not None:
            if tag == "SE":
                yield from self._close_set(seg)
                return
            yield from self._close_set(None)
        if tag == "ST":
            yield from self._open_set(seg)
        elif tag == "GS":
            if self._grp is not None:
                yield from self._close_group(None)
            yield from self._open_group(seg)
        elif tag == "GE":
            if self._grp is None:
                self._stray(seg, "GE without a GS")
            else:
                yield from self._close_group(seg)
        elif tag == "IEA":
            yield from self._close_interchange(seg)
        elif tag == "SE":
            self._stray(seg, "SE without an ST")
        elif tag == "TA1" and self._ich.group_count == 0:
            self._ich.ta1s.append(seg)  # X12.5: interchange acknowledgements precede the first GS
        else:
            self._stray(seg, f"segment {tag!r} outside any transaction set")

    def _open_group(self, gs: Segment) -> Iterator[Event]:
        ich = self._ich
        assert ich is not None
        grp = Group(interchange=ich, gs=gs)
        ich.group_count += 1
        self._grp = grp
        self._set_ids = set()
        control = grp.control_number
        if _NUMERIC.match(control) is None:
            grp.findings.append(
                self._finding(Level.GROUP, "6", f"GS06 {control!r} is not a 1-9 digit number", gs, element=6)
            )
        elif control in self._group_ids:
            grp.findings.append(
                self._finding(
                    Level.GROUP, "19", f"group control number {control} appears twice in this interchange",
                    gs, element=6,
                )
            )  # fmt: skip
        self._group_ids.add(control)
        if self.keep_tree:
            ich.groups.append(grp)
        yield GroupStart(grp)

    def _close_group(self, ge: Segment | None) -> Iterator[Event]:
        grp = self._grp
        assert grp is not None
        if self._ts is not None:
            yield from self._close_set(None)
        grp.ge = ge
        if ge is None:
            grp.findings.append(self._finding(Level.GROUP, "3", "the group has no GE trailer", grp.gs))
        else:
            self._check_trailer(
                ge, grp.findings, Level.GROUP, ("5", "4"),
                count=grp.set_count, counted="transaction sets", header="GS06", control=grp.control_number,
            )  # fmt: skip
        self._grp = None
        yield GroupEnd(grp)

    def _open_set(self, st: Segment) -> Iterator[Event]:
        st.position = 1
        ts = TransactionSet(group=self._grp, segments=[st])
        self._ts = ts
        if self._grp is None:
            self._stray(st, "ST outside a functional group (no GS before it)")
        else:
            self._grp.set_count += 1
        set_id, control = st.element(1), st.element(2)
        if not (len(set_id) == 3 and is_digits(set_id)):
            ts.findings.append(
                self._finding(Level.SET, "6", f"ST01 {set_id!r} is not a transaction set identifier", st, element=1)
            )
        if _CONTROL_NUMBER.match(control) is None:
            ts.findings.append(
                self._finding(Level.SET, "7", f"ST02 {control!r} is not a 4-9 character control number", st, element=2)
            )
        elif control in self._set_ids:
            ts.findings.append(
                self._finding(
                    Level.SET, "23", f"transaction set control number {control} appears twice in this group",
                    st, element=2,
                )
            )  # fmt: skip
        self._set_ids.add(control)
        return
        yield  # pragma: no cover

    def _close_set(self, se: Segment | None) -> Iterator[Event]:
        ts = self._ts
        assert ts is not None
        ts.segment_count = len(ts.segments) + (se is not None)
        if se is None:
            ts.findings.append(self._finding(Level.SET, "2", "the transaction set has no SE trailer", ts.segments[0]))
        else:
            se.position = len(ts.segments) + 1
            ts.segments.append(se)
            self._check_trailer(
                se, ts.findings, Level.SET, ("4", "3"),
                count=ts.segment_count, counted="segments from ST to SE", header="ST02", control=ts.control_number,
            )  # fmt: skip
        self._ts = None
        if self.keep_tree and ts.group is not None:
            ts.group.sets.append(ts)
        yield ts

    def _check_trailer(
        self,
        trailer: Segment,
        findings: list[Finding],
        level: Level,
        codes: tuple[str, str],
        *,
        count: int,
        counted: str,
        header: str,
        control: str,
    ) -> None:
        """Every trailer (SE, GE, IEA) counts what it closes in element 1 and repeats the header's control number in 2."""
        tag = trailer.tag
        if trailer.element(1) != str(count):
            message = f"{tag}01 says {trailer.element(1)!r} {counted}, the reader counted {count}"
            findings.append(self._finding(level, codes[0], message, trailer, element=1))
        if trailer.element(2) != control:
            message = f"{tag}02 {trailer.element(2)!r} does not match {header} {control!r}"
            findings.append(self._finding(level, codes[1], message, trailer, element=2))

    # -- faults -----------------------------------------------------------------------------
    def _finding(
        self,
        level: Level,
        code: str,
        message: str,
        seg: Segment | None = None,
        *,
        element: int | None = None,
        component: int | None = None,
        offset_in_segment: int | None = None,
        severity: Severity = Severity.ERROR,
        value: str | None = None,
    ) -> Finding:
        ich, grp, ts = self._ich, self._grp, self._ts
        in_set = ts is not None and level in (Level.SET, Level.SEGMENT, Level.ELEMENT)
        if offset_in_segment is None and seg is not None and element is not None:
            offset_in_segment = element_offset(seg, element, ich.delimiters.element if ich else "*")
        return Finding(
            level=level,
            code=code,
            message=message,
            severity=severity,
            file=self.name,
            interchange=ich.control_number if ich else None,
            group=grp.control_number if grp else None,
            transaction_set=ts.control_number if in_set and ts else None,
            set_id=ts.id if in_set and ts else None,
            segment_position=seg.position if seg is not None and seg.position else None,
            segment_index=seg.index if seg is not None else None,
            segment_id=seg.tag if seg is not None else None,
            element=element,
            component=component,
            byte_offset=seg.offset if seg is not None else None,
            offset_in_segment=offset_in_segment,
            value=value,
        )

    def _file_finding(self, code: str, message: str, offset: int, severity: Severity = Severity.ERROR) -> None:
        self.findings.append(
            Finding(level=Level.FILE, code=code, message=message, severity=severity, file=self.name, byte_offset=offset)
        )

    def _whitespace_finding(self, text: str, offset: int, after_terminator: bool) -> None:
        """Warn of whitespace beyond the one line break tolerated after a segment terminator."""
        if after_terminator:
            tolerated = next((len(b) for b in LINE_BREAKS_AFTER_TERMINATOR if text.startswith(b)), 0)
            text, offset = text[tolerated:], offset + tolerated
            if not text:
                return
        self._file_finding(
            "whitespace", f"{len(text)} bytes of whitespace between segments; ignored", offset, Severity.WARNING
        )

    def _junk(self, text: str, offset: int) -> None:
        last = self.findings[-1] if self.findings else None
        if last is not None and last.code == "junk" and self._junk_end == offset:
            self._junk_end = offset + len(text)  # one finding for one stretch of junk
            last.message = (
                f"{self._junk_end - (last.byte_offset or 0)} bytes that are not part of any interchange; skipped"
            )
            return
        self._junk_end = offset + len(text)
        shown = text[:20].encode("latin-1").decode("ascii", "backslashreplace")
        self._file_finding(
            "junk", f"{len(text)} bytes that are not part of any interchange ({shown!r}...); skipped", offset
        )

    def _empty_segment(self, offset: int) -> None:
        target = self._ts.findings if self._ts is not None else self.findings
        finding = Finding(
            level=Level.FILE, code="empty-segment", severity=Severity.WARNING, file=self.name, byte_offset=offset,
            message="two segment terminators in a row (an empty segment); ignored",
        )  # fmt: skip
        target.append(finding)

    def _stray(self, seg: Segment, what: str) -> None:
        assert self._ich is not None
        self._ich.findings.append(
            self._finding(Level.INTERCHANGE, "024", f"{what}: the interchange's content is out of order", seg)
        )

    def _bad_segment_id(self, seg: Segment) -> None:
        assert self._ts is not None
        tag = seg.tag
        why = "lowercase" if tag.upper() != tag else ("too long" if len(tag) > 3 else "not a segment identifier")
        shown = tag[:20].encode("latin-1").decode("ascii", "backslashreplace")
        self._ts.findings.append(
            self._finding(Level.SEGMENT, "1", f"segment identifier {shown!r} is {why}", seg, value=tag[:20])
        )

    def _unterminated(self, tail: str, base: int, esep: str) -> Iterator[Event]:
        stripped = tail.lstrip(WHITESPACE)
        offset = base + len(tail) - len(stripped)
        seg = Segment(stripped.split(esep), offset, self._index + 1)
        if self._ich is not None and not any(f.code == "023" for f in self._ich.findings):
            self._ich.findings.append(
                self._finding(
                    Level.INTERCHANGE, "023",
                    f"the file ends inside segment {seg.tag[:3]!r} (no segment terminator)", seg,
                    offset_in_segment=len(stripped),
                )
            )  # fmt: skip
        return
        yield  # pragma: no cover

    def _too_long(self, buf: str, base: int, delims: Delimiters) -> Generator[Event, None, tuple[str, int, bool]]:
        """Cut a segment longer than the limit: keep its head, report it, skip to its terminator."""
        limit = self.max_segment_length
        head = buf[:limit]
        stripped = head.lstrip(WHITESPACE)
        offset = base + len(head) - len(stripped)
        fields = stripped.split(delims.element)
        length = len(buf)
        eof = False
        end = buf.find(delims.segment, limit)
        while end < 0:
            more = self._read()
            if not more:
                eof = True
                break
            length += len(more)
            buf = more
            end = buf.find(delims.segment)
        if eof:
            rest, rest_base = "", base + length
        else:
            rest, rest_base = buf[end + 1 :], base + length - len(buf) + end + 1
            length = rest_base - base - 1
        length -= offset - base  # whitespace before the segment id is not part of it
        self._index += 1
        seg = Segment(fields, offset, self._index)
        message = f"segment {fields[0][:3]!r} is {length} bytes long, over the {limit}-byte limit; read no further"
        if self._ts is not None:
            seg.position = len(self._ts.segments) + 1
            self._ts.segments.append(seg)
            self._ts.findings.append(
                self._finding(
                    Level.ELEMENT, "5", message, seg, element=len(fields) - 1,
                    offset_in_segment=limit, value=fields[-1][:20],
                )
            )  # fmt: skip
        elif self._ich is not None:
            self._ich.findings.append(self._finding(Level.INTERCHANGE, "024", message, seg, offset_in_segment=limit))
        return rest, rest_base, eof
        yield  # pragma: no cover


def element_offset(seg: Segment, element: int, separator: str) -> int:
    """Offset inside the segment of element ``element``'s first byte (or of its end when absent)."""
    fields = seg.fields
    offset = len(fields[0])
    for n in range(1, min(element, len(fields))):
        offset += 1 + len(fields[n])
    return offset + 1 if element < len(fields) else offset


def read_interchanges(source: Source, *, name: str | None = None) -> tuple[list[Interchange], list[Finding]]:
    """Read a whole (small) file into a tree of interchanges, groups and sets."""
    reader = X12Reader(source, name=name, keep_tree=True)
    for _ in reader:
        pass
    return reader.interchanges, reader.findings
