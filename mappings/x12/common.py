"""What every X12 map shares: located mapping errors, element values, and the segments that mean
the same in every set (N1 loops, REF, PER, N9 notes, NTE, DTM, TD5, SAC, item id pairs).

Readers take ``edi.x12`` ``Segment`` objects and return canonical values; writers return segment
field lists (``['REF', 'IA', 'V48213']``) for ``edi.x12.writer.build_interchange``. Code lists
that translate between the standard and the model are tables here, not branches, so a map or a
partner can add a code without touching the code that reads it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from types import TracebackType

from edi.text import is_digits
from edi.x12.schema import default_schemas
from edi.x12.structures import Segment, TransactionSet
from engine.model.common import Address, Charge, Contact, Note, Party, PartyRole, Reference, Routing
from mappings.profile import PartnerProfile

#: A segment as the maps write it: the segment id, then element 1, 2, ... (no SE, no envelopes).
SegmentFields = list[str]

#: The versions these maps speak, as GS08 names them (an industry suffix such as VICS is ignored).
VERSIONS = ("004010", "005010")


def normalize_version(version: str) -> str:
    """'00401', '004010' or '004010VICS' -> '004010': maps differ by version, never by suffix."""
    six = version[:6] if len(version) >= 6 else version.ljust(6, "0")
    if six not in VERSIONS:
        raise ValueError(f"X12 version {version!r} is not one these maps speak ({', '.join(VERSIONS)})")
    return six


# -- located errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappingProblem:
    """One thing a map could not translate, located like a finding: set, segment position, element."""

    problem: str  # the predicate: "is not a number", "is missing", ...
    segment_id: str | None = None
    element: int | None = None  # 1-based
    value: str | None = None
    position: int | None = None  # segment position in the set, ST = 1
    transaction_set: str | None = None  # ST02
    line: str | None = None  # the canonical line it concerns, when writing

    @property
    def element_ref(self) -> str | None:
        """'PO102' for element 2 of PO1."""
        if self.segment_id is None or self.element is None:
            return self.segment_id
        return f"{self.segment_id}{self.element:02d}"

    def __str__(self) -> str:
        subject = self.element_ref or "the transaction set"
        name = element_name(self.segment_id, self.element)
        if name:
            subject += f" ({name})"
        if self.value:
            subject += f" {self.value!r}"
        where = []
        if self.transaction_set:
            where.append(f"ST {self.transaction_set}")
        if self.position is not None:
            where.append(f"segment {self.position}")
        if self.line is not None:
            where.append(f"line {self.line}")
        return f"{subject} {self.problem}" + (f" — {' / '.join(where)}" if where else "")


class MappingError(ValueError):
    """A document the map cannot translate, with every problem found and where it is.

    Readers collect problems segment by segment (``Problems``) and raise once, so a partner hears
    about everything wrong with a document at the same time.
    """

    def __init__(self, problems: Sequence[MappingProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, seg: Segment | None, element: int | None, problem: str, *, tag: str | None = None) -> MappingError:
        """A problem with element ``element`` of ``seg`` (or with a segment ``tag`` that is missing)."""
        if seg is None:
            return cls([MappingProblem(problem, segment_id=tag, element=element)])
        value = seg.element(element) if element is not None else None
        return cls([MappingProblem(problem, seg.tag, element, value or None, seg.position or None)])

    @classmethod
    def writing(cls, tag: str, element: int | None, problem: str, *, line: str | None = None) -> MappingError:
        """A canonical value that cannot be written as element ``element`` of ``tag``."""
        return cls([MappingProblem(problem, segment_id=tag, element=element, line=line)])


class Problems:
    """Collects mapping problems while a set is read, then raises them together."""

    def __init__(self, ts: TransactionSet | None = None) -> None:
        self.set_control_number = ts.control_number if ts is not None and ts.segments else None
        self.items: list[MappingProblem] = []

    def collecting(self) -> AbstractContextManager[None]:
        """Run one segment's mapping; a MappingError is kept and reading goes on."""
        return _Collecting(self)

    def keep(self, error: MappingError) -> None:
        self.items.extend(
            replace(p, transaction_set=p.transaction_set or self.set_control_number) for p in error.problems
        )

    def missing(self, tag: str) -> None:
        """A segment the set must have and has not (BEG, BCH): kept, so reading goes on."""
        self.keep(MappingError.at(None, None, "is missing", tag=tag))

    def raise_if_any(self) -> None:
        if self.items:
            raise MappingError(self.items)


