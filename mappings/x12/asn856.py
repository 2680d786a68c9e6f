"""X12 856 Ship Notice/Manifest <-> ``ShipNotice``.

The 856 is a tree of HL levels: one shipment (S), its orders (O), their packs (P, cartons with an
SSCC-18 label) and items (I). We write the shape the notice has: Shipment-Order-Pack-Item (BSN05
0001, "SOPI") when its orders have packs, Shipment-Order-Item (0004, "SOI") when they do not.
Reading takes both, with or without a tare level (T, pallets) between order and pack.

What the model has no place for is not read: TD1 weights and counts, the order's PRF date and
its N1 parties, item descriptions. Shipment references keep their qualifier, so a bill of lading
(REF*BM) stays a bill of lading; carrier tracking numbers are REF*CN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from edi.text import is_digits
from edi.x12.structures import Segment, TransactionSet
from engine.model.common import Party, Reference, Routing
from engine.model.documents import Pack, ShipNotice, ShippedItem, ShippedOrder
from mappings.profile import PartnerProfile
from mappings.x12.common import (
    MappingError,
    Problems,
    SegmentFields,
    body,
    date_at,
    fields,
    format_date,
    format_decimal,
    is_test,
    item_id_elements,
    normalize_version,
    party_segments,
    quantity_at,
    read_item_ids,
    read_party,
    read_reference,
    read_routing,
    reference_segment,
    required,
    routing_segment,
    split_loops,
    text,
)

SET_ID = "856"
FUNCTIONAL_ID = "SH"  # GS01

#: BSN01 (Transaction Set Purpose Code, element 353) <-> ShipNotice.purpose.
PURPOSES: tuple[tuple[str, str], ...] = (
    ("00", "original"),
    ("01", "cancellation"),
    ("04", "change"),
    ("05", "replace"),
    ("06", "confirmation"),
    ("07", "duplicate"),
)

#: BSN05 (Hierarchical Structure Code, element 1005) we read and write.
PACKED = "0001"  # Shipment, Order, Packaging, Item
UNPACKED = "0004"  # Shipment, Order, Item
#: 0002 (items above packs) and 0003 (packs above orders) do not fit packs held by an order.
STRUCTURES = (PACKED, UNPACKED)

#: HL03 (Hierarchical Level Code, element 735).
SHIPMENT, ORDER, TARE, PACK, ITEM = "S", "O", "T", "P", "I"

#: MAN01 (Marks and Numbers Qualifier, element 88): GM, the SSCC-18 (with or without its GS1-128
#: application identifier 00); CP, the carrier-assigned package id (a parcel tracking number).
SSCC_MARK = "GM"
TRACKING_MARK = "CP"
#: The GS1 application identifier of an SSCC; MAN02 carries the label's 20 digits, AI and SSCC.
SSCC_AI = "00"

#: REF01 for a carrier tracking number (CN, Carrier's Reference Number), at shipment or pack level.
TRACKING_QUALIFIER = "CN"
#: REF01 an item may carry its purchase order line in (LI, Line Item Identifier) when LIN01 is empty.
LINE_QUALIFIER = "LI"
#: DTM01 for the date shipped: 011, Shipped.
SHIPPED = "011"
#: TD101 (Packaging Code) for the carton count TD102 we write: CTN25, corrugated cartons.
CARTONS = "CTN25"
#: LIN03..LIN31: fifteen qualifier / id pairs from LIN02.
LIN_FIRST_ITEM_ID = 2
LIN_MAX_ITEM_IDS = 15
#: The members of an N1 loop inside an 856 HL loop.
N1_MEMBERS = frozenset({"N2", "N3", "N4", "REF", "PER", "FOB"})


# -- SSCC-18 --------------------------------------------------------------------------------------------


def sscc_check_digit(digits17: str) -> str:
    """GS1 mod-10: weights 3 and 1 from the right, the check digit brings the sum to a multiple of 10."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits17)))
    return str(-total % 10)


