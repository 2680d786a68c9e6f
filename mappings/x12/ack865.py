"""X12 865 Purchase Order Change Acknowledgment <-> ``Acknowledgement(of_change=True)``.

The 865 answers a change request (860) line by line as the 855 answers an order: a POC per
changed line, with the same ACK loops, reasons and ship dates (``mappings.x12.ack855``). Its own
parts are the BCA heading and the POC line, whose change type (POC02) echoes the request.

BCA05 (the change order sequence number being answered) is kept as a reference PP (Purchase Order
Revision Number), BCA09 (the seller's order number) as a reference VN, so that an answer can be
matched to its request; BCA04 (release number) is not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from edi.x12.structures import Segment, TransactionSet
from engine.model.documents import (
    Acknowledgement,
    AckPurpose,
    ChangeKind,
    LineAck,
    LineAckStatus,
    LineChangeRequest,
    OrderChange,
)
from mappings.profile import PartnerProfile
from mappings.x12.ack855 import (
    PRICE_BASIS,
    SELLER_ORDER_QUALIFIER,
    AckSet,
    LineItem,
    ack_type_code,
    detail_segments,
    heading_segments,
    order_date_for,
    purpose_code,
    read_acknowledgement,
    split_references,
)
from mappings.x12.change860 import CHANGE_KINDS
from mappings.x12.common import (
    MappingError,
    SegmentFields,
    component,
    decimal_at,
    fields,
    format_date,
    format_decimal,
    item_id_elements,
    normalize_version,
    quantity_at,
    read_item_ids,
    text,
)

SET_ID = "865"
FUNCTIONAL_ID = "CA"  # GS01

#: BCA01 (element 353) <-> AckPurpose. Writing takes a purpose's first row: an answer to the
#: buyer's change is 06 Confirmation, and the 865's other use, a change of our own after the first
#: acknowledgement, is 19 Seller initiated change.
PURPOSES_865: tuple[tuple[str, AckPurpose], ...] = (
    ("06", AckPurpose.ORIGINAL),  # Confirmation
    ("00", AckPurpose.ORIGINAL),
    ("19", AckPurpose.CHANGE),  # Seller initiated change
    ("04", AckPurpose.CHANGE),
    ("05", AckPurpose.REPLACE),
    ("01", AckPurpose.CANCELLATION),
)

#: POC02 (Change or Response Type Code, element 670) for the change a line answers, when the
#: request is at hand: the code the 860 map writes for that kind of change.
CHANGE_TYPE_CODES: Mapping[ChangeKind, str] = {kind: code for code, kind in reversed(CHANGE_KINDS)}
#: POC02 without the request: what the answer itself says the line's change was.
STATUS_CHANGE_TYPES: Mapping[LineAckStatus, str] = {
    LineAckStatus.CANCELLED: "DI",  # Delete Item(s)
    LineAckStatus.REJECTED: "RC",  # Reject Item Change
    LineAckStatus.PRICE_CHANGED: "PC",  # Price Change
    LineAckStatus.DATE_RESCHEDULED: "RS",  # Reschedule
}
#: POC02 for any other line: CA, Changes To Line Items.
DEFAULT_CHANGE_TYPE = "CA"

#: REF01 for the change order sequence number BCA05 answers: PP, Purchase Order Revision Number.
CHANGE_NUMBER_QUALIFIER = "PP"
#: POC08..POC27: ten qualifier / id pairs.
POC_FIRST_ITEM_ID = 8
POC_MAX_ITEM_IDS = 10


#: How an 865 says what ``read_acknowledgement`` reads: BCA01 purpose, BCA05 the change order
#: sequence number answered, BCA06 order date, BCA09 the seller's order number, BCA10 the
#: acknowledgement's date; POC loops.
BCA = AckSet(
    set_id=SET_ID,
    beginning="BCA",
    line="POC",
    purposes=PURPOSES_865,
    order_date=6,
    ack_date=10,
    references=((CHANGE_NUMBER_QUALIFIER, 5), (SELLER_ORDER_QUALIFIER, 9)),
    of_change=True,
)


def read_ack(ts: TransactionSet, profile: PartnerProfile, *, version: str) -> Acknowledgement:
    """An 865 as an Acknowledgement of a change; every problem in the set is raised together."""
    return read_acknowledgement(ts, profile, BCA, _read_poc, version=version)


def _read_poc(poc: Segment, profile: PartnerProfile, separator: str) -> LineItem:
    """POC: line (POC01), quantity ordered (POC03), unit (POC05-1), price (POC06), item ids."""
    line_number = text(poc, 1)
    if line_number is None:
        raise MappingError.at(poc, 1, "is missing: the line number ties the acknowledgement to the order line")
    return LineItem(
        line_number=line_number,
        quantity=quantity_at(poc, 3),
        uom=component(poc, 5, separator),
        unit_price=decimal_at(poc, 6),
        item_ids=read_item_ids(poc, POC_FIRST_ITEM_ID, profile),
    )


def write_ack(
    ack: Acknowledgement, profile: PartnerProfile, *, version: str, change: OrderChange | None = None
) -> list[SegmentFields]:
    """The 865's segments from ST (without ST02 and SE, which ``build_interchange`` adds).

    ``change`` is the request being answered: POC02 then echoes each line's change type and POC03 /
    POC04 / POC05 its new quantity. Without it POC02 says what the answer did and the quantities
    are left out.
    """
    normalize_version(version)
    taken, refs = split_references(ack, CHANGE_NUMBER_QUALIFIER, SELLER_ORDER_QUALIFIER)
    bca = fields(
        "BCA",
        purpose_code(ack.purpose, PURPOSES_865),
        ack_type_code(ack),
        ack.po_number,
        None,
        taken.get(CHANGE_NUMBER_QUALIFIER),
        order_date_for(ack, "BCA", 6),
        None,
        None,
        taken.get(SELLER_ORDER_QUALIFIER),
        format_date(ack.ack_date) if ack.ack_date is not None else None,
    )
    requested = {line.line_number: line for line in change.lines} if change is not None else {}

    def poc(first: LineAck) -> tuple[SegmentFields, Decimal | None]:
        request = requested.get(first.line_number)
        quantity = request.quantity if request is not None else None
        return _poc(first, request, quantity, profile), quantity

    return heading_segments(SET_ID, bca, refs, ack, profile) + detail_segments(ack, profile, poc)


def _poc(
    line: LineAck, request: LineChangeRequest | None, quantity: Decimal | None, profile: PartnerProfile
) -> SegmentFields:
    change_type = (
        CHANGE_TYPE_CODES[request.kind]
        if request is not None
        else STATUS_CHANGE_TYPES.get(line.status, DEFAULT_CHANGE_TYPE)
    )
    ids = item_id_elements(
        line.item_ids, profile, tag="POC", first=POC_FIRST_ITEM_ID, max_pairs=POC_MAX_ITEM_IDS, line=line.line_number
    )
    price = format_decimal(line.unit_price) if line.unit_price is not None else None
    written = format_decimal(quantity) if quantity is not None else None
    # C030405: a quantity ordered needs the quantity left to receive and the unit with it.
    uom = ((request.uom if request is not None else None) or line.uom or "EA") if written is not None else None
    return fields(
        "POC",
        line.line_number,
        change_type,
        written,
        written,
        uom,
        price,
        PRICE_BASIS if price is not None else None,
        *ids,
    )