class _Collecting(AbstractContextManager[None]):
    """``Problems.collecting``: a class, not a generator, for it wraps every segment a map reads."""

    __slots__ = ("problems",)

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool:
        if isinstance(error, MappingError):
            self.problems.keep(error)
            return True
        return False


def element_name(tag: str | None, element: int | None, version: str = "004010") -> str | None:
    """The dictionary's name of an element, for messages people read."""
    if tag is None or element is None:
        return None
    segment = default_schemas().segment(version, tag)
    if segment is None or not 1 <= element <= len(segment.elements):
        return None
    return segment.elements[element - 1].ref.name


# -- element values ---------------------------------------------------------------------------------


def text(seg: Segment, n: int) -> str | None:
    """Element n with padding removed, or None when empty (X12 has no empty-but-present value)."""
    # Segment.element inlined: maps read every element through here.
    fields = seg.fields
    return (fields[n].strip() or None) if n < len(fields) else None


def required(seg: Segment, n: int) -> str:
    fields = seg.fields
    value = fields[n].strip() if n < len(fields) else ""
    if not value:
        raise MappingError.at(seg, n, "is missing")
    return value


def component(seg: Segment, n: int, separator: str, index: int = 1) -> str | None:
    """Component ``index`` of composite element n (e.g. the unit in POC05 'EA>1')."""
    value = seg.element(n)
    parts = value.split(separator) if separator else [value]
    if index > len(parts):
        return None
    return parts[index - 1].strip() or None


#: The component separator fixtures and our writer use, for a set read without its interchange.
DEFAULT_COMPONENT = ">"


def component_separator(ts: TransactionSet) -> str:
    """The separator of composite elements (POC05 'EA>1') in the interchange ``ts`` came in."""
    return ts.group.interchange.delimiters.component if ts.group is not None else DEFAULT_COMPONENT


def decimal_at(seg: Segment, n: int) -> Decimal | None:
    """An R (decimal) element as a Decimal, exactly as sent."""
    value = text(seg, n)
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MappingError.at(seg, n, "is not a number") from None
    if not number.is_finite() or "e" in value.lower():
        raise MappingError.at(seg, n, "is not a number")
    return number


def quantity_at(seg: Segment, n: int) -> Decimal | None:
    number = decimal_at(seg, n)
    if number is not None and number < 0:
        raise MappingError.at(seg, n, "is a negative quantity")
    return number


def implied_decimal_at(seg: Segment, n: int, places: int = 2) -> Decimal | None:
    """An Nn element (implied decimal places, e.g. SAC05 N2 '895' = 8.95)."""
    value = text(seg, n)
    if value is None:
        return None
    digits = value[1:] if value[:1] in "+-" else value
    if not is_digits(digits):
        raise MappingError.at(seg, n, f"is not a whole number (N{places})")
    return Decimal(value).scaleb(-places)


def date_at(seg: Segment, n: int) -> date | None:
    """A DT element (CCYYMMDD) as a date."""
    value = text(seg, n)
    if value is None:
        return None
    try:
        if len(value) != 8 or not is_digits(value):
            raise ValueError(value)
        # What strptime("%Y%m%d") accepts, without its locale and regular expression machinery.
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise MappingError.at(seg, n, "is not a date (CCYYMMDD)") from None


def format_decimal(number: Decimal) -> str:
    """An R element: plain notation, as many places as the value has (3.25, 22.00, 36)."""
    if not number.is_finite():
        raise ValueError(f"{number} cannot be written as an X12 number")
    # str() is plain notation too unless it chose an exponent, and several times cheaper.
    written = str(number)
    if "E" in written:
        written = format(number, "f")
    return "0" if written in ("-0", "+0") else written


def format_implied(number: Decimal, tag: str, element: int, places: int = 2, *, line: str | None = None) -> str:
    """An Nn element: the value times 10**places, which must be whole (8.95 -> '895')."""
    scaled = number.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MappingError.writing(tag, element, f"{number} has more than {places} decimal places", line=line)
    return str(int(scaled))


