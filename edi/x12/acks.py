"""Acknowledgements we owe: a TA1, 997 or 999 for every inbound interchange, built from findings.

The reader and validator name each finding by the code it is acknowledged with (TA105, AK905,
AK502, AK304, AK403), so an acknowledgement is a walk over findings. The walk streams: each
transaction set is turned into its AK2 loop as it goes by and dropped; only the acknowledgement
lines of the interchange being read are kept until its IEA, which decides whether a TA1 rejects
the whole interchange (then no functional acknowledgement is sent, X12.5).

One inbound interchange gets at most one outbound interchange, from its receiver back to its
sender, holding:

* a TA1 when the ISA/IEA envelope is at fault (TA104 ``R`` for an error, ``E`` for warnings
  only) or when ISA14 = 1 asks for one (``A`` / ``000``);
* unless the TA1 rejects the interchange, one FA group per inbound functional group: a 997 in
  the inbound group's version, or a 999 (005010X231A1) for 005010 groups when asked.

Acknowledgements are never acknowledged: FA groups get no 997, and an interchange holding only
acknowledgements gets a TA1 only when its envelope is rejected.

``acknowledge(source, ...)`` reads and validates a file itself. A caller that reads the file
anyway (to map its transaction sets) builds the acknowledgements in the same pass with an
``Acknowledger``, and ``acknowledge`` is no more than that::

    acknowledger = Acknowledger(kind="997")
    reader = X12Reader(data, name=name)
    for event in acknowledger.observe(validated_events(reader)):
        ...  # the caller's own use of each event, unchanged
    acks = acknowledger.finish(control_numbers, now=now, reader_findings=reader.findings)

Control numbers are drawn only in ``finish``, interchange by interchange as ``acknowledge``
draws them, so the replies come out byte for byte the same; a caller that wants the
acknowledgements numbered ahead of its other documents calls ``finish`` before drawing theirs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from edi.findings import Finding, Level
from edi.text import is_digits
from edi.x12.control_numbers import ControlNumberProvider
from edi.x12.delimiters import Delimiters, repetition_allowed
from edi.x12.elements import CONTROL_CHARACTERS
from edi.x12.reader import Source, X12Reader
from edi.x12.schema import SchemaSet, default_schemas
from edi.x12.structures import (
    Event,
    Group,
    GroupEnd,
    GroupStart,
    Interchange,
    InterchangeEnd,
    InterchangeStart,
    TransactionSet,
)
from edi.x12.validate import validated_events
from edi.x12.writer import CANONICAL_DELIMITERS, ElementValue, GroupSpec, build_interchange, write_interchange

AckKind = Literal["997", "999"]

ACK_CODES_FILE = Path(__file__).parent / "data" / "ack_codes.yaml"
#: GS01 of a group of acknowledgements (997, 999): never acknowledged itself.
ACK_FUNCTIONAL_ID = "FA"
#: GS08 and ST03 of a 999: the X12 implementation guide that defines it.
IMPLEMENTATION_999 = "005010X231A1"
#: First version whose 997 has AK103, AK203 and a repetition position in AK401 (C030-3).
MODERN_997 = "005010"
#: AK502..AK506 and AK905..AK909: at most five codes each.
MAX_CODES = 5
#: AK4 / IK4 loops under one AK3 / IK3 (997 AK4 max use 99; 999 loop 2110 repeat 99).
MAX_ELEMENT_NOTES = 99
#: AK404 / IK404 copy of bad data element: AN 1/99.
MAX_BAD_DATA = 99
#: CTX01-2 context reference: AN 1/35.
MAX_CONTEXT = 35
#: Used when neither the inbound group nor the interchange names a version we can answer in.
DEFAULT_VERSION = "004010"
#: GS08 suffix that names an implementation guide (005010X222A1) rather than an industry (VICS).
_IMPLEMENTATION_GUIDE = re.compile(r"X[0-9]{3}")
_DIGITS = re.compile(r"[0-9]{1,4}\Z")

Segments = list[list[ElementValue]]


# -- the code data ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AckCodes:
    """``ack_codes.yaml``: element of each code table, 997 wording of 999 codes, CTX sources."""

    tables: Mapping[str, Mapping[str, str]]
    in_997: Mapping[str, Mapping[str, Mapping[str, str | None]]]
    business_unit: Mapping[str, tuple[str, int]]
    own: Mapping[str, str]

    def for_997(self, version: str, table: str, code: str) -> str | None:
        """How ``code`` (999 terms) is said in the 997 of ``version``; None when it cannot be."""
        keys = sorted(self.in_997)
        if not keys:
            return code
        # The newest listed version not after ours; versions before the first use the first.
        chosen = next((key for key in reversed(keys) if key <= version[:6]), keys[0])
        mapping = self.in_997[chosen].get(table, {})
        return mapping.get(code, code)

    def element(self, kind: str, table: str) -> str | None:
        """The data element whose code list ``table`` uses in acknowledgement ``kind``."""
        return self.tables.get(kind, {}).get(table)


@cache
def ack_codes(path: Path = ACK_CODES_FILE) -> AckCodes:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle) or {}
    return AckCodes(
        tables={str(kind): {str(t): str(e) for t, e in rows.items()} for kind, rows in data.get("tables", {}).items()},
        in_997={
            str(version): {
                str(table): {str(c): (None if r is None else str(r)) for c, r in codes.items()}
                for table, codes in tables.items()
            }
            for version, tables in data.get("in_997", {}).items()
        },
        business_unit={str(s): (str(v[0]), int(v[1])) for s, v in data.get("business_unit", {}).items()},
        own={str(c): str(m) for c, m in data.get("EE", {}).items()},
    )


# -- what was acknowledged --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetAck:
    """One AK2 loop: the inbound set, its AK501 / IK501 and AK502.. / IK502.. codes."""

    set_id: str  # ST01
    control_number: str  # ST02
    status: str  # AK501: A, E or R
    codes: tuple[str, ...] = ()
    segment_notes: int = 0  # AK3 / IK3 lines written


@dataclass(frozen=True, slots=True)
class GroupAck:
    """One inbound group and the FA group answering it (``kind`` None: not acknowledged)."""

    functional_id: str  # GS01
    control_number: str  # GS06
    version: str  # GS08
    kind: AckKind | None  # 997, 999, or None for a group of acknowledgements
    status: str | None  # AK901: A, E, P or R
    codes: tuple[str, ...] = ()  # AK905..AK909
    declared: int = 0  # AK902
    received: int = 0  # AK903
    accepted: int = 0  # AK904
    sets: tuple[SetAck, ...] = ()


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """One inbound interchange: its TA1 (if one is due) and the acknowledgement of each group."""

    control_number: str  # inbound ISA13
    sender: tuple[str, str]  # inbound ISA05 / ISA06
    receiver: tuple[str, str]  # inbound ISA07 / ISA08
    ta104: str | None  # None: no TA1 is due
    ta105: str | None
    groups: tuple[GroupAck, ...] = ()
    reply_control_number: str | None = None  # ISA13 of the interchange we send back
    note: str | None = None  # why nothing could be sent, when something was owed

    @property
    def rejected(self) -> bool:
        return self.ta104 == "R"


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    """Everything owed for one inbound file."""

    data: bytes  # the outbound interchanges, one after another; empty when nothing is owed
    interchanges: tuple[InterchangeAck, ...]
    errors: int = 0  # findings of severity error, at every level
    warnings: int = 0
    by_table: Mapping[str, int] = field(default_factory=dict)  # findings per code table (TA105, AK502, ...)


# -- building ---------------------------------------------------------------------------------


def acknowledge(
    source: Source,
    *,
    kind: AckKind = "997",
    control_numbers: ControlNumberProvider,
    schemas: SchemaSet | None = None,
    now: datetime | None = None,
    name: str | None = None,
) -> Acknowledgements:
    """Read and validate ``source`` and build the TA1, 997 or 999 owed for each interchange.

    ``kind="999"`` answers 005010 groups with a 999; groups of other versions still get a 997.
    Control numbers of the outbound interchanges come from ``control_numbers``. A caller that
    reads the file anyway uses an ``Acknowledger`` instead, and reads it once.
    """
    acknowledger = Acknowledger(kind=kind, schemas=schemas)
    reader = X12Reader(source, name=name)
    for _ in acknowledger.observe(validated_events(reader, acknowledger.schemas, name or reader.name)):
        pass
    return acknowledger.finish(control_numbers, now=now, reader_findings=reader.findings)


class Acknowledger:
    """The acknowledgements owed for one file, built from validated events the caller reads anyway.

    Feed it every event of ``validated_events(reader)``, in order (``observe`` passes them on
    unchanged, ``feed`` takes one), then call ``finish`` once, after the last event. Each event is
    taken into account before it is handed on, so what the caller then does with it does not
    change the acknowledgement. Control numbers are drawn only by ``finish``, interchange by
    interchange in file order, so a caller that numbers other documents while reading still gives
    the acknowledgements the numbers they would have had, if it calls ``finish`` first.
    """

    def __init__(self, *, kind: AckKind = "997", schemas: SchemaSet | None = None) -> None:
        if kind not in ("997", "999"):
            raise ValueError(f"kind must be '997' or '999', not {kind!r}")
        self.kind: AckKind = kind
        self.schemas = schemas or default_schemas()
        self._codes = ack_codes()
        self._owed: list[_Owed] = []
        self._tally: Counter[str] = Counter()
        self._errors = self._warnings = 0
        self._reply: _InterchangeReply | None = None
        self._group: _GroupReply | None = None
        self._finished = False

    def observe(self, events: Iterable[Event]) -> Iterator[Event]:
        """Pass ``events`` through unchanged, each one fed to the acknowledgements first."""
        for event in events:
            self.feed(event)
            yield event

    def feed(self, event: Event) -> None:
        """Take one validated event into account (interchanges, groups and sets, in file order)."""
        if self._finished:
            raise RuntimeError("the acknowledgements are finished; no more events can be fed")
        if isinstance(event, InterchangeStart):
            self._reply = _InterchangeReply(event.interchange, self.kind, self._codes, self.schemas)
        elif isinstance(event, GroupStart):
            assert self._reply is not None
            self._group = self._reply.open_group(event.group)
        elif isinstance(event, TransactionSet):
            self._count(event.findings)
            if self._group is not None and event.group is self._group.group:
                self._group.add_set(event)
        elif isinstance(event, GroupEnd):
            self._count(event.group.findings)
            if self._group is not None and self._group.group is event.group:
                self._group.close()
            self._group = None
        elif isinstance(event, InterchangeEnd):
            self._count(event.interchange.findings)
            assert self._reply is not None
            self._owed.append(self._reply.settle())
            self._reply = None

    def finish(
        self,
        control_numbers: ControlNumberProvider,
        *,
        now: datetime | None = None,
        reader_findings: Iterable[Finding],
    ) -> Acknowledgements:
        """Draw the control numbers and write what is owed, once the whole file has been fed.

        ``reader_findings`` are the reader's own (``X12Reader.findings``), complete only at the
        end of the file; they count towards the totals but are acknowledged by nothing.
        """
        if self._finished:
            raise RuntimeError("finish was already called; the control numbers are drawn once")
        if self._reply is not None:
            raise RuntimeError(f"interchange {self._reply.ich.control_number} was not read to its end")
        self._finished = True
        self._count(reader_findings)
        moment = now or datetime.now()
        chunks: list[bytes] = []
        summaries: list[InterchangeAck] = []
        for owed in self._owed:
            data, summary = owed.send(control_numbers, moment)
            if data:
                chunks.append(data)
            summaries.append(summary)
        return Acknowledgements(
            data=b"".join(chunks),
            interchanges=tuple(summaries),
            errors=self._errors,
            warnings=self._warnings,
            by_table=dict(sorted(self._tally.items())),
        )

    def _count(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self._tally[finding.table] += 1
            if finding.is_error:
                self._errors += 1
            else:
                self._warnings += 1


class _GroupReply:
    """The FA group answering one inbound group, built one transaction set at a time."""

    def __init__(
        self, group: Group, kind: AckKind | None, version: str, codes: AckCodes, delimiters: Delimiters
    ) -> None:
        self.group = group
        self.delimiters = delimiters  # the reply's, which no copied value may hold
        self.kind = kind  # None: a group of acknowledgements, answered with nothing
        self.version = version  # GS08 of the reply
        self.codes = codes
        self.modern = version[:6] >= MODERN_997
        self.loops: Segments = []  # AK2 .. AK5 of every set so far
        self.sets: list[SetAck] = []
        self.status: str | None = None
        self.group_codes: tuple[str, ...] = ()
        self.declared = self.received = self.accepted = 0

    def safe(self, value: str) -> str:
        return _safe(value, self.delimiters)

    # -- codes in the reply's terms ---------------------------------------------------------
    def say(self, table: str, code: str) -> str | None:
        if self.kind == "999":
            return code
        return self.codes.for_997(self.version, table, code)

    def listed(self, table: str, findings: Iterable[Finding]) -> tuple[str, ...]:
        """Up to five distinct codes, in the order they were found."""
        out: list[str] = []
        for finding in findings:
            code = self.say(table, finding.code)
            if code is not None and code not in out:
                out.append(code)
        return tuple(out[:MAX_CODES])

    # -- one set ----------------------------------------------------------------------------
    def add_set(self, ts: TransactionSet) -> None:
        if self.kind is None:
            return
        self.received += 1
        if not self.group.supported:
            return  # a version we hold no schemas for: the AK9 rejects the group, with no AK2 loops
        st = ts.segments[0]
        findings = [f for f in ts.findings if f.level in (Level.SET, Level.SEGMENT, Level.ELEMENT)]
        notes = self._segment_notes(ts, findings)
        set_findings = [f for f in findings if f.level is Level.SET]
        codes = list(self.listed("AK502", set_findings))
        status = "R" if any(f.is_error for f in findings) else ("E" if findings else "A")
        if notes and status == "E" and "5" not in codes and len(codes) < MAX_CODES:
            codes.append("5")  # warnings only: still say which segments the AK3s are about
        ak2: list[ElementValue] = ["AK2", self.safe(st.element(1)), self.safe(st.element(2))]
        if self.modern and st.element(3):
            ak2.append(self.safe(st.element(3)))
        self.loops.append(ak2)
        self.loops.extend(notes)
        self.loops.append(["IK5" if self.kind == "999" else "AK5", status, *codes])
        self.sets.append(
            SetAck(st.element(1), st.element(2), status, tuple(codes), sum(1 for s in notes if s[0] in ("AK3", "IK3")))
        )

    def _segment_notes(self, ts: TransactionSet, findings: list[Finding]) -> Segments:
        """AK3 / IK3 lines with their AK4 / IK4 lines, in segment order."""
        by_segment: dict[tuple[int, str], list[Finding]] = {}
        for finding in findings:
            if finding.level is not Level.SET:
                # ST is position 1 and every finding inside a set has its segment's position.
                key = (max(finding.segment_position or 1, 1), finding.segment_id or "")
                by_segment.setdefault(key, []).append(finding)
        if not by_segment:
            return []
        is_999 = self.kind == "999"
        segment_tag, element_tag = ("IK3", "IK4") if is_999 else ("AK3", "AK4")
        context = self._business_unit(ts) if is_999 else None
        out: Segments = []
        for (position, segment_id), found in sorted(by_segment.items(), key=lambda item: item[0][0]):
            own = [f for f in found if f.level is Level.SEGMENT]
            elements = [f for f in found if f.level is Level.ELEMENT]
            segment_codes = [self.say("AK304", f.code) for f in own] or ["8"]
            for number, code in enumerate(segment_codes):
                out.append([segment_tag, self.safe(segment_id), str(position), "", code or ""])
                if context is not None:
                    out.append(["CTX", context])
                if number == 0:
                    for note in self._element_notes(elements):
                        out.append([element_tag, *note])
        return out

    def _element_notes(self, findings: list[Finding]) -> Iterable[list[ElementValue]]:
        written = 0
        for finding in findings:
            code = self.say("AK403", finding.code)
            if code is None or finding.element is None or written >= MAX_ELEMENT_NOTES:
                continue
            written += 1
            where = [str(finding.element), str(finding.component) if finding.component else ""]
            if self.modern and finding.repeat:
                where.append(str(finding.repeat))
            ref = finding.element_ref if finding.element_ref and _DIGITS.match(finding.element_ref) else ""
            bad = finding.value or ""
            if CONTROL_CHARACTERS.search(bad) is not None:
                bad = ""
            yield [where, ref, code, self.safe(bad[:MAX_BAD_DATA])]

    def _business_unit(self, ts: TransactionSet) -> list[str] | None:
        source = self.codes.business_unit.get(ts.id)
        if source is None:
            return None
        tag, element = source
        segment = next((s for s in ts.segments if s.tag == tag), None)
        value = self.safe(segment.element(element)) if segment is not None else ""
        if not value or CONTROL_CHARACTERS.search(value) is not None:
            return None
        return [f"{tag}{element:02d}", value[:MAX_CONTEXT]]

    # -- the group --------------------------------------------------------------------------
    def close(self) -> None:
        group = self.group
        faults = [f for f in group.findings if f.level is Level.GROUP]
        self.group_codes = self.listed("AK905", faults)
        self.accepted = sum(1 for s in self.sets if s.status in ("A", "E"))
        declared = group.ge.element(1) if group.ge is not None else ""
        self.declared = int(declared) if is_digits(declared) else group.set_count
        statuses = {s.status for s in self.sets}
        if any(f.is_error for f in faults) or (statuses and statuses <= {"R"}):
            self.status = "R"
        elif "R" in statuses:
            self.status = "P"
        elif "E" in statuses or faults:
            self.status = "E"
        else:
            self.status = "A"

    def segments(self) -> Segments:
        gs = self.group.gs
        ak1: list[ElementValue] = ["AK1", self.safe(gs.element(1)), self.safe(gs.element(6))]
        if self.modern:
            ak1.append(self.safe(gs.element(8)))
        st: list[ElementValue] = ["ST", "999", "", IMPLEMENTATION_999] if self.kind == "999" else ["ST", "997"]
        ak9: list[ElementValue] = ["AK9", self.status or "R", str(self.declared), str(self.received)]
        ak9 += [str(self.accepted), *self.group_codes]
        return [st, ak1, *self.loops, ak9]

    def summary(self) -> GroupAck:
        gs = self.group.gs
        return GroupAck(
            functional_id=gs.element(1),
            control_number=gs.element(6),
            version=gs.element(8),
            kind=self.kind,
            status=self.status if self.kind is not None else None,
            codes=self.group_codes,
            declared=self.declared,
            received=self.received,
            accepted=self.accepted,
            sets=tuple(self.sets),
        )


class _InterchangeReply:
    """Everything owed for one inbound interchange, decided at its IEA."""

    def __init__(self, ich: Interchange, kind: AckKind, codes: AckCodes, schemas: SchemaSet) -> None:
        self.ich = ich
        self.kind = kind
        self.codes = codes
        self.groups: list[_GroupReply] = []
        self.readable = len(ich.isa.fields) == 17  # else the ISA could not even be split
        isa12 = ich.isa.element(12)
        well_formed = len(isa12) == 5 and is_digits(isa12)
        self.isa12 = isa12 if well_formed else DEFAULT_VERSION[:5]  # the reply's ISA12 is the inbound's
        # A group in a version we hold no schemas for is answered in one we do: the interchange's.
        self.fallback_version = isa12 + "0" if schemas.knows_version(isa12 + "0") else DEFAULT_VERSION
        self.delimiters = _reply_delimiters(ich, self.isa12)
        self.line_break = "" if self.delimiters.by_character().keys() & set("\r\n") else "\n"

    def open_group(self, group: Group) -> _GroupReply:
        gs08 = group.version
        kind: AckKind | None
        if group.functional_id == ACK_FUNCTIONAL_ID:
            kind, version = None, gs08
        elif self.kind == "999" and SchemaSet.version_of(gs08) == MODERN_997:
            kind, version = "999", IMPLEMENTATION_999
        elif not group.supported:
            kind, version = "997", self.fallback_version
        else:
            kind, version = "997", _reply_version(gs08, self.fallback_version)
        reply = _GroupReply(group, kind, version, self.codes, self.delimiters)
        self.groups.append(reply)
        return reply

    def settle(self) -> _Owed:
        """Decide, at the IEA, what is owed; writing it waits for the control numbers."""
        ich = self.ich
        faults = [f for f in ich.findings if f.level is Level.INTERCHANGE]
        errors = [f for f in faults if f.is_error]
        answered = [] if errors else [g for g in self.groups if g.kind is not None]
        only_acks = not any(g.kind is not None for g in self.groups)
        ta1: tuple[str, str] | None = None
        if errors:
            ta1 = ("R", errors[0].code)
        elif faults and not only_acks:
            ta1 = ("E", faults[0].code)
        elif ich.ack_requested and not only_acks:
            ta1 = ("A", "000")
        summary = InterchangeAck(
            control_number=ich.control_number,
            sender=ich.sender if self.readable else ("", ""),
            receiver=ich.receiver if self.readable else ("", ""),
            ta104=ta1[0] if ta1 else None,
            ta105=ta1[1] if ta1 else None,
            groups=() if errors else tuple(g.summary() for g in self.groups),
        )
        if ta1 is None and not answered:
            return _Owed(summary)
        if not self.readable:
            return _Owed(replace(summary, note="the ISA header could not be read, so there is no sender to reply to"))
        return _Owed(summary, self._reply(ta1, answered))

    def _reply(self, ta1: tuple[str, str] | None, groups: Sequence[_GroupReply]) -> _Reply:
        ich, out = self.ich, self.delimiters
        sender = _party(ich.isa.element(7), ich.isa.element(8), out)
        receiver = _party(ich.isa.element(5), ich.isa.element(6), out)
        ta1s: list[list[ElementValue]] = []
        if ta1 is not None:
            copied = (ich.control_number, ich.isa.element(9), ich.isa.element(10))
            ta1s.append(["TA1", *(_safe(value, out) for value in copied), *ta1])
        # Each FA group goes back from the inbound group's receiver to its sender (GS03 / GS02).
        specs = [
            GroupSpec(
                ACK_FUNCTIONAL_ID,
                reply.version,
                [reply.segments()],
                sender=_application(reply.group.gs.element(3), sender, out),
                receiver=_application(reply.group.gs.element(2), receiver, out),
            )
            for reply in groups
        ]
        usage = ich.usage if ich.usage in ("P", "T") else "P"
        return _Reply(sender, receiver, specs, ta1s, usage, out, self.isa12, self.line_break)


@dataclass(frozen=True, slots=True)
class _Reply:
    """The interchange owed back, complete but for its control numbers and date."""

    sender: tuple[str, str]
    receiver: tuple[str, str]
    groups: list[GroupSpec]
    ta1s: list[list[ElementValue]]
    usage: str
    delimiters: Delimiters
    version: str  # ISA12
    line_break: str

    def write(self, provider: ControlNumberProvider, now: datetime) -> tuple[bytes, str]:
        ich = build_interchange(
            self.sender,
            self.receiver,
            self.groups,
            ta1s=self.ta1s,
            control_numbers=provider,
            usage=self.usage,
            now=now,
            delimiters=self.delimiters,
            interchange_version=self.version,
        )
        return write_interchange(ich, line_break=self.line_break), ich.control_number


@dataclass(frozen=True, slots=True)
class _Owed:
    """What one inbound interchange is owed: its summary, and the reply to send (None: nothing)."""

    summary: InterchangeAck
    reply: _Reply | None = None

    def send(self, provider: ControlNumberProvider, now: datetime) -> tuple[bytes, InterchangeAck]:
        """The reply's bytes, numbered now, and the summary naming its ISA13."""
        if self.reply is None:
            return b"", self.summary
        data, isa13 = self.reply.write(provider, now)
        return data, replace(self.summary, reply_control_number=isa13)


