"""The order as both sides see it: lines with running quantities, statuses derived from them,
and the events that changed them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import computed_field

from engine.model.common import (
    Actor,
    Charge,
    Model,
    Money,
    Note,
    Party,
    PartyRole,
    Quantity,
    Reference,
    Routing,
    UtcDateTime,
    empty_dict,
    empty_list,
)

ZERO = Decimal(0)


class LineStatus(StrEnum):
    OPEN = "open"
    BACKORDERED = "backordered"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    CANCEL_PENDING = "cancel_pending"  # a retailer cancel waits for the supplier's acknowledgement


class OrderStatus(StrEnum):
    NEW = "new"  # not yet acknowledged
    ACKNOWLEDGED = "acknowledged"
    BACKORDERED = "backordered"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    RETAILER_CANCEL_PENDING = "retailer_cancel_pending"


class OrderPurpose(StrEnum):
    ORIGINAL = "original"
    REPLACE = "replace"
    CANCEL = "cancel"
    CHANGE = "change"
    CONFIRMATION = "confirmation"
    DUPLICATE = "duplicate"


class PendingChange(Model):
    """A retailer's change to a line (quantity, price, date) waiting for the supplier's answer."""

    kind: str  # a ChangeKind value (engine.model.documents)
    quantity: Quantity | None = None  # what the retailer now wants on the line: ordered less cancelled
    unit_price: Money | None = None
    ship_date: date | None = None
    document_id: str | None = None


class OrderLine(Model):
    line_number: str  # as the partner sent it
    item_ids: dict[str, str] = empty_dict()  # our kind (buyer_part, upc, ...) -> value
    description: str | None = None
    ordered_qty: Quantity
    uom: str = "EA"
    unit_price: Money | None = None
    requested_ship_date: date | None = None
    cancelled_qty: Quantity = ZERO
    backordered_qty: Quantity = ZERO
    backorder_ship_date: date | None = None
    shipped_qty: Quantity = ZERO
    pending_cancel_qty: Quantity = ZERO
    pending_change: PendingChange | None = None
    cancel_reason: str | None = None
    # What the supplier's latest acknowledgement (ours or a partner's) accepted for shipping, and
    # the price and ship date it accepted at when they differ from the order's; None until then.
    acknowledged_qty: Quantity | None = None
    acknowledged_unit_price: Money | None = None
    acknowledged_ship_date: date | None = None
    references: list[Reference] = empty_list()
    notes: list[Note] = empty_list()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_qty(self) -> Decimal:
        """Ordered, less cancelled and shipped; never negative."""
        return max(self.ordered_qty - self.cancelled_qty - self.shipped_qty, ZERO)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> LineStatus:
        if self.pending_cancel_qty > 0:
            return LineStatus.CANCEL_PENDING
        if self.cancelled_qty >= self.ordered_qty:
            return LineStatus.CANCELLED
        if self.open_qty == 0:
            return LineStatus.SHIPPED
        if self.shipped_qty > 0:
            return LineStatus.PARTIALLY_SHIPPED
        if self.backordered_qty > 0:
            return LineStatus.BACKORDERED
        return LineStatus.OPEN


class EventKind(StrEnum):
    RECEIVED = "received"
    DUPLICATE_RECEIVED = "duplicate_received"
    REPLACED = "replaced"
    ACKNOWLEDGED = "acknowledged"
    ITEMS_CANCELLED = "items_cancelled"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    RETAILER_CANCEL_REQUESTED = "retailer_cancel_requested"
    RETAILER_CANCEL_ACKNOWLEDGED = "retailer_cancel_acknowledged"
    RETAILER_CANCEL_REFUSED = "retailer_cancel_refused"
    CHANGE_REQUESTED = "change_requested"
    CHANGE_ACCEPTED = "change_accepted"
    CHANGE_REJECTED = "change_rejected"
    SENT = "sent"  # a purchase order we sent a supplier (an 850 from us)
    PARTNER_ACKNOWLEDGED = "partner_acknowledged"  # an 855 from a supplier we ordered from
    PARTNER_SHIPPED = "partner_shipped"  # an 856 from a supplier we ordered from


class LineEffect(Model):
    line_number: str
    quantity: Quantity | None = None
    reason: str | None = None
    ship_date: date | None = None


class OrderEvent(Model):
    """What changed an order: who, when, why, and which document carried it."""

    kind: EventKind
    at: UtcDateTime
    actor: Actor
    reason: str | None = None
    document_id: str | None = None
    lines: list[LineEffect] = empty_list()
    text: str | None = None


class Order(Model):
    partner_id: str
    po_number: str
    purpose: OrderPurpose = OrderPurpose.ORIGINAL
    order_type: str | None = None  # stand-alone, drop-ship, ... (the partner's code)
    order_date: date | None = None
    requested_ship_date: date | None = None
    ship_by_date: date | None = None  # do not ship after / cancel after
    delivery_date: date | None = None
    currency: str | None = None
    parties: list[Party] = empty_list()
    routing: Routing | None = None
    references: list[Reference] = empty_list()
    notes: list[Note] = empty_list()
    charges: list[Charge] = empty_list()
    lines: list[OrderLine] = empty_list()
    #: Items the retailer asked to add (an 860 add item), waiting for the supplier's answer: they
    #: join ``lines`` when accepted, so nothing ships, counts or changes status before then.
    pending_lines: list[OrderLine] = empty_list()
    test: bool = False  # from a test interchange (ISA15 T) or a partner in test mode
    acknowledged: bool = False
    events: list[OrderEvent] = empty_list()

    def party(self, role: PartyRole) -> Party | None:
        return next((p for p in self.parties if p.role == role), None)

    def line(self, line_number: str) -> OrderLine | None:
        for line in self.lines:
            if line.line_number == line_number:
                return line
        return None

    def lines_by_number(self) -> dict[str, OrderLine]:
        """Each line under its number (the first, as ``line`` finds it): one pass, for loops that
        look up many lines, where calling ``line`` for each would be quadratic."""
        index: dict[str, OrderLine] = {}
        for line in self.lines:
            index.setdefault(line.line_number, line)
        return index

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> OrderStatus:
        return order_status([line.status for line in self.lines], acknowledged=self.acknowledged)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal | None:
        """Ordered quantity times unit price over all lines; None when a price is missing."""
        if any(line.unit_price is None for line in self.lines):
            return None
        return sum((line.ordered_qty * (line.unit_price or ZERO) for line in self.lines), ZERO)


def order_status(statuses: list[LineStatus], *, acknowledged: bool) -> OrderStatus:
    """An order's status from its lines' statuses: callers that already hold them (storing many
    orders at once) derive it without working every line's status out again."""
    if LineStatus.CANCEL_PENDING in statuses:
        return OrderStatus.RETAILER_CANCEL_PENDING
    if statuses and all(s is LineStatus.CANCELLED for s in statuses):
        return OrderStatus.CANCELLED
    live = [s for s in statuses if s is not LineStatus.CANCELLED]
    if live and all(s is LineStatus.SHIPPED for s in live):
        return OrderStatus.SHIPPED
    if any(s in (LineStatus.SHIPPED, LineStatus.PARTIALLY_SHIPPED) for s in live):
        return OrderStatus.PARTIALLY_SHIPPED
    if LineStatus.BACKORDERED in live:
        return OrderStatus.BACKORDERED
    return OrderStatus.ACKNOWLEDGED if acknowledged else OrderStatus.NEW
