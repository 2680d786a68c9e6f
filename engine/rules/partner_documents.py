"""The other direction: we ordered from a supplier, and its 855 and 856 update our order.

A supplier's acknowledgement states each line it names as it now stands (accepted, backordered,
cancelled or rejected quantities), so a second 855 restating the first changes nothing twice.
Lines it does not name are left as they are.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from engine.model import (
    Acknowledgement,
    AckPurpose,
    AckType,
    Actor,
    ActorKind,
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
from engine.rules.common import (
    cancel_quantity,
    check_document_for,
    check_now,
    event,
    finish,
    qty,
    settle,
    ship_quantity,
    shipped_per_line,
    wanted,
)
from engine.rules.outcome import Outcome, Refusal, RejectionReason, RuleRefused

ACCEPTING = frozenset(
    {
        LineAckStatus.ACCEPTED,
        LineAckStatus.ACCEPTED_WITH_CHANGES,
        LineAckStatus.QUANTITY_CHANGED,
        LineAckStatus.PRICE_CHANGED,
        LineAckStatus.DATE_RESCHEDULED,
    }
)
NOT_SUPPLYING = frozenset({LineAckStatus.CANCELLED, LineAckStatus.REJECTED})


def _inconsistent(message: str, number: str | None = None) -> RuleRefused:
    return RuleRefused(Refusal.INCONSISTENT_DOCUMENT, message, line_number=number)


def _line_plan(line: OrderLine, acks: list[LineAck], po_number: str) -> tuple[Decimal, Decimal, Decimal]:
    """(accepted, backordered, cancelled) that the supplier states for one line."""
    number = line.line_number
    if any(ack.quantity is None for ack in acks) and len(acks) > 1:
        raise _inconsistent(
            f"The supplier's acknowledgement of line {number} of purchase order {po_number} gives no quantity.",
            number,
        )

    def total(statuses: frozenset[LineAckStatus]) -> Decimal:
        return sum(
            (ack.quantity if ack.quantity is not None else line.ordered_qty for ack in acks if ack.status in statuses),
            ZERO,
        )

    accepted = total(ACCEPTING)
    backordered = total(frozenset({LineAckStatus.BACKORDERED}))
    cancelled = total(NOT_SUPPLYING)
    if accepted + backordered + cancelled > line.ordered_qty:
        raise _inconsistent(
            f"The supplier acknowledged {qty(accepted + backordered + cancelled)} of line {number}, more than the "
            f"{qty(line.ordered_qty)} ordered on purchase order {po_number}.",
            number,
        )
    if any(ack.status is LineAckStatus.QUANTITY_CHANGED for ack in acks):
        # "Accepted, quantity changed": what it neither accepts nor backorders it will not supply.
        cancelled = line.ordered_qty - accepted - backordered
    cancelled = max(cancelled, line.cancelled_qty)
    if cancelled > line.ordered_qty - line.shipped_qty:
        raise _inconsistent(
            f"The supplier cancelled {qty(cancelled)} of line {number}, but {qty(line.shipped_qty)} of the "
            f"{qty(line.ordered_qty)} ordered have already shipped.",
            number,
        )
    return accepted, backordered, cancelled


def apply_partner_acknowledgement(order: Order, ack: Acknowledgement, *, document_id: str, now: datetime) -> Outcome:
    """Take a supplier's acknowledgement of our order: accepted, backordered and cancelled
    quantities per line, the price and date it accepted at; a rejection or cancellation of the
    whole order (no lines) cancels all that is open. Inconsistent documents are refused whole."""
    check_now(now)
    check_document_for(order, partner_id=ack.partner_id, po_number=ack.po_number, test=ack.test, name="acknowledgement")
    actor = Actor(kind=ActorKind.PARTNER_DOCUMENT, id=document_id)
    reason = ack.reason or RejectionReason.SUPPLIER_REJECTED
    updated = order.model_copy(deep=True)
    cancels: list[LineEffect] = []
    effects: list[LineEffect] = []

    if not ack.lines and (ack.ack_type is AckType.REJECTED or ack.purpose is AckPurpose.CANCELLATION):
        for each in updated.lines:
            if each.open_qty > 0:
                cancels.append(LineEffect(line_number=each.line_number, quantity=each.open_qty, reason=reason))
                cancel_quantity(each, each.open_qty, reason)
    else:
        by_line: defaultdict[str, list[LineAck]] = defaultdict(list)
        for line_ack in ack.lines:
            by_line[line_ack.line_number].append(line_ack)
        lines = updated.lines_by_number()
        for number, acks in by_line.items():
            line = lines.get(number)
            if line is None:
                raise _inconsistent(
                    f"The supplier acknowledged line {number}, which is not on purchase order {order.po_number}.",
                    number,
                )
            accepted, backordered, cancelled = _line_plan(line, acks, order.po_number)
            if cancelled > line.cancelled_qty:
                said = next((a.reason for a in acks if a.status in NOT_SUPPLYING and a.reason), None)
                cancels.append(
                    LineEffect(line_number=number, quantity=cancelled - line.cancelled_qty, reason=said or reason)
                )
                cancel_quantity(line, cancelled - line.cancelled_qty, said or reason)
            line.backordered_qty = min(backordered, line.open_qty)
            backorder = next((a for a in acks if a.status is LineAckStatus.BACKORDERED), None)
            line.backorder_ship_date = backorder.ship_date if backorder and line.backordered_qty > 0 else None
            settle(line)
            line.acknowledged_qty = min(accepted, wanted(line))
            accepting = next((a for a in acks if a.status in ACCEPTING), None)
            if accepting is not None:
                price = accepting.unit_price
                line.acknowledged_unit_price = price if price is not None and price != line.unit_price else None
                line.acknowledged_ship_date = accepting.ship_date
            effects.append(
                LineEffect(
                    line_number=number,
                    quantity=line.acknowledged_qty,
                    ship_date=line.backorder_ship_date or line.acknowledged_ship_date,
                )
            )
    updated.acknowledged = True
    events: list[OrderEvent] = [
        event(
            EventKind.PARTNER_ACKNOWLEDGED,
            now,
            actor,
            reason=ack.reason,
            document_id=document_id,
            lines=effects,
            text=f"The supplier's acknowledgement: {ack.ack_type.value.replace('_', ' ')}.",
        )
    ]
    if cancels:
        events.append(
            event(EventKind.ITEMS_CANCELLED, now, actor, reason=reason, document_id=document_id, lines=cancels)
        )
    return finish(updated, events)


def apply_partner_ship_notice(order: Order, notice: ShipNotice, *, document_id: str, now: datetime) -> Outcome:
    """Take a supplier's ship notice for our order: shipped quantities per line, never more than
    still to ship (ordered less cancelled and already shipped)."""
    check_now(now)
    check_document_for(
        order, partner_id=notice.partner_id, po_number=order.po_number, test=notice.test, name="ship notice"
    )
    if notice.purpose != "original":
        raise RuleRefused(
            Refusal.UNSUPPORTED_PURPOSE,
            f"Ship notice {notice.shipment_id} is a {notice.purpose}, not an original, so a person must apply it.",
        )
    quantities = shipped_per_line(notice, order.po_number)
    if quantities is None:
        raise RuleRefused(
            Refusal.NOT_IN_DOCUMENT,
            f"Ship notice {notice.shipment_id} ships nothing for purchase order {order.po_number}.",
        )
    updated = order.model_copy(deep=True)
    effects: list[LineEffect] = []
    lines = updated.lines_by_number()
    for number, amount in quantities.items():
        line = lines.get(number)
        if line is None:
            raise _inconsistent(
                f"Ship notice {notice.shipment_id} ships line {number}, which is not on purchase order "
                f"{order.po_number}.",
                number,
            )
        if amount > line.open_qty:
            raise _inconsistent(
                f"Ship notice {notice.shipment_id} ships {qty(amount)} of line {number}, but only "
                f"{qty(line.open_qty)} of the {qty(line.ordered_qty)} ordered remain to ship.",
                number,
            )
        if amount > 0:
            ship_quantity(line, amount)
            effects.append(LineEffect(line_number=number, quantity=amount))
    shipped = event(
        EventKind.PARTNER_SHIPPED,
        now,
        Actor(kind=ActorKind.PARTNER_DOCUMENT, id=document_id),
        document_id=document_id,
        lines=effects,
        text=f"Shipment {notice.shipment_id}.",
    )
    return finish(updated, [shipped])
