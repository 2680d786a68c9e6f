"""A retailer's change order (860) and the supplier's answers to it (865).

Cancelling requests (a header cancel, a cancelled line, a quantity decrease) become pending
retailer cancels: they block shipping that line until the supplier acknowledges or refuses them
(the portal's New Cancels). Every other request becomes a pending change on its line, and an
added item waits in ``Order.pending_lines``; accepting or rejecting them is the supplier's
answer. Nothing the retailer asks for changes ordered quantities, prices or dates until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from engine.model import (
    AckType,
    Actor,
    ActorKind,
    CancelReason,
    ChangeKind,
    ChangePurpose,
    EventKind,
    LineAck,
    LineAckStatus,
    LineChangeRequest,
    LineEffect,
    Order,
    OrderChange,
    OrderEvent,
    OrderLine,
    PendingChange,
)
from engine.model.documents import CANCELLING_CHANGES
from engine.model.order import ZERO
from engine.rules.common import (
    cancel_quantity,
    change_acknowledgement,
    check_document_for,
    check_now,
    event,
    finish,
    line_ack,
    line_of,
    qty,
    selected,
    wanted,
)
from engine.rules.outcome import Outcome, Refusal, RejectionReason, RuleRefused

#: The kinds of change that carry a new quantity, a new price, a new date.
QUANTITY_KINDS = frozenset(
    {ChangeKind.QUANTITY_INCREASE, ChangeKind.QUANTITY_AND_PRICE, ChangeKind.QUANTITY_AND_DATE, ChangeKind.REPLACE_ALL}
)
PRICE_KINDS = frozenset(
    {ChangeKind.PRICE_CHANGE, ChangeKind.QUANTITY_AND_PRICE, ChangeKind.PRICE_AND_DATE, ChangeKind.REPLACE_ALL}
)
DATE_KINDS = frozenset(
    {ChangeKind.DATE_CHANGE, ChangeKind.QUANTITY_AND_DATE, ChangeKind.PRICE_AND_DATE, ChangeKind.REPLACE_ALL}
)

#: Written on lines cancelled because the retailer asked (crosswalked like any of our reasons).
RETAILER_CANCEL_REASON = CancelReason.CUSTOMER_REQUEST


def _target(request: LineChangeRequest, line: OrderLine) -> Decimal | None:
    """The quantity the retailer now wants on the line (see ``wanted``), or None if not said."""
    if request.quantity is not None:
        return request.quantity
    if request.quantity_change is None:
        return None
    if request.kind is ChangeKind.QUANTITY_INCREASE:
        return wanted(line) + request.quantity_change
    if request.kind is ChangeKind.QUANTITY_DECREASE:
        return max(wanted(line) - request.quantity_change, ZERO)
    return None


def _missing(request: LineChangeRequest, what: str, po_number: str) -> RuleRefused:
    return RuleRefused(
        Refusal.INCONSISTENT_DOCUMENT,
        f"The retailer's {request.kind.value.replace('_', ' ')} on line {request.line_number} of purchase order "
        f"{po_number} gives no {what}.",
        line_number=request.line_number,
    )


def _pending_change(request: LineChangeRequest, line: OrderLine, document_id: str, po_number: str) -> PendingChange:
    quantity = _target(request, line) if request.kind in QUANTITY_KINDS else None
    price = request.unit_price if request.kind in PRICE_KINDS else None
    ship_date = request.ship_date if request.kind in DATE_KINDS else None
    if request.kind is ChangeKind.REPLACE_ALL:
        if quantity is None and price is None and ship_date is None:
            raise _missing(request, "quantity, price or date", po_number)
    else:
        if request.kind in QUANTITY_KINDS and quantity is None:
            raise _missing(request, "quantity", po_number)
        if request.kind in PRICE_KINDS and price is None:
            raise _missing(request, "price", po_number)
        if request.kind in DATE_KINDS and ship_date is None:
            raise _missing(request, "date", po_number)
    return PendingChange(
        kind=request.kind.value, quantity=quantity, unit_price=price, ship_date=ship_date, document_id=document_id
    )


def _added_line(request: LineChangeRequest, document_id: str, po_number: str) -> OrderLine:
    quantity = request.quantity if request.quantity is not None else request.quantity_change
    if not quantity:
        raise _missing(request, "quantity", po_number)
    return OrderLine(
        line_number=request.line_number,
        item_ids=dict(request.item_ids),
        description=request.description,
        ordered_qty=quantity,
        uom=request.uom or "EA",
        unit_price=request.unit_price,
        requested_ship_date=request.ship_date,
        pending_change=PendingChange(
            kind=ChangeKind.ADD_ITEM.value,
            quantity=quantity,
            unit_price=request.unit_price,
            ship_date=request.ship_date,
            document_id=document_id,
        ),
    )


def receive_change(order: Order, change: OrderChange, *, document_id: str, now: datetime) -> Outcome:
    """Record a retailer's change order as pending cancels and pending changes.

    Quantities in a change are what the retailer now wants on the line: units already cancelled
    count as gone. A cancel asks for all of the line not yet cancelled, shipped units included,
    so that the answer can say line by line what had already shipped. A later request on a line
    replaces an earlier one still waiting. The whole change is refused if any line of it is.
    """
    check_now(now)
    check_document_for(
        order, partner_id=change.partner_id, po_number=change.po_number, test=change.test, name="change order"
    )
    actor = Actor(kind=ActorKind.RETAILER_DOCUMENT, id=document_id)
    updated = order.model_copy(deep=True)
    cancels: list[LineEffect] = []
    changes: list[LineEffect] = []
    notes: list[str] = []

    def ask_cancel(line: OrderLine, asked: Decimal) -> None:
        if asked <= 0:
            notes.append(f"line {line.line_number} has nothing left to cancel")
            return
        line.pending_cancel_qty = asked
        cancels.append(LineEffect(line_number=line.line_number, quantity=asked, reason=change.reason))

    if change.purpose is ChangePurpose.CANCEL_ORDER:
        for line in updated.lines:
            ask_cancel(line, wanted(line))
        if updated.pending_lines:
            notes.append("items the retailer had asked to add were dropped")
            updated.pending_lines = []
    else:
        seen: set[str] = set()
        for request in change.lines:
            if request.line_number in seen:
                raise RuleRefused(
                    Refusal.DUPLICATE_LINE,
                    f"Line {request.line_number} appears twice in the retailer's change to purchase order "
                    f"{order.po_number}.",
                    line_number=request.line_number,
                )
            seen.add(request.line_number)
            if request.kind is ChangeKind.NO_CHANGE:
                continue
            if request.kind is ChangeKind.ADD_ITEM:
                if updated.line(request.line_number) is not None:
                    raise RuleRefused(
                        Refusal.DUPLICATE_LINE,
                        f"Line {request.line_number} is already on purchase order {order.po_number}, "
                        "so the retailer cannot add it.",
                        line_number=request.line_number,
                    )
                added = _added_line(request, document_id, order.po_number)
                updated.pending_lines = [
                    *(p for p in updated.pending_lines if p.line_number != request.line_number),
                    added,
                ]
                changes.append(LineEffect(line_number=added.line_number, quantity=added.ordered_qty))
                continue
            line = line_of(updated, request.line_number, what=" of the retailer's change")
            if request.kind in CANCELLING_CHANGES:
                if request.kind is ChangeKind.CANCEL_LINE:
                    ask_cancel(line, wanted(line))
                else:
                    target = _target(request, line)
                    if target is None:
                        raise _missing(request, "quantity", order.po_number)
                    ask_cancel(line, wanted(line) - target)
                continue
            line.pending_change = _pending_change(request, line, document_id, order.po_number)
            changes.append(
                LineEffect(
                    line_number=line.line_number,
                    quantity=line.pending_change.quantity,
                    ship_date=line.pending_change.ship_date,
                )
            )

    joined = "; ".join(notes)
    text = f"{joined[:1].upper()}{joined[1:]}." if notes else None
    events: list[OrderEvent] = []
    if cancels or change.purpose is ChangePurpose.CANCEL_ORDER:
        events.append(
            event(
                EventKind.RETAILER_CANCEL_REQUESTED,
                now,
                actor,
                reason=change.reason,
                document_id=document_id,
                lines=cancels,
                text=text,
            )
        )
    if changes or not events:
        events.append(
            event(
                EventKind.CHANGE_REQUESTED,
                now,
                actor,
                reason=change.reason,
                document_id=document_id,
                lines=changes,
                text=None if events else text,
            )
        )
    return finish(updated, events)


def acknowledge_retailer_cancel(
    order: Order, lines: Iterable[str] | None = None, *, actor: Actor, now: datetime
) -> Outcome:
    """Acknowledge Cancels: cancel what the retailer asked on these lines (all waiting if None).

    What shipped before the cancel arrived cannot be cancelled: the 865 says so line by line
    (rejected, already shipped) beside what was cancelled.
    """
    check_now(now)
    numbers = selected(order, lines, "pending_cancel_qty")
    updated = order.model_copy(deep=True)
    acks: list[LineAck] = []
    effects: list[LineEffect] = []
    too_late: list[str] = []
    for number in numbers:
        line = line_of(updated, number)
        asked = line.pending_cancel_qty
        cancellable = min(asked, line.open_qty)
        line.pending_cancel_qty = ZERO
        if cancellable > 0:
            cancel_quantity(line, cancellable, RETAILER_CANCEL_REASON)
            acks.append(line_ack(line, LineAckStatus.CANCELLED, cancellable, reason=RETAILER_CANCEL_REASON))
            effects.append(LineEffect(line_number=number, quantity=cancellable, reason=RETAILER_CANCEL_REASON))
        if asked > cancellable:
            acks.append(
                line_ack(line, LineAckStatus.REJECTED, asked - cancellable, reason=RejectionReason.ALREADY_SHIPPED)
            )
            too_late.append(f"line {number} ({qty(asked - cancellable)})")
    ack_type = AckType.ACCEPTED if not too_late else AckType.REJECTED if not effects else AckType.ACCEPTED_WITH_CHANGES
    ack = change_acknowledgement(updated, now, acks, ack_type=ack_type)
    done = event(
        EventKind.RETAILER_CANCEL_ACKNOWLEDGED,
        now,
        actor,
        reason=RETAILER_CANCEL_REASON,
        lines=effects,
        text=("Already shipped, so not cancelled: " + ", ".join(too_late) + ".") if too_late else None,
    )
    return finish(updated, [done], [ack])


def refuse_retailer_cancel(
    order: Order, reason_text: str, lines: Iterable[str] | None = None, *, actor: Actor, now: datetime
) -> Outcome:
    """Refuse the retailer's cancel on these lines (all waiting if None), saying why: the lines
    stay as they were and may ship again."""
    check_now(now)
    reason = reason_text.strip()
    if not reason:
        raise RuleRefused(Refusal.REASON_REQUIRED, "Say why you refuse the retailer's cancel.")
    numbers = selected(order, lines, "pending_cancel_qty")
    updated = order.model_copy(deep=True)
    acks: list[LineAck] = []
    effects: list[LineEffect] = []
    for number in numbers:
        line = line_of(updated, number)
        acks.append(line_ack(line, LineAckStatus.REJECTED, line.pending_cancel_qty, reason=reason))
        effects.append(LineEffect(line_number=number, quantity=line.pending_cancel_qty, reason=reason))
        line.pending_cancel_qty = ZERO
    ack = change_acknowledgement(updated, now, acks, ack_type=AckType.REJECTED, reason=reason)
    refused = event(EventKind.RETAILER_CANCEL_REFUSED, now, actor, reason=reason, lines=effects)
    return finish(updated, [refused], [ack])


def _accept(line: OrderLine, change: PendingChange) -> None:
    if change.quantity is not None:
        if change.quantity >= wanted(line):
            line.ordered_qty += change.quantity - wanted(line)
        else:
            cut = wanted(line) - change.quantity
            if cut > line.open_qty:
                raise RuleRefused(
                    Refusal.CHANGE_BELOW_SHIPPED,
                    f"Line {line.line_number} cannot go down to {qty(change.quantity)}: {qty(line.shipped_qty)} "
                    "have already shipped, so reject the change instead.",
                    line_number=line.line_number,
                )
            cancel_quantity(line, cut, RETAILER_CANCEL_REASON)
    if change.unit_price is not None:
        line.unit_price = change.unit_price
        line.acknowledged_unit_price = None
    if change.ship_date is not None:
        line.requested_ship_date = change.ship_date
        line.acknowledged_ship_date = None
    line.pending_change = None


def accept_changes(order: Order, lines: Iterable[str] | None = None, *, actor: Actor, now: datetime) -> Outcome:
    """Accept the retailer's pending changes on these lines (all waiting if None), added items
    included: the order takes the new quantities, prices and dates, and the 865 accepts them."""
    check_now(now)
    numbers = selected(order, lines, "pending_change", pending_lines=True)
    updated = order.model_copy(deep=True)
    acks: list[LineAck] = []
    effects: list[LineEffect] = []
    for number in numbers:
        added = next((p for p in updated.pending_lines if p.line_number == number), None)
        if added is not None:
            updated.pending_lines = [p for p in updated.pending_lines if p.line_number != number]
            added.pending_change = None
            updated.lines.append(added)
            line = added
        else:
            line = line_of(updated, number)
            assert line.pending_change is not None  # selected() said so
            _accept(line, line.pending_change)
        acks.append(
            line_ack(
                line,
                LineAckStatus.ACCEPTED,
                wanted(line),
                unit_price=line.unit_price,
                ship_date=line.requested_ship_date,
            )
        )
        effects.append(LineEffect(line_number=number, quantity=wanted(line), ship_date=line.requested_ship_date))
    ack = change_acknowledgement(updated, now, acks, ack_type=AckType.ACCEPTED)
    accepted = event(EventKind.CHANGE_ACCEPTED, now, actor, lines=effects)
    return finish(updated, [accepted], [ack])


def reject_changes(
    order: Order, lines: Iterable[str] | None = None, reason: str | None = None, *, actor: Actor, now: datetime
) -> Outcome:
    """Reject the retailer's pending changes on these lines (all waiting if None): the lines stay
    as they were, added items are dropped, and the 865 rejects them (with the reason, if given)."""
    check_now(now)
    numbers = selected(order, lines, "pending_change", pending_lines=True)
    reason = (reason or "").strip() or None
    updated = order.model_copy(deep=True)
    acks: list[LineAck] = []
    effects: list[LineEffect] = []
    for number in numbers:
        added = next((p for p in updated.pending_lines if p.line_number == number), None)
        line = added or line_of(updated, number)
        change = line.pending_change
        assert change is not None  # selected() said so
        acks.append(
            line_ack(
                line,
                LineAckStatus.REJECTED,
                change.quantity,
                unit_price=change.unit_price,
                ship_date=change.ship_date,
                reason=reason,
            )
        )
        effects.append(LineEffect(line_number=number, quantity=change.quantity, reason=reason))
        if added is not None:
            updated.pending_lines = [p for p in updated.pending_lines if p.line_number != number]
        else:
            line.pending_change = None
    ack = change_acknowledgement(updated, now, acks, ack_type=AckType.REJECTED, reason=reason)
    rejected = event(EventKind.CHANGE_REJECTED, now, actor, reason=reason, lines=effects)
    return finish(updated, [rejected], [ack])