def format_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def fields(tag: str, *elements: str | None) -> SegmentFields:
    """A segment's fields with None as an empty element (the builder trims trailing empties)."""
    return [tag, *["" if e is None else e for e in elements]]


# -- where segments belong ----------------------------------------------------------------------------


def body(ts: TransactionSet) -> list[Segment]:
    """The set's segments between ST and SE."""
    segments = ts.segments[1:]
    return segments[:-1] if segments and segments[-1].fields[0] == "SE" else segments


def sections(
    segments: Sequence[Segment], line_tag: str, summary_tags: Collection[str] = ("CTT",)
) -> tuple[list[Segment], list[list[Segment]], list[Segment]]:
    """Heading, detail loops (each starting at ``line_tag``: PO1, POC, ACK ...) and summary."""
    heading: list[Segment] = []
    lines: list[list[Segment]] = []
    summary: list[Segment] = []
    for seg in segments:
        tag = seg.fields[0]
        if summary or tag in summary_tags:
            summary.append(seg)
        elif tag == line_tag:
            lines.append([seg])
        elif lines:
            lines[-1].append(seg)
        else:
            heading.append(seg)
    return heading, lines, summary


def split_loops(
    segments: Sequence[Segment], head: str, members: Collection[str]
) -> tuple[list[Segment], list[list[Segment]]]:
    """Take every ``head`` loop (the head and the ``members`` that follow it) out of ``segments``.

    The standard's order puts a loop after the plain segments of its area, so a member tag right
    after a loop's head belongs to that loop (a REF after an N1 is the party's, not the order's).
    """
    rest: list[Segment] = []
    loops: list[list[Segment]] = []
    current: list[Segment] | None = None
    for seg in segments:
        tag = seg.fields[0]
        if tag == head:
            current = [seg]
            loops.append(current)
        elif current is not None and tag in members:
            current.append(seg)
        else:
            current = None
            rest.append(seg)
    return rest, loops


def check_set(ts: TransactionSet, set_id: str) -> None:
    """A map reads its own set only: anything else is a caller's mistake, said where it is."""
    if ts.id != set_id:
        raise MappingError.at(ts.segments[0], 1, f"is not {set_id}: this map reads {set_id}s only")


def is_test(ts: TransactionSet, profile: PartnerProfile) -> bool:
    """A document from a test interchange (ISA15 T) or from a partner in test mode: it never
    changes a live order."""
    interchange = ts.group.interchange if ts.group is not None else None
    return profile.usage == "T" or (interchange is not None and interchange.usage == "T")


#: Members of the N1 loop, in a heading or a detail line (X12 850/855/860/865 N1 loop).
N1_LOOP = frozenset({"N2", "N3", "N4", "REF", "PER", "SI", "FOB", "TD1", "TD5", "TD3", "TD4", "PKG", "DTM"})
#: Members of the N9 loop.
N9_LOOP = frozenset({"DTM", "MEA", "MSG", "MTX"})


#: Where a detail loop's own segments end: the SLN and AMT loops that follow are not mapped.
LINE_END = frozenset({"SLN", "AMT"})


def line_parts(loop: Sequence[Segment]) -> tuple[list[Segment], list[list[Segment]]]:
    """A PO1 / POC loop's own segments after its first, up to an SLN or AMT loop and without its
    N1 and N9 loops; and the N9 loops (a line's notes)."""
    own: list[Segment] = []
    for seg in loop[1:]:
        if seg.fields[0] in LINE_END:
            break
        own.append(seg)
    rest, _party_loops = split_loops(own, "N1", N1_LOOP)
    return split_loops(rest, "N9", N9_LOOP)


# -- parties: N1 / N2 / N3 / N4 / PER -----------------------------------------------------------------

