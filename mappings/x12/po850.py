"""850 Purchase Order <-> ``Order``, in 004010 and 005010 (they differ only in the note text
segment, MSG or MTX, which ``common`` handles).

Read: BEG, CUR, REF, PER, SAC, DTM, TD5, N9 loops, N1 loops; per PO1 loop PO1, PID, REF, DTM, MSG
and N9 loops. N2 (additional name) joins the party's address lines. Not kept, for the model has
no place for them: FOB, ITD, BEG04 (release), PO105 (price basis: PE is written), PO4, SAC and
N1 loops of a line, SLN loops, a second TD5, REF inside an N1 loop, MTX01. CTT and AMT are totals
the model derives, so they are written and not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from edi.x12.structures import Segment, TransactionSet
from engine.model.common import Charge, Contact, Note, Party, PartyRole, Reference, Routing
from engine.model.order import Order, OrderLine, OrderPurpose
from mappings.profile import PartnerProfile
from mappings.x12.common import (
    LINE_DATES,
    N1_LOOP,
    N9_LOOP,
    ORDER_DATES,
    MappingError,
    Problems,
    SegmentFields,
    add_note_loops,
    body,
    charge_segment,
    check_set,
    contact_segment,
    date_at,
    date_segments,
    decimal_at,
    description_segments,
    fields,
    format_date,
    format_decimal,
    is_test,
    item_id_elements,
    line_parts,
    normalize_version,
    note_segments,
    party_segments,
    quantity_at,
    read_charge,
    read_contact,
    read_dates,
    read_description,
    read_item_ids,
    read_party,
    read_reference,
    read_routing,
    reference_segment,
    required,
    routing_segment,
    sections,
    split_loops,
    text,
)

SET_ID = "850"
FUNCTIONAL_ID = "PO"

#: BEG01 (Transaction Set Purpose Code, element 353) <-> OrderPurpose; writing takes the first row.
ORDER_PURPOSES: tuple[tuple[str, OrderPurpose], ...] = (
    ("00", OrderPurpose.ORIGINAL),
    ("01", OrderPurpose.CANCEL),
    ("04", OrderPurpose.CHANGE),
    ("05", OrderPurpose.REPLACE),
    ("06", OrderPurpose.CONFIRMATION),
    ("07", OrderPurpose.DUPLICATE),
)
#: CUR01: the currency is the buying party's (BY).
CURRENCY_ENTITY = "BY"
#: PO105 (Basis of Unit Price Code): PE, price per each, the only basis the model's unit price means.
PRICE_BASIS = "PE"
#: PO106/PO107 .. PO124/PO125: ten item id pairs.
PO1_FIRST_ITEM_ID = 6
PO1_ITEM_ID_PAIRS = 10
#: AMT01 TT: total transaction amount.
TOTAL_AMOUNT = "TT"
_AMT_LOOP = frozenset({"REF", "DTM"})

#: How a heading SAC counts toward AMT*TT.
_SIGN = {"charge": 1, "allowance": -1}

_PURPOSE_OF = dict(ORDER_PURPOSES)
_PURPOSE_CODE = {purpose: code for code, purpose in reversed(ORDER_PURPOSES)}


# -- reading -------------------------------------------------------------------------------------------


def read_order(ts: TransactionSet, profile: PartnerProfile, *, version: str) -> Order:
    """The order an 850 carries; every problem in it is raised together as one MappingError."""
    normalize_version(version)
    check_set(ts, SET_ID)
    problems = Problems(ts)
    heading, line_loops, _summary = sections(body(ts), "PO1")
    rest, _amount_loops = split_loops(heading, "AMT", _AMT_LOOP)
    rest, party_loops = split_loops(rest, "N1", N1_LOOP)
    rest, note_loops = split_loops(rest, "N9", N9_LOOP)

    order: dict[str, Any] = {"partner_id": profile.id}
    references: list[Reference] = []
    notes: list[Note] = []
    charges: list[Charge] = []
    buyer_contacts: list[Contact] = []
    routing: Routing | None = None
    beg_seen = False
    for seg in rest:
        with problems.collecting():
            tag = seg.fields[0]
            if tag == "BEG":
                beg_seen = True
                order.update(_read_beg(seg))
            elif tag == "CUR":
                order["currency"] = required(seg, 2)
            elif tag == "REF":
                references.append(read_reference(seg))
            elif tag == "PER":
                buyer_contacts.append(read_contact(seg))
            elif tag == "SAC":
                charges.append(read_charge(seg))
            elif tag == "TD5" and routing is None:
                routing = read_routing(seg)
    with problems.collecting():
        order.update(read_dates(rest, ORDER_DATES))
    if not beg_seen:
        problems.missing("BEG")
    add_note_loops(note_loops, notes, references, problems)
    parties: list[Party] = []
    for loop in party_loops:
        with problems.collecting():
            parties.append(read_party(loop))
    if buyer_contacts:
        _attach_buyer_contacts(parties, buyer_contacts)
    lines: list[OrderLine] = []
    for index, loop in enumerate(line_loops, start=1):
        with problems.collecting():
            lines.append(_read_line(loop, index, profile, problems))
    problems.raise_if_any()
    return Order(
        **order,
        parties=parties,
        routing=routing,
        references=references,
        notes=notes,
        charges=charges,
        lines=lines,
        test=is_test(ts, profile),
    )


def _read_beg(seg: Segment) -> dict[str, Any]:
    purpose = _PURPOSE_OF.get(required(seg, 1))
    if purpose is None:
        raise MappingError.at(seg, 1, "is not an order purpose this map knows (00, 01, 04, 05, 06, 07)")
    order_date = date_at(seg, 5)
    if order_date is None:
        raise MappingError.at(seg, 5, "is missing")
    return {
        "purpose": purpose,
        "order_type": required(seg, 2),
        "po_number": required(seg, 3),
        "order_date": order_date,
    }


def _attach_buyer_contacts(parties: list[Party], contacts: list[Contact]) -> None:
    """The heading PER is the buyer's: it joins the buying party, or stands as one of its own."""
    for i, party in enumerate(parties):
        if party.role == PartyRole.BUYING_PARTY:
            parties[i] = party.model_copy(update={"contacts": [*contacts, *party.contacts]})
            return
    parties.append(Party(role=PartyRole.BUYING_PARTY, contacts=contacts))