def _reply_version(gs08: str, fallback: str) -> str:
    """GS08 of the 997 answering a group: the group's own, without an implementation guide."""
    version = gs08[:6]
    if len(version) != 6 or not is_digits(version):
        return fallback
    return version if _IMPLEMENTATION_GUIDE.match(gs08[6:]) else gs08


def _reply_delimiters(ich: Interchange, isa12: str) -> Delimiters:
    """The inbound interchange's delimiters (the partner reads them), or ours when unusable."""
    usable = len(ich.isa.fields) == 17 and not ich.delimiters.collisions()
    delimiters = ich.delimiters if usable else CANONICAL_DELIMITERS
    if not repetition_allowed(isa12):
        return replace(delimiters, repetition=None)
    if delimiters.repetition is None:
        return replace(delimiters, repetition=CANONICAL_DELIMITERS.repetition)
    return delimiters


def _party(qualifier: str, identifier: str, delimiters: Delimiters) -> tuple[str, str]:
    """An address to reply to, even when the inbound ISA's was malformed (and so reported)."""
    qualifier = qualifier.strip()
    identifier = "".join(c for c in identifier.strip() if c not in delimiters.by_character())[:15]
    return (
        qualifier if len(qualifier) == 2 and not delimiters.by_character().keys() & set(qualifier) else "ZZ",
        identifier or "UNKNOWN",
    )


def _application(code: str, party: tuple[str, str], delimiters: Delimiters) -> str:
    """GS02 / GS03 of the reply: the inbound GS03 / GS02, or the ISA id when that is unusable."""
    code = code.strip()
    return code if 2 <= len(code) <= 15 and _safe(code, delimiters) else party[1]


def _safe(value: str, delimiters: Delimiters) -> str:
    """A copied value, or '' when it holds a delimiter X12 could not write (there is no escape)."""
    return "" if delimiters.by_character().keys() & set(value) else value
