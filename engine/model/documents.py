"""The other business documents, in the same words as the order: a change request from the
retailer, an acknowledgement from the supplier, and a ship notice."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from engine.model.common import Model, Money, Note, Party, Quantity, Reference, Routing, empty_dict, empty_list


# -- order change (860, ORDCHG) --------------------------------------------------------------------
class ChangeKind(StrEnum):
    CANCEL_LINE = "cancel_line"  # delete the item / cancel the line's remaining quantity
    QUANTITY_DECREASE = "quantity_decrease"
    QUANTITY_INCREASE = "quantity_increase"
    PRICE_CHANGE = "price_change"
    DATE_CHANGE = "date_change"
    ADD_ITEM = "add_item"
    QUANTITY_AND_PRICE = "quantity_and_price"
    QUANTITY_AND_DATE = "quantity_and_date"
    PRICE_AND_DATE = "price_and_date"
    REPLACE_ALL = "replace_all"
    NO_CHANGE = "no_change"


#: Changes that reduce what may ship: they become pending retailer cancels.
CANCELLING_CHANGES = frozenset({ChangeKind.CANCEL_LINE, ChangeKind.QUANTITY_DECREASE})


class ChangePurpose(StrEnum):
    CANCEL_ORDER = "cancel_order"  # the whole order (BCH01 01, ORDCHG 1)
    CHANGE = "change"
    REPLACE = "replace"


class LineChangeRequest(Model):
    line_number: str
    kind: ChangeKind
    quantity: Quantity | None = None  # the new ordered quantity (for decreases: what remains)
    quantity_change: Quantity | None = None  # by how much (POC03)
    uom: str | None = None
    unit_price: Money | None = None
    ship_date: date | None = None
    item_ids: dict[str, str] = empty_dict()
    description: str | None = None


class OrderChange(Model):
    partner_id: str
    po_number: str
    purpose: ChangePurpose
    change_date: date | None = None
    change_number: str | None = None  # the retailer's change order sequence
    reason: str | None = None
    lines: list[LineChangeRequest] = empty_list()
    test: bool = False  # from a test interchange or a partner in test mode: never changes a live order
    references: list[Reference] = empty_list()
    notes: list[Note] = empty_list()


# -- acknowledgement (855, 865, ORDRSP) --------------------------------------------------------------
class AckType(StrEnum):
    ACCEPTED = "accepted"  # accepted, no change (BAK02 AD/AT/AK)
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"  # AC
    REJECTED = "rejected"  # RD / RJ


class AckPurpose(StrEnum):
    ORIGINAL = "original"
    CHANGE = "change"  # a later acknowledgement that changes an earlier one
    REPLACE = "replace"
    CANCELLATION = "cancellation"


class LineAckStatus(StrEnum):
    ACCEPTED = "accepted"  # IA
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"  # IC
    BACKORDERED = "backordered"  # IB (BP when partly)
    QUANTITY_CHANGED = "quantity_changed"  # IQ
    PRICE_CHANGED = "price_changed"  # IP
    DATE_RESCHEDULED = "date_rescheduled"  # DR
    REJECTED = "rejected"  # IR / R1..R8
    CANCELLED = "cancelled"  # ID (item deleted)


class LineAck(Model):
    line_number: str
    status: LineAckStatus
    quantity: Quantity | None = None
    uom: str | None = None
    unit_price: Money | None = None
    ship_date: date | None = None  # promised / scheduled ship date (backorders)
    reason: str | None = None  # our reason code; profiles translate it
    item_ids: dict[str, str] = empty_dict()


class Acknowledgement(Model):
    """An 855 (of an order) or 865 (of a change), read or about to be written."""

    partner_id: str
    po_number: str
    of_change: bool = False  # True for an 865 / an answer to a change request
    purpose: AckPurpose = AckPurpose.ORIGINAL
    ack_type: AckType = AckType.ACCEPTED
    ack_date: date | None = None
    order_date: date | None = None
    reason: str | None = None
    lines: list[LineAck] = empty_list()
    references: list[Reference] = empty_list()
    test: bool = False  # a test order's acknowledgement goes out as test; a test one never changes a live order


# -- ship notice (856, DESADV) -------------------------------------------------------------------------
class ShippedItem(Model):
    line_number: str
    quantity: Quantity
    uom: str = "EA"
    item_ids: dict[str, str] = empty_dict()


class Pack(Model):
    sscc: str | None = None  # SSCC-18 carton label
    tracking_number: str | None = None
    items: list[ShippedItem] = empty_list()


class ShippedOrder(Model):
    po_number: str
    packs: list[Pack] = empty_list()  # SOPI: items inside packs
    items: list[ShippedItem] = empty_list()  # SOI: items directly under the order


class ShipNotice(Model):
    partner_id: str
    shipment_id: str
    ship_date: date
    purpose: str = "original"
    routing: Routing | None = None
    tracking_numbers: list[str] = empty_list()
    parties: list[Party] = empty_list()
    orders: list[ShippedOrder] = empty_list()
    references: list[Reference] = empty_list()
    test: bool = False  # as for acknowledgements
