"""X12 855 Purchase Order Acknowledgment <-> ``Acknowledgement``, and the line acknowledgement
(ACK) vocabulary the 865 shares.

An 855 answers an order line by line: a PO1 loop per order line, and one ACK per acknowledged
quantity under it (a split line, "6 now, 4 backordered", is two ACKs under one PO1 and two
``LineAck`` values with the same line number). Code lists are tables; the partner's profile says
the backorder date qualifier (ACK04), how our cancel reasons are said (ACK01 and a REF), and the
item id qualifiers.

What the model has no place for is not read: the heading's N1 / PER / DTM, PO1's basis of unit
price, references under a line other than the reason. The ordered quantity (PO102) is not part of
an ``Acknowledgement``; ``write_ack`` echoes it from the order when one is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from edi.x12.structures import Segment, TransactionSet
from engine.model.documents import Acknowledgement, AckPurpose, AckType, LineAck, LineAckStatus
from engine.model.order import Order
from engine.model.reasons import CANCEL_REASON_LABELS, CancelReason
from mappings.profile import PartnerProfile, ReasonCode
from mappings.x12.common import (
    N1_LOOP,
    N9_LOOP,
    MappingError,
    Problems,
    SegmentFields,
    body,
    check_set,
    component_separator,
    date_at,
    decimal_at,
    fields,
    format_date,
    format_decimal,
    is_test,
    item_id_codes,
    item_id_elements,
    normalize_version,
    quantity_at,
    read_item_ids,
    read_reference,
    reference_segment,
    required,
    sections,
    split_loops,
    text,
)

SET_ID = "855"
FUNCTIONAL_ID = "PR"  # GS01

# -- code lists --------------------------------------------------------------------------------------

#: BAK01 / BCA01 (Transaction Set Purpose Code, element 353) <-> AckPurpose. Reading takes any
#: row; writing takes a purpose's first row (the 855 writes a change as 19 when the profile says so).
PURPOSES_855: tuple[tuple[str, AckPurpose], ...] = (
    ("00", AckPurpose.ORIGINAL),
    ("06", AckPurpose.ORIGINAL),  # Confirmation
    ("04", AckPurpose.CHANGE),
    ("19", AckPurpose.CHANGE),  # Seller initiated change
    ("05", AckPurpose.REPLACE),
    ("01", AckPurpose.CANCELLATION),
)
#: BAK01 for a change when the profile's ``change_after_first_ack`` is ``855-19``.
SELLER_INITIATED_CHANGE = "19"

#: BAK02 / BCA02 (Acknowledgment Type, element 587) -> AckType.
ACK_TYPES: tuple[tuple[str, AckType], ...] = (
    ("AD", AckType.ACCEPTED),  # With Detail, No Change
    ("AT", AckType.ACCEPTED),  # Accepted
    ("AK", AckType.ACCEPTED),  # No Detail or Change
    ("AP", AckType.ACCEPTED),  # Product Replenishment
    ("AC", AckType.ACCEPTED_WITH_CHANGES),  # With Detail and Change
    ("AE", AckType.ACCEPTED_WITH_CHANGES),  # With Exception Detail Only
    ("RD", AckType.REJECTED),  # Reject with Detail
    ("RJ", AckType.REJECTED),  # Rejected - No Detail
    ("RF", AckType.REJECTED),  # Reject with Exception Detail Only
    ("RN", AckType.REJECTED),  # Rejected - Not as Agreed
    ("RO", AckType.REJECTED),  # Rejected With Counter Offer
    ("RV", AckType.REJECTED),  # Rejected - Violates Industry Practices
)
#: What we write: (type, whether line detail follows) -> code. "With detail" codes need lines.
ACK_TYPE_CODES: Mapping[tuple[AckType, bool], str] = {
    (AckType.ACCEPTED, True): "AD",
    (AckType.ACCEPTED, False): "AT",
    (AckType.ACCEPTED_WITH_CHANGES, True): "AC",
    (AckType.ACCEPTED_WITH_CHANGES, False): "AC",
    (AckType.REJECTED, True): "RD",
    (AckType.REJECTED, False): "RJ",
}

#: ACK01 (Line Item Status Code, element 668) <-> LineAckStatus. Reading takes any row; writing
#: takes a status's first row. Holds (IH, IF, IW) have no canonical status and are refused.
LINE_STATUSES: tuple[tuple[str, LineAckStatus], ...] = (
    ("IA", LineAckStatus.ACCEPTED),
    ("AA", LineAckStatus.ACCEPTED),  # Accepted - Order Forwarded to Alternate Supplier Location
    ("AC", LineAckStatus.ACCEPTED),  # Accepted and Shipped
    ("AR", LineAckStatus.ACCEPTED),  # Accepted and Released for Shipment
    ("IE", LineAckStatus.ACCEPTED),  # Accepted, Price Pending
    ("SP", LineAckStatus.ACCEPTED),  # Accepted - Schedule Date Pending
    ("IC", LineAckStatus.ACCEPTED_WITH_CHANGES),
    ("IS", LineAckStatus.ACCEPTED_WITH_CHANGES),  # Accepted - Substitution Made
    ("IB", LineAckStatus.BACKORDERED),
    ("BP", LineAckStatus.BACKORDERED),  # Partial Shipment, Balance Backordered
    ("IQ", LineAckStatus.QUANTITY_CHANGED),
    ("IP", LineAckStatus.PRICE_CHANGED),
    ("DR", LineAckStatus.DATE_RESCHEDULED),
    ("IR", LineAckStatus.REJECTED),
    ("R1", LineAckStatus.REJECTED),  # Not a Contract Item
    ("R2", LineAckStatus.REJECTED),  # Invalid Item Product Number
    ("R3", LineAckStatus.REJECTED),  # Invalid Unit of Issue
    ("R4", LineAckStatus.REJECTED),  # Contract Item not Available
    ("R5", LineAckStatus.REJECTED),  # Reorder Item as a Just in Time (JIT) Order
    ("R6", LineAckStatus.REJECTED),  # Reorder Item as an Extended Delivery Order (EDO)
    ("R7", LineAckStatus.REJECTED),  # Reorder Item as a Drop Shipment
    ("R8", LineAckStatus.REJECTED),  # Reorder Item as a Surge Order
    ("ID", LineAckStatus.CANCELLED),  # Item Deleted
)
_STATUS_OF = dict(LINE_STATUSES)
_STATUS_CODE = {status: code for code, status in reversed(LINE_STATUSES)}
#: Statuses that take quantity away from the order: the ones a cancel reason explains.
CANCELLING = frozenset({LineAckStatus.REJECTED, LineAckStatus.CANCELLED})

#: ACK04 / DTM01 qualifiers (element 374) read as the line's ship date, besides the profile's own
#: backorder_date_qualifier: 068 Current Schedule Ship, 079 Promised for Shipment, 080 Scheduled for
#: Shipment (After and Including), 066 1st Schedule Ship. Delivery dates have no place on a LineAck.
SHIP_DATE_QUALIFIERS = ("068", "079", "080", "066")

#: REF01 of the reference that carries a cancel reason (REF02 the partner's code, REF03 its text):
#: ZZ, Mutually Defined, since the standard has no qualifier for it and the codes are agreed per
#: partner. Under a line it explains that line; in the heading, the whole acknowledgement.
REASON_QUALIFIER = "ZZ"
#: REF01 for the seller's order number, which the 855 carries in BAK08 (and the 865 in BCA09).
SELLER_ORDER_QUALIFIER = "VN"
#: PO105 / POC07 (Basis of Unit Price) with a price: PE, Price per Each.
PRICE_BASIS = "PE"


# -- the line a PO1 or POC describes -----------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    """What PO1 (or POC) says about a line, shared by every ACK under it."""

    line_number: str
    quantity: Decimal | None
    uom: str | None
    unit_price: Decimal | None
    item_ids: dict[str, str]


def read_line_loop(
    loop: Sequence[Segment],
    item: LineItem,
    header_type: AckType,
    profile: PartnerProfile,
    problems: Problems,
) -> list[LineAck]:
    """One PO1 / POC loop: a LineAck per ACK (with the DTMs of its ACK loop), or one from the line
    itself when no ACK follows, taking its status from the heading's acknowledgement type."""
    reason_ref: Segment | None = None
    acks: list[list[Segment]] = []
    current: list[Segment] | None = None  # the ACK loop being read: an ACK and its DTMs
    for seg in loop[1:]:
        if seg.tag == "ACK":
            current = [seg]
            acks.append(current)
        elif seg.tag == "DTM" and current is not None:
            current.append(seg)
        elif seg.tag == "REF" and not acks and seg.element(1) == REASON_QUALIFIER and reason_ref is None:
            reason_ref = seg  # the line's own REFs come before its ACK loops
        else:
            current = None
    out: list[LineAck] = []
    if not acks:
        status = LineAckStatus.REJECTED if header_type is AckType.REJECTED else LineAckStatus.ACCEPTED
        out.append(
            LineAck(
                line_number=item.line_number,
                status=status,
                quantity=item.quantity,
                uom=item.uom if item.quantity is not None else None,
                unit_price=item.unit_price,
                item_ids=item.item_ids,
                reason=read_reason(reason_ref, None, profile),
            )
        )
        return out
    for ack_loop in acks:
        with problems.collecting():
            out.append(_read_ack(ack_loop, item, reason_ref, profile))
    return out