def valid_sscc(value: str) -> str:
    """The 18-digit SSCC of ``value`` (18 digits, or 20 with the 00 identifier), checked."""
    digits = value[len(SSCC_AI) :] if len(value) == 20 and value.startswith(SSCC_AI) else value
    if len(digits) != 18 or not is_digits(digits):
        raise MappingError.writing("MAN", 2, f"needs an SSCC-18 of 18 digits; {value!r} is not one")
    if sscc_check_digit(digits[:17]) != digits[17]:
        raise MappingError.writing(
            "MAN",
            2,
            f"SSCC {digits} has check digit {digits[17]}, where GS1 mod 10 gives {sscc_check_digit(digits[:17])}",
        )
    return digits


def _read_sscc(value: str) -> str:
    """As sent, less the 00 identifier: a partner's mislabelled carton is theirs to explain."""
    return value[len(SSCC_AI) :] if len(value) == 20 and value.startswith(SSCC_AI) and is_digits(value) else value


# -- reading --------------------------------------------------------------------------------------------


@dataclass
class _Level:
    """One HL and its segments, with what it became in the notice."""

    number: str
    parent: str | None
    code: str
    segments: list[Segment]
    order: ShippedOrder | None = None  # the order this level is or sits under
    pack: Pack | None = None  # the pack this level is or sits under


def read_ship_notice(ts: TransactionSet, profile: PartnerProfile, *, version: str) -> ShipNotice:
    """An 856 as a ShipNotice; every problem in the set is raised together."""
    normalize_version(version)
    if ts.id != SET_ID:
        raise MappingError.at(ts.segments[0], 1, f"is not {SET_ID}: this map reads {SET_ID}s only")
    segments = body(ts)
    problems = Problems(ts)
    bsn = segments[0] if segments and segments[0].tag == "BSN" else None
    if bsn is None:
        raise MappingError.at(None, None, "is missing", tag="BSN")
    purpose, shipment_id = "original", ""
    with problems.collecting():
        shipment_id = required(bsn, 2)
    with problems.collecting():
        code = required(bsn, 1)
        found = dict(PURPOSES).get(code)
        if found is None:
            raise MappingError.at(bsn, 1, "is not a ship notice purpose (00, 01, 04, 05, 06, 07)")
        purpose = found
    with problems.collecting():
        structure = text(bsn, 5) or PACKED
        if structure not in STRUCTURES:
            raise MappingError.at(bsn, 5, "has packs above orders or below items, which a ShipNotice cannot hold")
    document_date: date | None = None
    with problems.collecting():
        document_date = date_at(bsn, 3)
    heading = [seg for seg in segments[1:] if seg.tag != "CTT"]
    ship_date = _shipped(heading[: next((i for i, s in enumerate(heading) if s.tag == "HL"), len(heading))], problems)

    levels: dict[str, _Level] = {}
    ordered: list[_Level] = []
    for seg in heading:
        if seg.tag == "HL":
            with problems.collecting():
                level = _Level(required(seg, 1), text(seg, 2), required(seg, 3), [seg])
                if level.parent is not None and level.parent not in levels:
                    raise MappingError.at(seg, 2, "names no earlier HL")
                levels[level.number] = level
                ordered.append(level)
        elif ordered:
            ordered[-1].segments.append(seg)

    routing: Routing | None = None
    tracking: list[str] = []
    parties: list[Party] = []
    references: list[Reference] = []
    orders: list[ShippedOrder] = []
    shipments = 0
    for level in ordered:
        parent = levels[level.parent] if level.parent is not None else None
        with problems.collecting():
            if level.code == SHIPMENT:
                shipments += 1
                if shipments > 1:
                    raise MappingError.at(level.segments[0], 3, "is a second shipment; a ShipNotice is one")
                routing, tracking, parties, references, shipped = _read_shipment(level.segments, problems)
                ship_date = shipped or ship_date
            elif level.code == ORDER:
                prf = next((s for s in level.segments if s.tag == "PRF"), None)
                if prf is None:
                    raise MappingError.at(level.segments[0], None, "is an order level without its PRF (PO number)")
                level.order = ShippedOrder(po_number=required(prf, 1))
                orders.append(level.order)
            elif level.code == TARE:
                level.order = parent.order if parent is not None else None
            elif level.code == PACK:
                level.order = parent.order if parent is not None else None
                if level.order is None:
                    raise MappingError.at(level.segments[0], 2, "puts a pack under no order")
                level.pack = _read_pack(level.segments)
                level.order.packs.append(level.pack)
            elif level.code == ITEM:
                level.order = parent.order if parent is not None else None
                level.pack = parent.pack if parent is not None else None
                if level.order is None:
                    raise MappingError.at(level.segments[0], 2, "puts an item under no order")
                item = _read_item(level.segments, profile)
                (level.pack.items if level.pack is not None else level.order.items).append(item)
            else:
                raise MappingError.at(level.segments[0], 3, "is a level a ShipNotice has no place for")
    problems.raise_if_any()
    notice_date = ship_date or document_date
    if notice_date is None:
        raise MappingError.at(bsn, 3, "is missing, and no DTM*011 gives the date shipped")
    return ShipNotice(
        partner_id=profile.id,
        shipment_id=shipment_id,
        ship_date=notice_date,
        purpose=purpose,
        routing=routing,
        tracking_numbers=tracking,
        parties=parties,
        orders=orders,
        references=references,
        test=is_test(ts, profile),
    )