#: N101 (Entity Identifier Code, element 98) <-> our party roles. Reading takes any row; writing
#: takes a role's first row.
PARTY_ROLES: tuple[tuple[str, PartyRole], ...] = (
    ("ST", PartyRole.SHIP_TO),
    ("BT", PartyRole.BILL_TO),
    ("BY", PartyRole.BUYING_PARTY),
    ("SF", PartyRole.SHIP_FROM),
    ("VN", PartyRole.VENDOR),
    ("SU", PartyRole.VENDOR),  # Supplier/Manufacturer
    ("RI", PartyRole.REMIT_TO),
    ("RE", PartyRole.REMIT_TO),  # Party to receive commercial invoice remittance
    ("SN", PartyRole.STORE),
    ("Z7", PartyRole.MARK_FOR),  # Mark-for Party
    ("OB", PartyRole.BUYING_PARTY),  # Ordered By
    ("ZZ", PartyRole.OTHER),  # Mutually Defined: what any other N101 is written back as
)
_ROLE_OF = {code: role for code, role in reversed(PARTY_ROLES)}
_CODE_OF = {role: code for code, role in reversed(PARTY_ROLES)}

#: PER03/05/07 (Communication Number Qualifier) <-> Contact fields.
CONTACT_NUMBERS: tuple[tuple[str, str], ...] = (("TE", "phone"), ("EM", "email"), ("FX", "fax"))
#: PER01 when a contact names no function: IC, Information Contact.
DEFAULT_CONTACT_FUNCTION = "IC"
#: N3 holds two address lines and may occur twice in an N1 loop.
MAX_ADDRESS_LINES = 4


def party_role(code: str) -> PartyRole:
    return _ROLE_OF.get(code, PartyRole.OTHER)


def party_code(role: PartyRole) -> str:
    return _CODE_OF[role]


def read_party(loop: Sequence[Segment]) -> Party:
    """One N1 loop. N2 (additional name: "C/O ...", a department) becomes the first address lines,
    where a label prints it: the model's party has a single name. REF and the rest are not kept."""
    n1 = loop[0]
    lines: list[str] = []
    city = state = postal = country = None
    seen_n4 = False
    contacts: list[Contact] = []
    for seg in loop[1:]:
        if seg.tag in ("N2", "N3"):
            lines += [v for v in (text(seg, 1), text(seg, 2)) if v]
        elif seg.tag == "N4" and not seen_n4:
            seen_n4 = True
            city, state, postal, country = text(seg, 1), text(seg, 2), text(seg, 3), text(seg, 4)
        elif seg.tag == "PER":
            contacts.append(read_contact(seg))
    address = None
    if lines or seen_n4:
        address = Address(lines=lines, city=city, state=state, postal_code=postal, country=country)
    return Party(
        role=party_role(required(n1, 1)),
        name=text(n1, 2),
        id_qualifier=text(n1, 3),
        id=text(n1, 4),
        address=address,
        contacts=contacts,
    )


def party_segments(party: Party) -> list[SegmentFields]:
    """N1, N3 (two lines each), N4 and one PER per contact."""
    if party.name is None and party.id is None:
        raise MappingError.writing("N1", 2, f"is needed: the {party.role} party has neither a name nor an id")
    if (party.id is None) != (party.id_qualifier is None):
        raise MappingError.writing("N1", 3, f"and N104 go together: the {party.role} party has only one of them")
    out = [fields("N1", party_code(party.role), party.name, party.id_qualifier, party.id)]
    address = party.address
    if address is not None:
        if len(address.lines) > MAX_ADDRESS_LINES:
            raise MappingError.writing("N3", 1, f"holds at most {MAX_ADDRESS_LINES} address lines (two N3 segments)")
        for i in range(0, len(address.lines), 2):
            out.append(fields("N3", *address.lines[i : i + 2]))
        if any((address.city, address.state, address.postal_code, address.country)):
            out.append(fields("N4", address.city, address.state, address.postal_code, address.country))
    out += [contact_segment(contact) for contact in party.contacts]
    return out


def read_contact(seg: Segment) -> Contact:
    """PER: function, name, and the phone, email and fax among its three numbers."""
    numbers: dict[str, str] = {}
    for n in (3, 5, 7):
        qualifier, number = text(seg, n), text(seg, n + 1)
        name = dict(CONTACT_NUMBERS).get(qualifier or "")
        if name and number and name not in numbers:
            numbers[name] = number
    return Contact(
        function=text(seg, 1),
        name=text(seg, 2),
        phone=numbers.get("phone"),
        email=numbers.get("email"),
        fax=numbers.get("fax"),
    )


