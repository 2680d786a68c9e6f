"""860 Purchase Order Change Request (buyer initiated) <-> ``OrderChange``, 004010 and 005010.

Read: BCH, REF, N9 loops; per POC loop POC, PID and DTM. ``POC03`` is the line's new ordered
quantity (what the change asks for, not the difference) and ``POC04`` what is left to receive;
the model keeps the first, and the map writes the second equal to it. Not kept, for the change
model has no place for them: BCH02 (order type) and BCH06 (order date), which the writer takes
from the order being changed; the heading's DTM, N1 loops, TD5 and SAC; a line's REF, SAC and N1.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from edi.x12.structures import Segment, TransactionSet
from engine.model.common import Note, Reference
from engine.model.documents import ChangeKind, ChangePurpose, LineChangeRequest, OrderChange
from engine.model.order import Order
from mappings.profile import PartnerProfile
from mappings.x12.common import (
    CHANGE_LINE_DATES,
    N1_LOOP,
    N9_LOOP,
    MappingError,
    Problems,
    SegmentFields,
    add_note_loops,
    body,
    check_set,
    component,
    component_separator,
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
    quantity_at,
    read_dates,
    read_description,
    read_item_ids,
    read_reference,
    reference_segment,
    required,
    sections,
    split_loops,
    text,
)

SET_ID = "860"
FUNCTIONAL_ID = "PC"

#: BCH01 (Transaction Set Purpose Code, element 353) <-> ChangePurpose.
CHANGE_PURPOSES: tuple[tuple[str, ChangePurpose], ...] = (
    ("01", ChangePurpose.CANCEL_ORDER),  # Cancellation: the whole order
    ("04", ChangePurpose.CHANGE),
    ("05", ChangePurpose.REPLACE),
)

#: POC02 (Change or Response Type Code, element 670) <-> ChangeKind. Reading takes any row;
#: writing takes a kind's first row.
CHANGE_KINDS: tuple[tuple[str, ChangeKind], ...] = (
    ("DI", ChangeKind.CANCEL_LINE),  # Delete Item(s)
    ("CF", ChangeKind.CANCEL_LINE),  # Cancel Previously Transmitted Purchase Order, said of a line
    ("QD", ChangeKind.QUANTITY_DECREASE),
    ("QI", ChangeKind.QUANTITY_INCREASE),
    ("PC", ChangeKind.PRICE_CHANGE),
    ("AI", ChangeKind.ADD_ITEM),  # Add Additional Item(s)
    ("RS", ChangeKind.DATE_CHANGE),  # Reschedule
    ("CT", ChangeKind.DATE_CHANGE),  # Change of Dates
    ("RQ", ChangeKind.QUANTITY_AND_DATE),  # Reschedule/Quantity Change
    ("PQ", ChangeKind.QUANTITY_AND_PRICE),  # Unit Price/Quantity Change
    ("PR", ChangeKind.PRICE_AND_DATE),  # Unit Price/Reschedule Change
    ("NC", ChangeKind.NO_CHANGE),  # Concurrent Item (No Change)
    ("RZ", ChangeKind.REPLACE_ALL),  # Replace All Values
    ("CA", ChangeKind.REPLACE_ALL),  # Changes To Line Items: the values sent replace the line's
)
#: POC07 (Basis of Unit Price Code): PE, price per each.
PRICE_BASIS = "PE"
#: POC08/POC09 .. POC26/POC27: ten item id pairs.
POC_FIRST_ITEM_ID = 8
POC_ITEM_ID_PAIRS = 10

_PURPOSE_OF = dict(CHANGE_PURPOSES)
_PURPOSE_CODE = {purpose: code for code, purpose in reversed(CHANGE_PURPOSES)}
_KIND_OF = dict(CHANGE_KINDS)
_KIND_CODE = {kind: code for code, kind in reversed(CHANGE_KINDS)}


# -- reading -------------------------------------------------------------------------------------------


def read_change(ts: TransactionSet, profile: PartnerProfile, *, version: str) -> OrderChange:
    """The change request an 860 carries; every problem in it is raised together as one MappingError."""
    normalize_version(version)
    check_set(ts, SET_ID)
    problems = Problems(ts)
    heading, line_loops, _summary = sections(body(ts), "POC")
    rest, _party_loops = split_loops(heading, "N1", N1_LOOP)
    rest, note_loops = split_loops(rest, "N9", N9_LOOP)
    separator = component_separator(ts)

    change: dict[str, Any] = {"partner_id": profile.id}
    references: list[Reference] = []
    notes: list[Note] = []
    bch_seen = False
    for seg in rest:
        with problems.collecting():
            if seg.tag == "BCH":
                bch_seen = True
                change.update(_read_bch(seg))
            elif seg.tag == "REF":
                references.append(read_reference(seg))
    if not bch_seen:
        problems.missing("BCH")
    add_note_loops(note_loops, notes, references, problems)
    lines: list[LineChangeRequest] = []
    for index, loop in enumerate(line_loops, start=1):
        with problems.collecting():
            lines.append(_read_line(loop, index, profile, separator))
    problems.raise_if_any()
    return OrderChange(
        **change,
        lines=lines,
        references=references,
        notes=notes,
        test=is_test(ts, profile),
    )


def _read_bch(seg: Segment) -> dict[str, Any]:
    purpose = _PURPOSE_OF.get(required(seg, 1))
    if purpose is None:
        raise MappingError.at(seg, 1, "is not a change purpose this map knows (01 cancel, 04 change, 05 replace)")
    return {
        "purpose": purpose,
        "po_number": required(seg, 3),
        "change_number": text(seg, 5),
        "change_date": date_at(seg, 10),
    }


def _read_line(loop: Sequence[Segment], index: int, profile: PartnerProfile, separator: str) -> LineChangeRequest:
    poc = loop[0]
    rest, _note_loops = line_parts(loop)
    kind = _KIND_OF.get(required(poc, 2))
    if kind is None:
        raise MappingError.at(poc, 2, "is not a change this map knows")
    return LineChangeRequest(
        line_number=text(poc, 1) or str(index),
        kind=kind,
        quantity=quantity_at(poc, 3),
        uom=component(poc, 5, separator),
        unit_price=decimal_at(poc, 6),
        item_ids=read_item_ids(poc, POC_FIRST_ITEM_ID, profile),
        description=read_description(rest),
        **read_dates(rest, CHANGE_LINE_DATES),
    )


# -- writing -------------------------------------------------------------------------------------------


def write_change(
    change: OrderChange, profile: PartnerProfile, *, version: str, order: Order | None = None
) -> list[SegmentFields]:
    """The 860's segments from ST to the last before SE, for ``build_interchange``.

    BCH02 (order type) and BCH06 (order date) are mandatory and not part of a change request:
    they come from ``order``, the order being changed.
    """
    version = normalize_version(version)
    if order is None or order.order_type is None:
        raise MappingError.writing("BCH", 2, "is needed: pass the order being changed, with its order type")
    if order.order_date is None:
        raise MappingError.writing("BCH", 6, "is needed: the order being changed has no order date")
    date = format_date(change.change_date) if change.change_date is not None else None
    out: list[SegmentFields] = [["ST", SET_ID]]
    out.append(
        fields(
            "BCH",
            _PURPOSE_CODE[change.purpose],
            order.order_type,
            change.po_number,
            None,
            change.change_number,
            format_date(order.order_date),
            None,
            None,
            None,
            date,
        )
    )
    out += [reference_segment(reference) for reference in change.references]
    for note in change.notes:
        out += note_segments(note, version)
    for line in change.lines:
        out += _line_segments(line, profile)
    if change.lines:
        quantities = (line.quantity for line in change.lines if line.quantity is not None)
        out.append(fields("CTT", str(len(change.lines)), format_decimal(sum(quantities, Decimal(0)))))
    return out


def _line_segments(line: LineChangeRequest, profile: PartnerProfile) -> list[SegmentFields]:
    number = line.line_number
    quantity = format_decimal(line.quantity) if line.quantity is not None else None
    if quantity is not None and line.uom is None:
        raise MappingError.writing("POC", 5, "is needed with a quantity: the line has no unit", line=number)
    price = [format_decimal(line.unit_price), PRICE_BASIS] if line.unit_price is not None else [None, None]
    ids = item_id_elements(
        line.item_ids, profile, tag="POC", first=POC_FIRST_ITEM_ID, max_pairs=POC_ITEM_ID_PAIRS, line=number
    )
    # POC04, quantity left to receive: a change request knows no receipts, so it is the new quantity.
    out = [fields("POC", number, _KIND_CODE[line.kind], quantity, quantity, line.uom, *price, *ids)]
    out += description_segments(line.description)
    out += date_segments({"ship_date": line.ship_date}, CHANGE_LINE_DATES)
    return out