def _shipped(segments: Sequence[Segment], problems: Problems) -> date | None:
    for seg in segments:
        if seg.tag == "DTM" and seg.element(1) == SHIPPED:
            with problems.collecting():
                return date_at(seg, 2)
    return None


def _read_shipment(
    segments: Sequence[Segment], problems: Problems
) -> tuple[Routing | None, list[str], list[Party], list[Reference], date | None]:
    """HL S: TD5 routing, REF*CN tracking, other REFs, DTM*011 shipped, N1 ship-from / ship-to."""
    own, party_loops = split_loops(segments, "N1", N1_MEMBERS)
    routing = None
    tracking: list[str] = []
    references: list[Reference] = []
    for seg in own:
        with problems.collecting():
            if seg.tag == "TD5" and routing is None:
                read = read_routing(seg)
                routing = read if read != Routing() else None
            elif seg.tag == "REF" and seg.element(1) == TRACKING_QUALIFIER:
                tracking.append(required(seg, 2))
            elif seg.tag == "REF":
                references.append(read_reference(seg))
    parties: list[Party] = []
    for loop in party_loops:
        with problems.collecting():
            parties.append(read_party(loop))
    return routing, tracking, parties, references, _shipped(own, problems)


def _read_pack(segments: Sequence[Segment]) -> Pack:
    """HL P: MAN*GM the SSCC, MAN*CP or REF*CN the parcel's tracking number."""
    sscc = tracking = None
    for seg in segments:
        if seg.tag == "MAN":
            for n in (1, 4):
                qualifier, value = text(seg, n), text(seg, n + 1)
                if qualifier == SSCC_MARK and value and sscc is None:
                    sscc = _read_sscc(value)
                elif qualifier == TRACKING_MARK and value and tracking is None:
                    tracking = value
        elif seg.tag == "REF" and seg.element(1) == TRACKING_QUALIFIER and tracking is None:
            tracking = text(seg, 2)
    return Pack(sscc=sscc, tracking_number=tracking)


def _read_item(segments: Sequence[Segment], profile: PartnerProfile) -> ShippedItem:
    """HL I: LIN item ids, SN1 quantity and unit; the line number from LIN01, SN101 or REF*LI."""
    hl = segments[0]
    lin = next((s for s in segments if s.tag == "LIN"), None)
    sn1 = next((s for s in segments if s.tag == "SN1"), None)
    if sn1 is None:
        raise MappingError.at(hl, None, "is an item level without its SN1 (quantity shipped)")
    line_ref = next((s for s in segments if s.tag == "REF" and s.element(1) == LINE_QUALIFIER), None)
    line_number = (
        (text(lin, 1) if lin is not None else None)
        or text(sn1, 1)
        or (text(line_ref, 2) if line_ref is not None else None)
    )
    if line_number is None:
        raise MappingError.at(lin or sn1, 1, "is missing: no LIN01, SN101 or REF*LI names the order line")
    quantity = quantity_at(sn1, 2)
    if quantity is None:
        raise MappingError.at(sn1, 2, "is missing")
    return ShippedItem(
        line_number=line_number,
        quantity=quantity,
        uom=required(sn1, 3),
        item_ids=read_item_ids(lin, LIN_FIRST_ITEM_ID, profile) if lin is not None else {},
    )