def contact_segment(contact: Contact) -> SegmentFields:
    pairs: list[str | None] = []
    for qualifier, name in CONTACT_NUMBERS:
        number = getattr(contact, name)
        if number is not None:
            pairs += [qualifier, number]
    return fields("PER", contact.function or DEFAULT_CONTACT_FUNCTION, contact.name, *pairs)


# -- references, notes ------------------------------------------------------------------------------------


def read_reference(seg: Segment) -> Reference:
    """REF (or an N9 without message text): qualifier, identification, description."""
    return Reference(qualifier=required(seg, 1), value=text(seg, 2) or "", description=text(seg, 3))


def reference_segment(reference: Reference) -> SegmentFields:
    if not reference.value and reference.description is None:
        raise MappingError.writing("REF", 2, f"or REF03 is needed for reference {reference.qualifier}")
    return fields("REF", reference.qualifier, reference.value or None, reference.description)


#: N901 for notes: L1, Letters or Notes.
NOTE_QUALIFIER = "L1"
#: N902 for a note of no particular kind (N9 needs N902 or N903); read back as no kind.
NOTE_WITHOUT_CODE = "NOTE"
#: The message segment of the N9 loop: MSG in 004010, MTX (longer, with continuation) in 005010.
NOTE_TEXT_SEGMENT = {"004010": "MSG", "005010": "MTX"}
MSG_MAX = 264


def read_note_loop(loop: Sequence[Segment]) -> Note | Reference:
    """One N9 loop: with message lines it is a note (N902 its kind, the lines joined by line breaks);
    without, the N9 is a reference like a REF."""
    n9 = loop[0]
    lines = [line for seg in loop[1:] for line in _message_lines(seg)]
    if not lines:
        return read_reference(n9)
    code = text(n9, 2) or text(n9, 3)
    return Note(code=None if code == NOTE_WITHOUT_CODE else code, text="\n".join(lines))


def add_note_loops(
    loops: Iterable[Sequence[Segment]], notes: list[Note], references: list[Reference], problems: Problems
) -> None:
    """Each N9 loop to ``notes`` or, without message text, to ``references``; a loop that cannot
    be read is a problem kept, not the end of reading."""
    for loop in loops:
        with problems.collecting():
            found = read_note_loop(loop)
            if isinstance(found, Note):
                notes.append(found)
            else:
                references.append(found)


def _message_lines(seg: Segment) -> list[str]:
    if seg.tag == "MSG":
        return [seg.element(1).strip()]
    if seg.tag == "MTX":
        # MTX03 continues MTX02 when the text is longer than one element holds.
        return [(seg.element(2) + seg.element(3)).strip()]
    return []


def note_segments(note: Note, version: str) -> list[SegmentFields]:
    """N9*L1*<kind> and one MSG (004010) or MTX (005010) per line of the note."""
    text_tag = NOTE_TEXT_SEGMENT[normalize_version(version)]
    code = note.code if note.code is not None else NOTE_WITHOUT_CODE
    out = [fields("N9", NOTE_QUALIFIER, code)]
    for line in note.text.split("\n"):
        if not line.strip():
            raise MappingError.writing(text_tag, 1 if text_tag == "MSG" else 2, "cannot carry an empty line of a note")
        if text_tag == "MSG":
            if len(line) > MSG_MAX:
                raise MappingError.writing("MSG", 1, f"holds at most {MSG_MAX} characters; a note line has {len(line)}")
            out.append(fields("MSG", line))
        else:
            out.append(fields("MTX", None, line))
    return out


def read_nte(seg: Segment) -> Note:
    """NTE: note reference code (GEN, ...) as the kind, and the text."""
    return Note(code=text(seg, 1), text=required(seg, 2))


def nte_segment(note: Note) -> SegmentFields:
    if note.code is not None and len(note.code) != 3:
        raise MappingError.writing("NTE", 1, f"is a three-character code; {note.code!r} is not")
    return fields("NTE", note.code, note.text)


# -- dates -----------------------------------------------------------------------------------------------

