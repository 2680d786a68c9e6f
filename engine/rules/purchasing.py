"""The other direction, first step: a purchase order we place with a supplier (our 850).

What the supplier answers (its 855 and 856) is applied by ``engine.rules.partner_documents``;
this rule makes the order those answers apply to, and owes the supplier the order itself.
"""

from __future__ import annotations

from datetime import datetime

from engine.model import Actor, EventKind, Order, OrderPurpose
from engine.rules.common import check_now, check_positive, event, finish, utc_date
from engine.rules.orders import check_purchase_order
from engine.rules.outcome import Outcome, Refusal, RuleRefused


def place_order(order: Order, *, actor: Actor, now: datetime) -> Outcome:
    """A new order we send a supplier: stored as not yet acknowledged, with a SENT event, and owed
    to the supplier as one document, the order itself.

    Refused when it cannot be sent as a new order: no lines, a line number twice, a quantity that
    is not positive, running state on a line (what only the supplier's answers may set), or a
    purpose other than original (a replacement or a cancel changes an order already sent). The
    order date is the day it is placed when the order does not give one.
    """
    check_now(now)
    if order.purpose is not OrderPurpose.ORIGINAL:
        raise RuleRefused(
            Refusal.UNSUPPORTED_PURPOSE,
            f"Purchase order {order.po_number} has purpose {order.purpose.value}: only a new (original) "
            "order can be sent this way.",
        )
    if not order.lines:
        raise RuleRefused(
            Refusal.NOTHING_REQUESTED, f"Purchase order {order.po_number} has no lines: order at least one item."
        )
    check_purchase_order(order)
    for line in order.lines:
        check_positive(line.ordered_qty, line.line_number, "order")
    placed = order.model_copy(deep=True)
    placed.acknowledged = False
    placed.events = []
    if placed.order_date is None:
        placed.order_date = utc_date(now)
    document = placed.model_copy(deep=True)
    sent = event(
        EventKind.SENT,
        now,
        actor,
        text=f"Purchase order {order.po_number} sent to supplier {order.partner_id}.",
    )
    return finish(placed, [sent], [document])
