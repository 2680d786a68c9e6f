"""The supplier cancels: Cancel Items on one order, and Cancel Orders on many at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from engine.model import Actor, CancelReason, EventKind, LineEffect, Order, PartnerTerms
from engine.rules.common import (
    cancel_quantity,
    check_no_pending_cancel,
    check_now,
    check_positive,
    check_within_open,
    event,
    finish,
    line_of,
    order_acknowledgement,
    qty,
)
from engine.rules.outcome import BulkCancelItem, BulkCancelResult, Outcome, Refusal, RuleRefused

#: What to cancel on each line: the quantity, and the line's own reason (None: the order's).
CancelRequest = Mapping[str, tuple[Decimal, CancelReason | None]]


def check_cancel(order: Order, number: str, quantity: Decimal, reason: str | None, terms: PartnerTerms) -> None:
    """Whether ``quantity`` of a line may be cancelled with ``reason`` under these terms."""
    line = line_of(order, number)
    check_no_pending_cancel(line, "cancel items on it")
    check_positive(quantity, number, "cancel")
    check_within_open(line, quantity, verb="cancel", passive="be cancelled")
    if not terms.accepts_partial_line_cancel and quantity < line.open_qty:
        raise RuleRefused(
            Refusal.PARTIAL_LINE_CANCEL_NOT_ACCEPTED,
            f"This retailer does not accept partial line cancels: cancel all {qty(line.open_qty)} open "
            f"on line {number}, or none.",
            line_number=number,
        )
    if reason is None and terms.requires_reason_on_every_cancelled_line:
        raise RuleRefused(
            Refusal.REASON_REQUIRED,
            f"This retailer needs a reason on every cancelled line: choose one for line {number}.",
            line_number=number,
        )


def cancel_items(
    order: Order,
    lines: CancelRequest,
    reason: CancelReason | None,
    *,
    terms: PartnerTerms,
    actor: Actor,
    now: datetime,
) -> Outcome:
    """Cancel some open quantity of some lines, and owe the retailer the 855 that says so.

    A line's own reason wins over the order's; the reason is written on the line, on the event
    and on the acknowledgement line. Every line is checked before any is changed.
    """
    check_now(now)
    if not lines:
        raise RuleRefused(Refusal.NOTHING_REQUESTED, "Choose at least one line and the quantity to cancel.")
    plan = [(number, quantity, line_reason or reason) for number, (quantity, line_reason) in lines.items()]
    for number, quantity, line_reason in plan:
        check_cancel(order, number, quantity, line_reason, terms)

    updated = order.model_copy(deep=True)
    for number, quantity, line_reason in plan:
        cancel_quantity(line_of(updated, number), quantity, line_reason)
    ack = order_acknowledgement(updated, now, reason=reason)
    cancelled = event(
        EventKind.ITEMS_CANCELLED,
        now,
        actor,
        reason=reason,
        lines=[LineEffect(line_number=n, quantity=q, reason=r) for n, q, r in plan],
    )
    return finish(updated, [cancelled], [ack])


def bulk_cancel(
    orders: Sequence[Order],
    reason: CancelReason,
    *,
    terms_by_partner: Mapping[str, PartnerTerms],
    actor: Actor,
    now: datetime,
) -> BulkCancelResult:
    """Cancel All Orders: every open quantity of every order, with the one reason on every line.

    Each order succeeds or is refused on its own, and a refused order is left exactly as it
    was, with no document: ``cancel_items`` works on a copy that is dropped when it refuses.
    """
    check_now(now)
    items: list[BulkCancelItem] = []
    seen: set[tuple[str, str]] = set()
    for order in orders:
        key = (order.partner_id, order.po_number)
        try:
            if key in seen:
                raise RuleRefused(
                    Refusal.SELECTED_TWICE,
                    f"Purchase order {order.po_number} was selected twice; it is cancelled once.",
                )
            seen.add(key)
            terms = terms_by_partner.get(order.partner_id)
            if terms is None:
                raise RuleRefused(
                    Refusal.NO_PARTNER_TERMS,
                    f"Partner {order.partner_id} has no profile terms, so purchase order {order.po_number} "
                    "was not cancelled.",
                )
            open_lines = {line.line_number: (line.open_qty, reason) for line in order.lines if line.open_qty > 0}
            if not open_lines:
                raise RuleRefused(Refusal.NOTHING_OPEN, f"Purchase order {order.po_number} has nothing open to cancel.")
            outcome = cancel_items(order, open_lines, reason, terms=terms, actor=actor, now=now)
        except RuleRefused as refused:
            items.append(BulkCancelItem(order.partner_id, order.po_number, refused=refused))
        else:
            items.append(BulkCancelItem(order.partner_id, order.po_number, outcome=outcome))
    return BulkCancelResult(items=tuple(items))