def _read_ack(
    ack_loop: Sequence[Segment], item: LineItem, reason_ref: Segment | None, profile: PartnerProfile
) -> LineAck:
    ack = ack_loop[0]
    code = required(ack, 1)
    status = _STATUS_OF.get(code)
    if status is None:
        raise MappingError.at(ack, 1, "has no line acknowledgement status in the canonical model")
    quantity = quantity_at(ack, 2)
    ship_qualifiers = (profile.capabilities.backorder_date_qualifier, *SHIP_DATE_QUALIFIERS)
    ship_date: date | None = None
    if text(ack, 4) in ship_qualifiers:
        ship_date = date_at(ack, 5)
    for dtm in ack_loop[1:]:
        if ship_date is None and text(dtm, 1) in ship_qualifiers:
            ship_date = date_at(dtm, 2)
    return LineAck(
        line_number=item.line_number,
        status=status,
        quantity=quantity,
        uom=text(ack, 3) if quantity is not None else None,
        unit_price=item.unit_price,
        ship_date=ship_date,
        reason=read_reason(reason_ref, code, profile),
        item_ids=item.item_ids,
    )


def line_groups(lines: Sequence[LineAck]) -> list[list[LineAck]]:
    """Consecutive LineAcks that one PO1 / POC carries: same line, price, item ids and reason."""
    groups: list[list[LineAck]] = []
    for line in lines:
        if groups and _same_line(groups[-1][0], line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _same_line(a: LineAck, b: LineAck) -> bool:
    return (a.line_number, a.unit_price, a.item_ids, a.reason) == (b.line_number, b.unit_price, b.item_ids, b.reason)


def ack_loop_segments(group: Sequence[LineAck], profile: PartnerProfile) -> list[SegmentFields]:
    """The reason REF (when the lines have one) and an ACK per line, for under a PO1 / POC."""
    first = group[0]
    out: list[SegmentFields] = []
    if first.reason is not None:
        out.append(reason_segment(first.reason, profile, line=first.line_number))
    for line in group:
        out.append(ack_segment(line, profile))
    return out


def ack_segment(line: LineAck, profile: PartnerProfile) -> SegmentFields:
    """ACK01 status (the partner's code for a cancel reason), ACK02/03 quantity and unit, ACK04/05
    the ship date under the profile's qualifier (068 for one partner, 079 for another)."""
    quantity = format_decimal(line.quantity) if line.quantity is not None else None
    uom = (line.uom or "EA") if quantity is not None else None
    qualifier = profile.capabilities.backorder_date_qualifier if line.ship_date is not None else None
    ship_date = format_date(line.ship_date) if line.ship_date is not None else None
    return fields("ACK", line_status_code(line, profile), quantity, uom, qualifier, ship_date)


def line_status_code(line: LineAck, profile: PartnerProfile) -> str:
    """ACK01: the status's code, or for a cancelled or rejected line with a reason the profile
    crosswalks, the partner's own code for that reason (ID, IR, R2 ...)."""
    code = _STATUS_CODE[line.status]
    if line.status not in CANCELLING or line.reason is None:
        return code
    said = crosswalk(line.reason, profile)
    if said is None:
        return code
    if _STATUS_OF.get(said.ack_status) not in CANCELLING:
        raise MappingError.writing(
            "ACK",
            1,
            f"cannot be {said.ack_status!r}: profile {profile.id} says reason {line.reason} that way, "
            "which neither rejects nor cancels a line",
            line=line.line_number,
        )
    return said.ack_status


# -- reasons -------------------------------------------------------------------------------------------


def crosswalk(reason: str, profile: PartnerProfile) -> ReasonCode | None:
    """How the profile says one of our reasons, or None when it does not say (or it is not ours)."""
    try:
        ours = CancelReason(reason)
    except ValueError:
        return None
    return profile.capabilities.reasons.get(ours)


def reason_segment(reason: str, profile: PartnerProfile, *, line: str | None = None) -> SegmentFields:
    """REF*ZZ with the partner's reason code and text; our own code and label when the profile has
    none, so that the reason survives the trip."""
    said = crosswalk(reason, profile)
    code = said.code if said is not None and said.code else reason
    description = said.text if said is not None and said.text else _label(reason)
    if len(code) > 30:
        raise MappingError.writing("REF", 2, f"holds 30 characters; reason {code!r} is longer", line=line)
    return fields("REF", REASON_QUALIFIER, code, description)


def _label(reason: str) -> str | None:
    try:
        return CANCEL_REASON_LABELS[CancelReason(reason)]
    except ValueError:
        return None


def read_reason(ref: Segment | None, ack_code: str | None, profile: PartnerProfile) -> str | None:
    """Our reason for the partner's code (or text) in REF*ZZ; a code the profile does not know is
    kept as sent. Without a REF, an ACK01 code that only one of our reasons is said with (R2 for an
    invalid item, say) names that reason."""
    reasons = profile.capabilities.reasons
    if ref is not None:
        code, description = text(ref, 2), text(ref, 3)
        for ours, said in reasons.items():
            if code is not None and said.code == code:
                return ours.value
        if code is not None:
            return code
        for ours, said in reasons.items():
            if description is not None and said.text == description:
                return ours.value
        return None
    status = _STATUS_OF.get(ack_code or "")
    if ack_code is None or status is None or _STATUS_CODE[status] == ack_code:
        return None
    candidates = [ours.value for ours, said in reasons.items() if said.ack_status == ack_code]
    return candidates[0] if len(candidates) == 1 else None


# -- heading -------------------------------------------------------------------------------------------


def read_purpose(seg: Segment, n: int, table: Sequence[tuple[str, AckPurpose]]) -> AckPurpose:
    purpose = dict(table).get(required(seg, n))
    if purpose is None:
        raise MappingError.at(
            seg, n, "is not a purpose an acknowledgement has (original, change, replace, cancellation)"
        )
    return purpose


def read_ack_type(seg: Segment, n: int, default: AckType = AckType.ACCEPTED) -> AckType:
    code = text(seg, n)
    if code is None:
        return default
    ack_type = dict(ACK_TYPES).get(code)
    if ack_type is None:
        raise MappingError.at(seg, n, "is not an acknowledgement type the canonical model has")
    return ack_type


def purpose_code(purpose: AckPurpose, table: Sequence[tuple[str, AckPurpose]]) -> str:
    return next(code for code, row in table if row is purpose)


def ack_type_code(ack: Acknowledgement) -> str:
    return ACK_TYPE_CODES[ack.ack_type, bool(ack.lines)]


def heading_references(heading: Sequence[Segment]) -> tuple[list[Segment], Segment | None]:
    """The heading's own REFs other than the reason (not those of its N1 and N9 loops), and the
    reason's REF*ZZ."""
    rest, _parties = split_loops(heading, "N1", N1_LOOP)
    rest, _notes = split_loops(rest, "N9", N9_LOOP)
    refs: list[Segment] = []
    reason: Segment | None = None
    for seg in rest:
        if seg.tag != "REF":
            continue
        if seg.element(1) == REASON_QUALIFIER and reason is None:
            reason = seg
        else:
            refs.append(seg)
    return refs, reason


def order_date_for(ack: Acknowledgement, tag: str, element: int) -> str:
    """BAK04 / BCA06, the purchase order's date, which both sets require."""
    when = ack.order_date or ack.ack_date
    if when is None:
        raise MappingError.writing(tag, element, "is needed: the acknowledgement has neither an order date nor a date")
    return format_date(when)


def split_references(ack: Acknowledgement, *qualifiers: str) -> tuple[dict[str, str], list[SegmentFields]]:
    """The first reference of each qualifier the beginning segment carries (BAK08, BCA05 ...), and
    REF segments for the rest plus the reason."""
    taken: dict[str, str] = {}
    refs: list[SegmentFields] = []
    for reference in ack.references:
        if reference.qualifier in qualifiers and reference.qualifier not in taken and reference.value:
            taken[reference.qualifier] = reference.value
        else:
            refs.append(reference_segment(reference))
    return taken, refs


# -- reading and writing a whole set: what the 855 and the 865 do alike ---------------------------------


@dataclass(frozen=True)
class AckSet:
    """Where an 855 (BAK, PO1) and an 865 (BCA, POC) say the same things differently."""

    set_id: str
    beginning: str  # BAK / BCA
    line: str  # PO1 / POC
    purposes: Sequence[tuple[str, AckPurpose]]
    order_date: int  # BAK04 / BCA06
    ack_date: int  # BAK09 / BCA10
    #: Elements of the beginning segment kept as references: (REF01 qualifier, element).
    references: tuple[tuple[str, int], ...]
    of_change: bool


#: Reads a PO1 or POC: the segment, the profile and the component separator (POC05 is composite).
LineReader = Callable[[Segment, PartnerProfile, str], LineItem]


def read_acknowledgement(
    ts: TransactionSet, profile: PartnerProfile, layout: AckSet, read_line: LineReader, *, version: str
) -> Acknowledgement:
    """An 855 or 865 as an Acknowledgement; every problem in the set is raised together."""
    normalize_version(version)
    check_set(ts, layout.set_id)
    heading, loops, _summary = sections(body(ts), layout.line)
    problems = Problems(ts)
    beginning = heading[0] if heading and heading[0].tag == layout.beginning else None
    if beginning is None:
        raise MappingError.at(None, None, "is missing", tag=layout.beginning)
    purpose, ack_type, po_number = AckPurpose.ORIGINAL, AckType.ACCEPTED, ""
    order_date = ack_date = None
    with problems.collecting():
        purpose = read_purpose(beginning, 1, layout.purposes)
    with problems.collecting():
        po_number = required(beginning, 3)
    with problems.collecting():
        ack_type = read_ack_type(beginning, 2)
    with problems.collecting():
        order_date = date_at(beginning, layout.order_date)
    with problems.collecting():
        ack_date = date_at(beginning, layout.ack_date)
    refs, reason_ref = heading_references(heading)
    references = []
    for qualifier, n in layout.references:
        value = text(beginning, n)
        if value is not None:
            references.append(read_reference(Segment(["REF", qualifier, value])))
    for ref in refs:
        with problems.collecting():
            references.append(read_reference(ref))
    separator = component_separator(ts)
    lines: list[LineAck] = []
    for loop in loops:
        with problems.collecting():
            item = read_line(loop[0], profile, separator)
            lines += read_line_loop(loop, item, ack_type, profile, problems)
    problems.raise_if_any()
    return Acknowledgement(
        partner_id=profile.id,
        po_number=po_number,
        of_change=layout.of_change,
        purpose=purpose,
        ack_type=ack_type,
        ack_date=ack_date,
        order_date=order_date,
        reason=read_reason(reason_ref, None, profile),
        lines=lines,
        references=references,
        test=is_test(ts, profile),
    )


def heading_segments(
    set_id: str, beginning: SegmentFields, refs: Sequence[SegmentFields], ack: Acknowledgement, profile: PartnerProfile
) -> list[SegmentFields]:
    """ST, the beginning segment (BAK / BCA), the references and the reason's REF*ZZ."""
    out: list[SegmentFields] = [["ST", set_id], beginning, *refs]
    if ack.reason is not None:
        out.append(reason_segment(ack.reason, profile))
    return out


def detail_segments(
    ack: Acknowledgement,
    profile: PartnerProfile,
    line_segment: Callable[[LineAck], tuple[SegmentFields, Decimal | None]],
) -> list[SegmentFields]:
    """A PO1 / POC (``line_segment`` writes it and says its quantity) with its ACK loops per group
    of lines, and CTT: the number of those segments and the hash total of their quantities."""
    out: list[SegmentFields] = []
    count = 0
    hash_total = Decimal(0)
    any_quantity = False
    for group in line_groups(ack.lines):
        segment, quantity = line_segment(group[0])
        if quantity is not None:
            hash_total += quantity
            any_quantity = True
        out.append(segment)
        out += ack_loop_segments(group, profile)
        count += 1
    if count:
        out.append(fields("CTT", str(count), format_decimal(hash_total) if any_quantity else None))
    return out


# -- the 855 -------------------------------------------------------------------------------------------

#: PO106..PO125: ten qualifier / id pairs.
PO1_FIRST_ITEM_ID = 6
PO1_MAX_ITEM_IDS = 10


#: How an 855 says what ``read_acknowledgement`` reads: BAK01 purpose, BAK04 order date, BAK08 the
#: seller's order number, BAK09 the acknowledgement's date; PO1 loops.
BAK = AckSet(
    set_id=SET_ID,
    beginning="BAK",
    line="PO1",
    purposes=PURPOSES_855,
    order_date=4,
    ack_date=9,
    references=((SELLER_ORDER_QUALIFIER, 8),),
    of_change=False,
)


def read_ack(ts: TransactionSet, profile: PartnerProfile, *, version: str) -> Acknowledgement:
    """An 855 as an Acknowledgement; every problem in the set is raised together."""
    return read_acknowledgement(ts, profile, BAK, _read_po1, version=version)


def _read_po1(po1: Segment, profile: PartnerProfile, _separator: str) -> LineItem:
    line_number = text(po1, 1)
    if line_number is None:
        raise MappingError.at(po1, 1, "is missing: the line number ties the acknowledgement to the order line")
    return LineItem(
        line_number=line_number,
        quantity=quantity_at(po1, 2),
        uom=text(po1, 3),
        unit_price=decimal_at(po1, 4),
        item_ids=read_item_ids(po1, PO1_FIRST_ITEM_ID, profile),
    )


def write_ack(
    ack: Acknowledgement, profile: PartnerProfile, *, version: str, order: Order | None = None
) -> list[SegmentFields]:
    """The 855's segments from ST (without ST02 and SE, which ``build_interchange`` adds).

    ``order`` supplies each line's ordered quantity and unit (PO102 / PO103), which the
    acknowledgement itself does not carry; without it they are left out.
    """
    normalize_version(version)
    taken, refs = split_references(ack, SELLER_ORDER_QUALIFIER)
    purpose = purpose_code(ack.purpose, PURPOSES_855)
    if ack.purpose is AckPurpose.CHANGE and profile.capabilities.change_after_first_ack == "855-19":
        purpose = SELLER_INITIATED_CHANGE
    bak = fields(
        "BAK",
        purpose,
        ack_type_code(ack),
        ack.po_number,
        order_date_for(ack, "BAK", 4),
        None,
        None,
        None,
        taken.get(SELLER_ORDER_QUALIFIER),
        format_date(ack.ack_date) if ack.ack_date is not None else None,
    )
    ordered_lines = order.lines_by_number() if order is not None else {}
    codes = item_id_codes(profile)

    def po1(first: LineAck) -> tuple[SegmentFields, Decimal | None]:
        ordered = ordered_lines.get(first.line_number)
        quantity = ordered.ordered_qty if ordered is not None else None
        ids = item_id_elements(
            first.item_ids,
            profile,
            tag="PO1",
            first=PO1_FIRST_ITEM_ID,
            max_pairs=PO1_MAX_ITEM_IDS,
            line=first.line_number,
            codes=codes,
        )
        price = format_decimal(first.unit_price) if first.unit_price is not None else None
        segment = fields(
            "PO1",
            first.line_number,
            format_decimal(quantity) if quantity is not None else None,
            ordered.uom if ordered is not None else None,
            price,
            PRICE_BASIS if price is not None else None,
            *ids,
        )
        return segment, quantity

    return heading_segments(SET_ID, bak, refs, ack, profile) + detail_segments(ack, profile, po1)