#: DTM01 (Date/Time Qualifier, element 374) <-> a canonical field name. Reading takes any row
#: (the first date for a field wins); writing takes a field's first row.
DateTable = tuple[tuple[str, str], ...]

ORDER_DATES: DateTable = (
    ("010", "requested_ship_date"),  # Requested Ship
    ("001", "ship_by_date"),  # Cancel After
    ("038", "ship_by_date"),  # Ship No Later
    ("002", "delivery_date"),  # Delivery Requested
)
LINE_DATES: DateTable = (("010", "requested_ship_date"),)
#: A change request's line: the new date it asks for.
CHANGE_LINE_DATES: DateTable = (
    ("010", "ship_date"),  # Requested Ship
    ("038", "ship_date"),  # Ship No Later
)


#: Each date table as a lookup, made once (a table is read for every line).
_FIELD_OF: dict[DateTable, dict[str, str]] = {}


def read_dates(segments: Iterable[Segment], table: DateTable) -> dict[str, date]:
    """The fields the DTM segments among ``segments`` give dates to."""
    field_of = _FIELD_OF.get(table)
    if field_of is None:
        field_of = _FIELD_OF[table] = dict(table)
    found: dict[str, date] = {}
    for seg in segments:
        if seg.fields[0] != "DTM":
            continue
        name = field_of.get(seg.element(1))
        if name is not None and name not in found:
            value = date_at(seg, 2)
            if value is not None:
                found[name] = value
    return found


def date_segments(values: Mapping[str, date | None], table: DateTable) -> list[SegmentFields]:
    """One DTM per field that has a date, in the table's order."""
    out: list[SegmentFields] = []
    written: set[str] = set()
    for qualifier, name in table:
        value = values.get(name)
        if value is not None and name not in written:
            written.add(name)
            out.append(fields("DTM", qualifier, format_date(value)))
    return out


# -- routing, charges -----------------------------------------------------------------------------------

#: TD502 for a carrier named by its SCAC: 2, Standard Carrier Alpha Code.
SCAC_QUALIFIER = "2"


def read_routing(seg: Segment) -> Routing:
    """TD5: carrier (TD503), transport method (TD504), routing text (TD505), service level (TD512)."""
    return Routing(
        carrier_code=text(seg, 3),
        transport_method=text(seg, 4),
        routing=text(seg, 5),
        service_level=text(seg, 12),
    )


def routing_segment(routing: Routing) -> SegmentFields | None:
    """TD5, or None when the routing says nothing TD5 carries. TD5 has no carrier name element:
    a name is written as the routing text (TD505) when there is no other."""
    carrier = [SCAC_QUALIFIER, routing.carrier_code] if routing.carrier_code else [None, None]
    routing_text = routing.routing or routing.carrier_name
    if not any((routing.carrier_code, routing.transport_method, routing_text, routing.service_level)):
        return None
    elements = [None, *carrier, routing.transport_method, routing_text]
    if routing.service_level:
        elements += [None] * 6 + [routing.service_level]
    return fields("TD5", *elements)


#: SAC01 (Allowance or Charge Indicator, element 248) <-> Charge.kind.
CHARGE_KINDS: tuple[tuple[str, str], ...] = (("A", "allowance"), ("C", "charge"), ("N", "no_charge"))


def read_charge(seg: Segment) -> Charge:
    """SAC: indicator, code (SAC02), amount (SAC05, two implied decimals), description (SAC15)."""
    indicator = required(seg, 1)
    kind = dict(CHARGE_KINDS).get(indicator)
    if kind is None:
        raise MappingError.at(seg, 1, "is not an allowance or charge indicator (A, C, N)")
    return Charge(kind=kind, code=text(seg, 2), amount=implied_decimal_at(seg, 5), description=text(seg, 15))


def charge_segment(charge: Charge, *, line: str | None = None) -> SegmentFields:
    indicator = {kind: code for code, kind in CHARGE_KINDS}.get(charge.kind)
    if indicator is None:
        raise MappingError.writing("SAC", 1, f"has no code for charge kind {charge.kind!r}", line=line)
    if charge.code is None:
        raise MappingError.writing("SAC", 2, "is needed: the charge has no code", line=line)
    amount = format_implied(charge.amount, "SAC", 5, line=line) if charge.amount is not None else None
    elements: list[str | None] = [indicator, charge.code, None, None, amount]
    if charge.description is not None:
        elements += [None] * 9 + [charge.description]
    return fields("SAC", *elements)


