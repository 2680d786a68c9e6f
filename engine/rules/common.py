"""What every rule shares: finding lines, the checks whose sentences must read the same everywhere,
moving quantities, and the acknowledgement that states an order's lines as they now are."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from engine.model import (
    Acknowledgement,
    AckPurpose,
    AckType,
    Actor,
    EventKind,
    LineAck,
    LineAckStatus,
    LineEffect,
    Order,
    OrderEvent,
    OrderLine,
    ShipNotice,
)
from engine.model.order import ZERO
from engine.rules.outcome import OutboundDocument, Outcome, Refusal, RuleRefused

T = TypeVar("T")


def check_now(now: datetime) -> None:
    """Rules stamp events with ``now``; a naive time is a programming error, not a refusal."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware time (UTC)")


def utc_date(now: datetime) -> date:
    """The date documents carry: the UTC date of ``now``."""
    return now.astimezone(UTC).date()


def first(*values: T | None) -> T | None:
    """The first value that is not None (a zero price or quantity counts)."""
    for value in values:
        if value is not None:
            return value
    return None


def qty(value: Decimal) -> str:
    """A quantity as people write it: 5, not 5.000 or 5E+0."""
    return f"{value.normalize():f}"


def line_of(order: Order, number: str, *, what: str = "") -> OrderLine:
    line = order.line(number)
    if line is None:
        raise RuleRefused(
            Refusal.UNKNOWN_LINE,
            f"Line {number}{what} is not on purchase order {order.po_number}.",
            line_number=number,
        )
    return line


def check_document_for(order: Order, *, partner_id: str, po_number: str, test: bool, name: str) -> None:
    """A document applies only to its own order, and a test document never to a live order."""
    if partner_id != order.partner_id or po_number != order.po_number:
        raise RuleRefused(
            Refusal.WRONG_ORDER,
            f"This {name} is for purchase order {po_number} of partner {partner_id}, "
            f"not purchase order {order.po_number} of partner {order.partner_id}.",
        )
    if test and not order.test:
        raise RuleRefused(
            Refusal.TEST_DOCUMENT_FOR_LIVE_ORDER,
            f"This {name} is a test document and purchase order {order.po_number} is a live order, "
            "so it was not applied.",
        )


def check_positive(quantity: Decimal, number: str, verb: str) -> None:
    if quantity <= 0:
        raise RuleRefused(
            Refusal.QUANTITY_NOT_POSITIVE,
            f"The quantity to {verb} on line {number} must be more than zero, not {qty(quantity)}.",
            line_number=number,
        )


def check_within_open(line: OrderLine, quantity: Decimal, *, verb: str, passive: str) -> None:
    """``verb`` and ``passive`` as in "nothing open to cancel" and "5 cannot be cancelled"."""
    if line.open_qty == 0:
        raise RuleRefused(
            Refusal.NOTHING_OPEN,
            f"Line {line.line_number} has nothing open to {verb}.",
            line_number=line.line_number,
        )
    if quantity > line.open_qty:
        raise RuleRefused(
            Refusal.QUANTITY_ABOVE_OPEN,
            f"Line {line.line_number} has only {qty(line.open_qty)} open, so {qty(quantity)} cannot {passive}.",
            line_number=line.line_number,
        )


def check_no_pending_cancel(line: OrderLine, doing: str) -> None:
    """Decided: while the retailer's cancel waits on a line, the supplier answers it first.

    Shipping it would ship what the retailer asked not to receive; cancelling or backordering it
    ourselves would send an 855 crossing the 865 the retailer is waiting for.
    """
    if line.pending_cancel_qty > 0:
        raise RuleRefused(
            Refusal.RETAILER_CANCEL_PENDING,
            f"Line {line.line_number} has a cancel from the retailer waiting for your answer: "
            f"acknowledge or refuse it before you {doing}.",
            line_number=line.line_number,
        )