def _read_line(loop: Sequence[Segment], index: int, profile: PartnerProfile, problems: Problems) -> OrderLine:
    po1 = loop[0]
    rest, note_loops = line_parts(loop)
    quantity = quantity_at(po1, 2)
    if quantity is None:
        raise MappingError.at(po1, 2, "is missing")
    references: list[Reference] = []
    notes: list[Note] = []
    for seg in rest:
        tag = seg.fields[0]
        if tag == "REF":
            with problems.collecting():
                references.append(read_reference(seg))
        elif tag == "MSG":
            with problems.collecting():
                notes.append(Note(text=required(seg, 1)))
    add_note_loops(note_loops, notes, references, problems)
    line: dict[str, Any] = {
        "line_number": text(po1, 1) or str(index),
        "item_ids": read_item_ids(po1, PO1_FIRST_ITEM_ID, profile),
        "description": read_description(rest),
        "ordered_qty": quantity,
        "unit_price": decimal_at(po1, 4),
        "references": references,
        "notes": notes,
        **read_dates(rest, LINE_DATES),
    }
    uom = text(po1, 3)
    if uom is not None:
        line["uom"] = uom
    return OrderLine(**line)


# -- writing -------------------------------------------------------------------------------------------


def write_order(order: Order, profile: PartnerProfile, *, version: str) -> list[SegmentFields]:
    """The 850's segments from ST to the last before SE, for ``build_interchange``."""
    version = normalize_version(version)
    if order.order_type is None:
        raise MappingError.writing("BEG", 2, "is needed: the order has no order type")
    if order.order_date is None:
        raise MappingError.writing("BEG", 5, "is needed: the order has no order date")
    if not order.lines:
        raise MappingError.writing("PO1", None, "is needed: an 850 has at least one line")
    out: list[SegmentFields] = [["ST", SET_ID]]
    out.append(
        fields(
            "BEG", _PURPOSE_CODE[order.purpose], order.order_type, order.po_number, None, format_date(order.order_date)
        )
    )
    if order.currency is not None:
        out.append(fields("CUR", CURRENCY_ENTITY, order.currency))
    out += [reference_segment(reference) for reference in order.references]
    # A buying party known only by its contacts is the heading PER (where read_order found it).
    out += [contact_segment(contact) for party in order.parties if _contacts_only(party) for contact in party.contacts]
    out += [charge_segment(charge) for charge in order.charges]
    out += date_segments(_dates(order), ORDER_DATES)
    if order.routing is not None:
        td5 = routing_segment(order.routing)
        if td5 is not None:
            out.append(td5)
    for note in order.notes:
        out += note_segments(note, version)
    for party in order.parties:
        if not _contacts_only(party):
            out += party_segments(party)
    for line in order.lines:
        out += _line_segments(line, profile, version)
    out.append(
        fields(
            "CTT", str(len(order.lines)), format_decimal(sum((line.ordered_qty for line in order.lines), Decimal(0)))
        )
    )
    total = transaction_total(order)
    if total is not None:
        out.append(fields("AMT", TOTAL_AMOUNT, format_decimal(total)))
    return out


def transaction_total(order: Order) -> Decimal | None:
    """AMT*TT: the lines' total with the heading's charges added and allowances taken off, as
    partners send it; None when a line has no price."""
    total = order.total
    if total is None:
        return None
    for charge in order.charges:
        if charge.amount is not None and charge.kind in _SIGN:
            total += _SIGN[charge.kind] * charge.amount
    return total


def _contacts_only(party: Party) -> bool:
    return party.role == PartyRole.BUYING_PARTY and party.name is None and party.id is None and bool(party.contacts)


def _dates(order: Order) -> dict[str, date | None]:
    return {
        "requested_ship_date": order.requested_ship_date,
        "ship_by_date": order.ship_by_date,
        "delivery_date": order.delivery_date,
    }


def _line_segments(line: OrderLine, profile: PartnerProfile, version: str) -> list[SegmentFields]:
    number = line.line_number
    price = [format_decimal(line.unit_price), PRICE_BASIS] if line.unit_price is not None else [None, None]
    ids = item_id_elements(
        line.item_ids, profile, tag="PO1", first=PO1_FIRST_ITEM_ID, max_pairs=PO1_ITEM_ID_PAIRS, line=number
    )
    out = [fields("PO1", number, format_decimal(line.ordered_qty), line.uom, *price, *ids)]
    out += description_segments(line.description)
    out += [reference_segment(reference) for reference in line.references]
    out += date_segments({"requested_ship_date": line.requested_ship_date}, LINE_DATES)
    for note in line.notes:
        out += note_segments(note, version)
    return out