# -- item ids ------------------------------------------------------------------------------------------

#: How an item id is kept when the profile does not know its qualifier: ``other:<qualifier>``.
OTHER_ITEM_ID = "other:"


def read_item_ids(seg: Segment, first: int, profile: PartnerProfile) -> dict[str, str]:
    """Qualifier / id pairs from element ``first`` on (PO106/PO107 ..., POC08/POC09 ...).

    A qualifier the profile maps becomes our kind (BP -> buyer_part); any other, or a second id of
    a kind already read, is kept as ``other:<qualifier>`` so that nothing the partner sent is lost.
    """
    kinds = profile.capabilities.item_id_qualifiers
    ids: dict[str, str] = {}
    elements = seg.fields
    count = len(elements)
    for n in range(first, count, 2):
        # text(seg, n) and text(seg, n + 1), inlined: a line has up to ten pairs.
        qualifier = elements[n].strip() or None
        value = (elements[n + 1].strip() or None) if n + 1 < count else None
        if qualifier is None and value is None:
            continue
        if qualifier is None or value is None:
            raise MappingError.at(seg, n + 1 if qualifier else n, "is missing: qualifier and id come in pairs")
        kind = kinds.get(qualifier)
        if kind is None or kind in ids:
            kind = OTHER_ITEM_ID + qualifier
        if kind not in ids:
            ids[kind] = value
    return ids


def item_id_elements(
    item_ids: Mapping[str, str],
    profile: PartnerProfile,
    *,
    tag: str,
    first: int,
    max_pairs: int,
    line: str | None = None,
    codes: Mapping[str, str] | None = None,
) -> list[str]:
    """The pairs for ``item_ids``: the kinds the profile expects first, in its order, then the rest.

    ``codes`` is ``item_id_codes(profile)``, for a caller writing many lines to work out once.
    """
    expected = profile.capabilities.item_ids_expected
    order = [k for k in expected if k in item_ids] + [k for k in item_ids if k not in expected]
    if len(order) > max_pairs:
        raise MappingError.writing(
            tag, first, f"holds at most {max_pairs} item ids; the line has {len(order)}", line=line
        )
    qualifier_of = item_id_codes(profile) if codes is None else codes
    out: list[str] = []
    for i, kind in enumerate(order):
        code = kind[len(OTHER_ITEM_ID) :] if kind.startswith(OTHER_ITEM_ID) else qualifier_of.get(kind)
        if code is None:
            raise MappingError.writing(
                tag, first + 2 * i, f"has no qualifier for item id kind {kind!r} in profile {profile.id}", line=line
            )
        out += [code, item_ids[kind]]
    return out


def item_id_codes(profile: PartnerProfile) -> dict[str, str]:
    """Our item id kind -> the qualifier the profile writes it with (its first, when it has several)."""
    codes: dict[str, str] = {}
    for qualifier, kind in profile.capabilities.item_id_qualifiers.items():
        codes.setdefault(kind, qualifier)
    return codes


# -- descriptions -----------------------------------------------------------------------------------------

#: PID05 (Description) holds 80 characters; a longer description takes several PIDs.
PID_MAX = 80
#: PID01 F: free-form description.
FREE_FORM = "F"


def read_description(segments: Iterable[Segment]) -> str | None:
    """The free-form PID descriptions of a line, joined with a space (a long one spans PIDs)."""
    parts = [
        value for seg in segments if seg.fields[0] == "PID" and seg.element(1) == FREE_FORM if (value := text(seg, 5))
    ]
    return " ".join(parts) or None


def description_segments(description: str | None) -> list[SegmentFields]:
    """PID*F****<text>, split between words into pieces of at most 80 characters."""
    if description is None:
        return []
    pieces: list[str] = []
    rest = description.strip()
    while len(rest) > PID_MAX:
        cut = rest.rfind(" ", 0, PID_MAX + 1)
        if cut <= 0:
            cut = PID_MAX
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return [fields("PID", FREE_FORM, None, None, None, piece) for piece in pieces]
