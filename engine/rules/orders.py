"""Receiving a retailer's purchase order (850): new, duplicate, replacement or cancellation."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from engine.model import (
    Acknowledgement,
    AckPurpose,
    AckType,
    Actor,
    ActorKind,
    CancelReason,
    EventKind,
    LineAckStatus,
    LineEffect,
    Order,
    OrderEvent,
    OrderLine,
    OrderPurpose,
    PartnerTerms,
)
from engine.model.order import ZERO
from engine.rules.common import (
    cancel_quantity,
    check_now,
    event,
    finish,
    line_ack,
    order_acknowledgement,
    qty,
    utc_date,
)
from engine.rules.outcome import OutboundDocument, Outcome, Refusal, RejectionReason, RuleRefused

#: What a line carries that no purchase order can set: the running state of the order.
RUNNING_FIELDS = frozenset(
    {
        "cancelled_qty",
        "backordered_qty",
        "backorder_ship_date",
        "shipped_qty",
        "pending_cancel_qty",
        "pending_change",
        "cancel_reason",
        "acknowledged_qty",
        "acknowledged_unit_price",
        "acknowledged_ship_date",
    }
)
#: The same, in the order a refusal names them, and read from a line in one call.
_RUNNING_IN_ORDER = tuple(sorted(RUNNING_FIELDS))
_running_values = attrgetter(*_RUNNING_IN_ORDER)
#: What a running field holds when a purchase order leaves it alone. A mapped line holds these
#: very objects (its defaults), which a check by identity finds without comparing Decimals to
#: None (each such comparison goes through the numbers ABCs).
_NOT_CARRIED = (None, ZERO)
_DEFAULT_IDS = frozenset(map(id, _NOT_CARRIED))
#: Purposes that restate the whole order.
REPLACING = frozenset({OrderPurpose.REPLACE, OrderPurpose.CHANGE})


def receive_order(
    existing: Order | None,
    incoming: Order,
    *,
    terms: PartnerTerms,
    document_id: str,
    now: datetime,
) -> Outcome:
    """Apply a purchase order from the retailer to what we have under its PO number.

    - nothing yet: a new order (a cancel for an order we never had is refused);
    - an original (or confirmation, or duplicate) again: a duplicate, not applied but flagged on
      the order we have, and answered with a rejected 855 when the partner wants that;
    - a replace (or an 850 change, which also restates the whole order): the new content with
      the running quantities and the history kept;
    - a cancel: all open quantity cancelled.

    A test document (ISA15 T, or a partner in test mode) makes a test order and never changes a
    live one. A live order whose PO number a test order already used is a new live order:
    ``existing`` should come from the same space (live or test) as the document.
    """
    check_now(now)
    actor = Actor(kind=ActorKind.RETAILER_DOCUMENT, id=document_id)
    test = incoming.test or terms.test_mode
    check_purchase_order(incoming)
    if existing is not None:
        if (existing.partner_id, existing.po_number) != (incoming.partner_id, incoming.po_number):
            raise RuleRefused(
                Refusal.WRONG_ORDER,
                f"Purchase order {incoming.po_number} of partner {incoming.partner_id} cannot be applied to "
                f"purchase order {existing.po_number} of partner {existing.partner_id}.",
            )
        if test and not existing.test:
            raise RuleRefused(
                Refusal.TEST_DOCUMENT_FOR_LIVE_ORDER,
                f"This is a test purchase order and purchase order {existing.po_number} is a live order, "
                "so it was not applied.",
            )
        if existing.test and not test:
            existing = None
    if existing is None:
        if incoming.purpose is OrderPurpose.CANCEL:
            raise RuleRefused(
                Refusal.UNKNOWN_ORDER,
                f"The retailer cancelled purchase order {incoming.po_number}, which we never received.",
            )
        return _new(incoming, test, terms, actor, document_id, now)
    if incoming.purpose in REPLACING:
        return _replace(existing, incoming, terms, actor, document_id, now)
    if incoming.purpose is OrderPurpose.CANCEL:
        return _cancel(existing, terms, actor, document_id, now)
    return _duplicate(existing, incoming, terms, actor, document_id, now)


def check_purchase_order(incoming: Order) -> None:
    """A purchase order states what is wanted; state it cannot carry means a mapping (or whoever
    wrote the order) went wrong. Shared by orders we receive and orders we send."""
    if incoming.pending_lines:
        raise RuleRefused(
            Refusal.INCONSISTENT_DOCUMENT,
            f"Purchase order {incoming.po_number} arrived with pending lines, which no purchase order can carry.",
        )
    numbers: set[str] = set()
    for line in incoming.lines:
        if line.line_number in numbers:
            raise RuleRefused(
                Refusal.DUPLICATE_LINE,
                f"Line {line.line_number} appears twice on purchase order {incoming.po_number}.",
                line_number=line.line_number,
            )
        numbers.add(line.line_number)
        values = _running_values(line)
        if _DEFAULT_IDS.issuperset(map(id, values)):
            continue
        carried = [f for f, value in zip(_RUNNING_IN_ORDER, values, strict=True) if value not in _NOT_CARRIED]
        if carried:
            raise RuleRefused(
                Refusal.INCONSISTENT_DOCUMENT,
                f"Line {line.line_number} of purchase order {incoming.po_number} arrived with running state "
                f"({', '.join(carried)}), which no purchase order can carry.",
                line_number=line.line_number,
            )


def _acknowledge_on_receipt(
    order: Order, terms: PartnerTerms, now: datetime, purpose: AckPurpose
) -> tuple[list[OrderEvent], list[OutboundDocument]]:
    """Partners who want an 855 on receipt get one from the engine at once."""
    if not terms.send_order_ack_on_receipt:
        return [], []
    ack = order_acknowledgement(order, now, purpose=purpose)
    done = event(
        EventKind.ACKNOWLEDGED,
        now,
        Actor(kind=ActorKind.ENGINE),
        text="Acknowledged on receipt, as this partner asks.",
    )
    return [done], [ack]


def _new(incoming: Order, test: bool, terms: PartnerTerms, actor: Actor, document_id: str, now: datetime) -> Outcome:
    """A new order: the purchase order's content with a history of its own.

    What this rule changes (the order's own fields, each line's acknowledged terms) is copied;
    the rest (parties, references, item ids) is shared with ``incoming``, as every rule copies an
    order before it changes it. A deep copy here cost a third of receiving a new order.
    """
    lines = [line.model_copy() for line in incoming.lines]
    order = incoming.model_copy(update={"test": test, "acknowledged": False, "events": [], "lines": lines})
    text = None
    if incoming.purpose in REPLACING:
        text = f"A replacement of purchase order {incoming.po_number}, which we had not received, taken as the order."
    received = event(EventKind.RECEIVED, now, actor, document_id=document_id, text=text)
    events, documents = _acknowledge_on_receipt(order, terms, now, AckPurpose.ORIGINAL)
    return finish(order, [received, *events], documents)


def _content(order: Order) -> dict[str, Any]:
    """What the retailer said in a purchase order, without our running state."""
    data = order.model_dump(exclude={"events", "acknowledged", "test", "purpose", "pending_lines", "status", "total"})
    data["lines"] = [
        {k: v for k, v in line.items() if k not in RUNNING_FIELDS | {"open_qty", "status"}} for line in data["lines"]
    ]
    return data


def _duplicate(
    existing: Order, incoming: Order, terms: PartnerTerms, actor: Actor, document_id: str, now: datetime
) -> Outcome:
    order = existing.model_copy(deep=True)
    differs = _content(incoming) != _content(existing)
    text = (
        f"Purchase order {incoming.po_number} was received again in document {document_id} and not applied"
        + ("; its content differs from the order on file" if differs else "; it is the same as the order on file")
        + ("; the retailer was sent a rejection." if terms.reject_duplicate_po else ".")
    )
    flagged = event(
        EventKind.DUPLICATE_RECEIVED,
        now,
        actor,
        reason=RejectionReason.DUPLICATE_PO,
        document_id=document_id,
        text=text,
    )
    documents: list[OutboundDocument] = []
    if terms.reject_duplicate_po:
        documents.append(
            Acknowledgement(
                partner_id=incoming.partner_id,
                po_number=incoming.po_number,
                ack_type=AckType.REJECTED,
                ack_date=utc_date(now),
                order_date=incoming.order_date,
                reason=RejectionReason.DUPLICATE_PO,
                lines=[
                    line_ack(
                        line,
                        LineAckStatus.REJECTED,
                        line.ordered_qty,
                        unit_price=line.unit_price,
                        reason=RejectionReason.DUPLICATE_PO,
                    )
                    for line in incoming.lines
                ],
                test=order.test,
            )
        )
    return finish(order, [flagged], documents)


def _carry(old: OrderLine, new: OrderLine, po_number: str) -> None:
    """Put what already happened to a line onto its replacement.

    Shipped stays shipped (a replacement below it is refused); cancels stay, within the new
    quantity; backorders stay within what is open. Pending retailer cancels and changes are
    dropped: the replacement is the retailer's latest word. Our acknowledged terms are dropped
    too: the replacement is acknowledged afresh.
    """
    if new.ordered_qty < old.shipped_qty:
        raise RuleRefused(
            Refusal.CHANGE_BELOW_SHIPPED,
            f"Purchase order {po_number} cannot replace line {new.line_number} with {qty(new.ordered_qty)} "
            f"ordered: {qty(old.shipped_qty)} have already shipped.",
            line_number=new.line_number,
        )
    new.shipped_qty = old.shipped_qty
    new.cancelled_qty = min(old.cancelled_qty, new.ordered_qty - old.shipped_qty)
    new.cancel_reason = old.cancel_reason if new.cancelled_qty > 0 else None
    new.backordered_qty = min(old.backordered_qty, new.open_qty)
    new.backorder_ship_date = old.backorder_ship_date if new.backordered_qty > 0 else None


def _replace(
    existing: Order, incoming: Order, terms: PartnerTerms, actor: Actor, document_id: str, now: datetime
) -> Outcome:
    """The replacement's content, with what already happened kept.

    A line the replacement leaves out is kept (its shipped and cancelled quantities are history)
    with its open quantity cancelled for the retailer's request.
    """
    order = incoming.model_copy(deep=True)
    order.test = existing.test
    order.acknowledged = False
    order.events = list(existing.events)
    existing_lines = existing.lines_by_number()
    for line in order.lines:
        old = existing_lines.get(line.line_number)
        if old is not None:
            _carry(old, line, existing.po_number)
    removed: list[LineEffect] = []
    numbers = order.lines_by_number()
    for old in existing.lines:
        if old.line_number not in numbers:
            kept = old.model_copy(deep=True)
            kept.pending_cancel_qty = ZERO
            kept.pending_change = None
            removed.append(
                LineEffect(line_number=kept.line_number, quantity=kept.open_qty, reason=CancelReason.CUSTOMER_REQUEST)
            )
            cancel_quantity(kept, kept.open_qty, CancelReason.CUSTOMER_REQUEST)
            order.lines.append(kept)
            numbers[kept.line_number] = kept
    text = f"Purchase order {existing.po_number} replaced by document {document_id}"
    if removed:
        text += "; lines left out of it were cancelled: " + ", ".join(e.line_number for e in removed)
    replaced = event(EventKind.REPLACED, now, actor, document_id=document_id, lines=removed, text=text + ".")
    events, documents = _acknowledge_on_receipt(order, terms, now, AckPurpose.REPLACE)
    return finish(order, [replaced, *events], documents)


def _cancel(existing: Order, terms: PartnerTerms, actor: Actor, document_id: str, now: datetime) -> Outcome:
    """The retailer's own cancel of the whole order: every open quantity cancelled at once.

    Unlike an 860 cancel, which waits for the supplier's answer, a cancelling 850 is applied as
    sent; quantities already shipped stand. Changes and additions still waiting go with it.
    """
    order = existing.model_copy(deep=True)
    order.purpose = OrderPurpose.CANCEL
    effects: list[LineEffect] = []
    for line in order.lines:
        line.pending_cancel_qty = ZERO
        line.pending_change = None
        if line.open_qty > 0:
            effects.append(
                LineEffect(line_number=line.line_number, quantity=line.open_qty, reason=CancelReason.CUSTOMER_REQUEST)
            )
            cancel_quantity(line, line.open_qty, CancelReason.CUSTOMER_REQUEST)
    order.pending_lines = []
    text = f"The retailer cancelled purchase order {existing.po_number}"
    text += "." if effects else "; nothing was open to cancel."
    cancelled = event(
        EventKind.ITEMS_CANCELLED,
        now,
        actor,
        reason=CancelReason.CUSTOMER_REQUEST,
        document_id=document_id,
        lines=effects,
        text=text,
    )
    events, documents = _acknowledge_on_receipt(order, terms, now, AckPurpose.CANCELLATION)
    return finish(order, [cancelled, *events], documents)