def wanted(line: OrderLine) -> Decimal:
    """What the retailer still wants on a line: ordered less cancelled (shipped included).

    A change's quantity is read against this: units already cancelled count as gone.
    """
    return line.ordered_qty - line.cancelled_qty


def settle(line: OrderLine) -> None:
    """Keep the quantities that hang on open quantity within it after open quantity went down."""
    line.backordered_qty = min(line.backordered_qty, line.open_qty)
    if line.backordered_qty == 0:
        line.backorder_ship_date = None
    line.pending_cancel_qty = min(line.pending_cancel_qty, wanted(line))


def cancel_quantity(line: OrderLine, quantity: Decimal, reason: str | None) -> None:
    """Cancel ``quantity`` of a line's open quantity (checked by the caller)."""
    line.cancelled_qty += quantity
    if reason is not None:
        line.cancel_reason = reason
    settle(line)


def ship_quantity(line: OrderLine, quantity: Decimal) -> None:
    line.shipped_qty += quantity
    settle(line)


def shipped_per_line(notice: ShipNotice, po_number: str) -> dict[str, Decimal] | None:
    """The quantity per line that a ship notice ships for one order (packs and loose items), or
    None when the notice does not name the order at all."""
    orders = [shipped for shipped in notice.orders if shipped.po_number == po_number]
    if not orders:
        return None
    quantities: dict[str, Decimal] = {}
    for shipped in orders:
        for item in [*shipped.items, *(item for pack in shipped.packs for item in pack.items)]:
            quantities[item.line_number] = quantities.get(item.line_number, ZERO) + item.quantity
    return quantities


def event(
    kind: EventKind,
    now: datetime,
    actor: Actor,
    *,
    reason: str | None = None,
    document_id: str | None = None,
    lines: Iterable[LineEffect] = (),
    text: str | None = None,
) -> OrderEvent:
    return OrderEvent(
        kind=kind, at=now, actor=actor, reason=reason, document_id=document_id, lines=list(lines), text=text
    )


def finish(order: Order, events: Iterable[OrderEvent], documents: Iterable[OutboundDocument] = ()) -> Outcome:
    """Record the events on the (already copied) order and hand back the outcome."""
    new_events = tuple(events)
    order.events = [*order.events, *new_events]
    return Outcome(order=order, events=new_events, documents=tuple(documents))


def note_acknowledged(line: OrderLine) -> None:
    """Remember what the acknowledgement just sent accepted for shipping on this line."""
    line.acknowledged_qty = wanted(line) - line.backordered_qty


def line_ack(line: OrderLine, status: LineAckStatus, quantity: Decimal | None, **fields: Any) -> LineAck:
    """An acknowledgement line for an order line, naming it as the order does."""
    return LineAck(
        line_number=line.line_number,
        status=status,
        quantity=quantity,
        uom=line.uom,
        item_ids=dict(line.item_ids),
        **fields,
    )


def line_state(line: OrderLine) -> list[LineAck]:
    """One line as it now stands, in acknowledgement lines: its cancelled part with the reason,
    its backordered part with the expected ship date, and the rest accepted (at the price and
    date we acknowledged, when they differ from the order's)."""
    acks: list[LineAck] = []
    if line.cancelled_qty > 0:
        acks.append(line_ack(line, LineAckStatus.CANCELLED, line.cancelled_qty, reason=line.cancel_reason))
    if line.backordered_qty > 0:
        acks.append(
            line_ack(
                line,
                LineAckStatus.BACKORDERED,
                line.backordered_qty,
                unit_price=first(line.acknowledged_unit_price, line.unit_price),
                ship_date=line.backorder_ship_date,
            )
        )
    accepted = wanted(line) - line.backordered_qty
    if accepted > 0 or not acks:
        price_changed = line.acknowledged_unit_price is not None
        date_changed = line.acknowledged_ship_date is not None
        status = (
            LineAckStatus.ACCEPTED_WITH_CHANGES
            if price_changed and date_changed
            else LineAckStatus.PRICE_CHANGED
            if price_changed
            else LineAckStatus.DATE_RESCHEDULED
            if date_changed
            else LineAckStatus.ACCEPTED
        )
        acks.append(
            line_ack(
                line,
                status,
                accepted,
                unit_price=first(line.acknowledged_unit_price, line.unit_price),
                ship_date=first(line.acknowledged_ship_date, line.requested_ship_date),
            )
        )
    return acks