# -- writing --------------------------------------------------------------------------------------------


class _Tree:
    """HL segments numbered as they are written: HL01 counting up from 1, HL02 the parent's."""

    def __init__(self) -> None:
        self.segments: list[SegmentFields] = []
        self.count = 0

    def level(self, code: str, parent: str | None, has_children: bool, body: Sequence[SegmentFields]) -> str:
        self.count += 1
        number = str(self.count)
        self.segments.append(fields("HL", number, parent, code, "1" if has_children else "0"))
        self.segments += body
        return number


def write_ship_notice(
    notice: ShipNotice, profile: PartnerProfile, *, version: str, created: datetime | None = None
) -> list[SegmentFields]:
    """The 856's segments from ST (without ST02 and SE, which ``build_interchange`` adds).

    ``created`` is when the notice was made (BSN03 / BSN04); the date shipped is DTM*011.
    """
    normalize_version(version)
    when = created or datetime.now()
    purpose = {name: code for code, name in reversed(PURPOSES)}.get(notice.purpose)
    if purpose is None:
        raise MappingError.writing("BSN", 1, f"has no code for purpose {notice.purpose!r}")
    packed = any(order.packs for order in notice.orders)
    if packed:
        for order in notice.orders:
            if order.items:
                raise MappingError.writing(
                    "HL",
                    3,
                    f"cannot put order {order.po_number}'s loose items beside packs: in structure 0001 every "
                    "item is in a pack",
                )
    ssccs = {id(pack): valid_sscc(pack.sscc) for order in notice.orders for pack in order.packs if pack.sscc}
    out: list[SegmentFields] = [
        ["ST", SET_ID],
        fields("BSN", purpose, notice.shipment_id, format_date(when.date()), when.strftime("%H%M"),
               PACKED if packed else UNPACKED),
    ]  # fmt: skip
    tree = _Tree()
    shipment = tree.level(SHIPMENT, None, bool(notice.orders), _shipment_body(notice, packed))
    for order in notice.orders:
        order_id = tree.level(ORDER, shipment, bool(order.packs or order.items), [fields("PRF", order.po_number)])
        for pack in order.packs:
            pack_body: list[SegmentFields] = []
            if pack.tracking_number:
                pack_body.append(fields("REF", TRACKING_QUALIFIER, pack.tracking_number))
            if pack.sscc:
                pack_body.append(fields("MAN", SSCC_MARK, SSCC_AI + ssccs[id(pack)]))
            pack_id = tree.level(PACK, order_id, bool(pack.items), pack_body)
            for item in pack.items:
                tree.level(ITEM, pack_id, False, _item_body(item, profile))
        for item in order.items:
            tree.level(ITEM, order_id, False, _item_body(item, profile))
    out += tree.segments
    out.append(fields("CTT", str(tree.count)))
    return out


def _shipment_body(notice: ShipNotice, packed: bool) -> list[SegmentFields]:
    """TD1 (the carton count, when packed), TD5, REFs, DTM*011, then the N1 loops: the HL loop's order."""
    out: list[SegmentFields] = []
    if packed:
        out.append(fields("TD1", CARTONS, str(sum(len(order.packs) for order in notice.orders))))
    if notice.routing is not None:
        td5 = routing_segment(notice.routing)
        if td5 is not None:
            out.append(td5)
    out += [fields("REF", TRACKING_QUALIFIER, number) for number in notice.tracking_numbers]
    out += [reference_segment(reference) for reference in notice.references]
    out.append(fields("DTM", SHIPPED, format_date(notice.ship_date)))
    for party in notice.parties:
        out += party_segments(party)
    return out


def _item_body(item: ShippedItem, profile: PartnerProfile) -> list[SegmentFields]:
    """LIN (line number and item ids) and SN1; without item ids there is no LIN, and SN101 names the line."""
    ids = item_id_elements(
        item.item_ids, profile, tag="LIN", first=LIN_FIRST_ITEM_ID, max_pairs=LIN_MAX_ITEM_IDS, line=item.line_number
    )
    quantity = format_decimal(item.quantity)
    if not ids:
        return [fields("SN1", item.line_number, quantity, item.uom)]
    return [fields("LIN", item.line_number, *ids), fields("SN1", None, quantity, item.uom)]
