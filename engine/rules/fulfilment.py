"""The supplier's answers that move an order forward: acknowledge it, backorder a line, ship."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from engine.model import (
    Actor,
    CancelReason,
    EventKind,
    LineEffect,
    Order,
    OrderEvent,
    PartnerTerms,
    ShipNotice,
)
from engine.rules.cancels import check_cancel
from engine.rules.common import (
    cancel_quantity,
    check_document_for,
    check_no_pending_cancel,
    check_now,
    check_positive,
    check_within_open,
    event,
    finish,
    line_of,
    order_acknowledgement,
    qty,
    ship_quantity,
    shipped_per_line,
    wanted,
)
from engine.rules.outcome import Outcome, Refusal, RuleRefused

#: The portal's own sentence (Mark as Backordered), which users know.
NO_BACKORDERS = "This retailer does not accept backorders. Contact the retailer before backordering."


@dataclass(frozen=True)
class AckChange:
    """How the supplier acknowledges one line differently from the order.

    ``quantity`` is what we will supply of what is still wanted (ordered less cancelled); less
    than that cancels the difference, for ``reason``, under the partner's cancel terms.
    ``unit_price`` and ``ship_date`` are the price and ship date we accept the line at.
    """

    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    ship_date: date | None = None
    reason: CancelReason | None = None


def _check_not_past(ship_date: date, today: date | None, number: str) -> None:
    if today is not None and ship_date < today:
        raise RuleRefused(
            Refusal.SHIP_DATE_IN_PAST,
            f"The expected ship date {ship_date.isoformat()} for line {number} is in the past.",
            line_number=number,
        )


def acknowledge_order(
    order: Order,
    changes: Mapping[str, AckChange] | None = None,
    *,
    terms: PartnerTerms,
    actor: Actor,
    now: datetime,
    today: date | None = None,
) -> Outcome:
    """Accept the order as it is (no changes), or with changes to some lines; owe the 855.

    Acknowledging again is allowed: the next 855 restates the order (purpose change).
    ``today`` (the user's date) refuses rescheduled ship dates in the past when given.
    """
    check_now(now)
    changes = changes or {}
    cuts: list[LineEffect] = []
    for number, change in changes.items():
        line = line_of(order, number)
        if change.quantity is not None:
            if change.quantity < 0:
                raise RuleRefused(
                    Refusal.QUANTITY_NOT_POSITIVE,
                    f"Line {number} cannot be acknowledged for {qty(change.quantity)}: quantities are never negative.",
                    line_number=number,
                )
            if change.quantity > wanted(line):
                raise RuleRefused(
                    Refusal.QUANTITY_ABOVE_ORDERED,
                    f"Line {number} can be acknowledged for at most {qty(wanted(line))}, what is ordered and "
                    "not cancelled; ask the retailer to change the order for more.",
                    line_number=number,
                )
            cut = wanted(line) - change.quantity
            if cut > 0:
                check_cancel(order, number, cut, change.reason, terms)
                cuts.append(LineEffect(line_number=number, quantity=cut, reason=change.reason))
        if change.ship_date is not None:
            _check_not_past(change.ship_date, today, number)

    updated = order.model_copy(deep=True)
    for effect in cuts:
        assert effect.quantity is not None
        cancel_quantity(line_of(updated, effect.line_number), effect.quantity, effect.reason)
    effects: list[LineEffect] = []
    for number, change in changes.items():
        line = line_of(updated, number)
        if change.unit_price is not None:
            line.acknowledged_unit_price = None if change.unit_price == line.unit_price else change.unit_price
        if change.ship_date is not None:
            line.acknowledged_ship_date = None if change.ship_date == line.requested_ship_date else change.ship_date
        effects.append(
            LineEffect(line_number=number, quantity=change.quantity, reason=change.reason, ship_date=change.ship_date)
        )
    ack = order_acknowledgement(updated, now)
    events: list[OrderEvent] = []
    if cuts:
        events.append(event(EventKind.ITEMS_CANCELLED, now, actor, lines=cuts, text="Cut when acknowledging."))
    events.append(event(EventKind.ACKNOWLEDGED, now, actor, lines=effects))
    return finish(updated, events, [ack])


def backorder(
    order: Order,
    line_number: str,
    ship_date: date,
    quantity: Decimal | None = None,
    *,
    terms: PartnerTerms,
    actor: Actor,
    now: datetime,
    today: date,
) -> Outcome:
    """Mark as Backordered: some or all (default) open quantity of a line, with the expected ship
    date; owe the 855 that says so. Backordering a line again restates its backorder."""
    check_now(now)
    if not terms.accepts_backorders:
        raise RuleRefused(Refusal.BACKORDERS_NOT_ACCEPTED, NO_BACKORDERS)
    line = line_of(order, line_number)
    check_no_pending_cancel(line, "backorder it")
    _check_not_past(ship_date, today, line_number)
    amount = line.open_qty if quantity is None else quantity
    if quantity is not None:
        check_positive(quantity, line_number, "backorder")
    check_within_open(line, amount, verb="backorder", passive="be backordered")

    updated = order.model_copy(deep=True)
    target = line_of(updated, line_number)
    target.backordered_qty = amount
    target.backorder_ship_date = ship_date
    ack = order_acknowledgement(updated, now)
    done = event(
        EventKind.BACKORDERED,
        now,
        actor,
        lines=[LineEffect(line_number=line_number, quantity=amount, ship_date=ship_date)],
    )
    return finish(updated, [done], [ack])


def ship(order: Order, notice: ShipNotice, *, actor: Actor, now: datetime) -> Outcome:
    """Ship what a ship notice lists for this order; owe the 856 (this order's part of it).

    Never more than is open on a line, and never a line whose retailer cancel waits for an
    answer. A shipment of several orders is shipped order by order with the same notice.
    """
    check_now(now)
    check_document_for(order, partner_id=notice.partner_id, po_number=order.po_number, test=False, name="ship notice")
    quantities = shipped_per_line(notice, order.po_number)
    if not quantities:
        raise RuleRefused(
            Refusal.NOT_IN_DOCUMENT,
            f"Ship notice {notice.shipment_id} ships nothing for purchase order {order.po_number}.",
        )
    for number, amount in quantities.items():
        line = line_of(order, number, what=" of the ship notice")
        check_no_pending_cancel(line, "ship it")
        check_positive(amount, number, "ship")
        check_within_open(line, amount, verb="ship", passive="ship")

    updated = order.model_copy(deep=True)
    for number, amount in quantities.items():
        ship_quantity(line_of(updated, number), amount)
    document = notice.model_copy(deep=True)
    document.orders = [shipped for shipped in document.orders if shipped.po_number == order.po_number]
    document.test = order.test
    shipped = event(
        EventKind.SHIPPED,
        now,
        actor,
        document_id=notice.shipment_id,
        lines=[LineEffect(line_number=n, quantity=q) for n, q in quantities.items()],
    )
    return finish(updated, [shipped], [document])