def ack_type_of(lines: list[LineAck]) -> AckType:
    statuses = {ack.status for ack in lines}
    if statuses and statuses <= {LineAckStatus.CANCELLED, LineAckStatus.REJECTED}:
        return AckType.REJECTED
    if statuses <= {LineAckStatus.ACCEPTED}:
        return AckType.ACCEPTED
    return AckType.ACCEPTED_WITH_CHANGES


def order_acknowledgement(
    order: Order, now: datetime, *, purpose: AckPurpose | None = None, reason: str | None = None
) -> Acknowledgement:
    """The 855 for an order as it now stands, every line stated in full, and the order marked
    acknowledged.

    Every 855 after the first restates the whole order (purpose change: partners who take a
    replacing 855 and those who take a change read the same lines), so a later cancel never
    drops an earlier backorder or price change from what the retailer sees.
    """
    if purpose is None:
        purpose = AckPurpose.CHANGE if order.acknowledged else AckPurpose.ORIGINAL
    lines = [ack for line in order.lines for ack in line_state(line)]
    for line in order.lines:
        note_acknowledged(line)
    order.acknowledged = True
    return Acknowledgement(
        partner_id=order.partner_id,
        po_number=order.po_number,
        purpose=purpose,
        ack_type=ack_type_of(lines),
        ack_date=utc_date(now),
        order_date=order.order_date,
        reason=reason,
        lines=lines,
        test=order.test,
    )


def change_acknowledgement(
    order: Order, now: datetime, lines: list[LineAck], *, ack_type: AckType | None = None, reason: str | None = None
) -> Acknowledgement:
    """The 865 answering a retailer's change or cancel, line by line."""
    by_number = order.lines_by_number()
    for ack in lines:
        line = by_number.get(ack.line_number)
        if line is not None:
            note_acknowledged(line)
    return Acknowledgement(
        partner_id=order.partner_id,
        po_number=order.po_number,
        of_change=True,
        ack_type=ack_type or ack_type_of(lines),
        ack_date=utc_date(now),
        order_date=order.order_date,
        reason=reason,
        lines=lines,
        test=order.test,
    )


def selected(order: Order, lines: Iterable[str] | None, has: str, *, pending_lines: bool = False) -> list[str]:
    """The line numbers a supplier's answer covers: those named, or every line waiting for one.

    ``has`` is the attribute that says a line waits (pending_cancel_qty or pending_change).
    """
    candidates = [*order.lines, *(order.pending_lines if pending_lines else [])]
    waiting = [line.line_number for line in candidates if getattr(line, has)]
    noun = "cancel" if has == "pending_cancel_qty" else "change"
    code = Refusal.NO_PENDING_CANCEL if noun == "cancel" else Refusal.NO_PENDING_CHANGE
    if lines is None:
        if not waiting:
            raise RuleRefused(
                code, f"Purchase order {order.po_number} has no {noun} from the retailer waiting for an answer."
            )
        return waiting
    numbers = list(dict.fromkeys(lines))
    if not numbers:
        raise RuleRefused(Refusal.NOTHING_REQUESTED, f"Choose at least one line whose {noun} to answer.")
    for number in numbers:
        if not any(line.line_number == number for line in candidates):
            line_of(order, number)
        if number not in waiting:
            raise RuleRefused(
                code, f"Line {number} has no {noun} from the retailer waiting for an answer.", line_number=number
            )
    return numbers
