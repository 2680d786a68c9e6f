"""Builders shared by the rules tests (tests/test_rules_*.py): orders, documents, terms, actors.

Kept beside the tests it serves; it holds no tests itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from engine.model import (
    Actor,
    ActorKind,
    ChangeKind,
    ChangePurpose,
    LineChangeRequest,
    Order,
    OrderChange,
    OrderLine,
    PartnerTerms,
    ShipNotice,
    ShippedItem,
    ShippedOrder,
)

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
TODAY = date(2026, 11, 28)
USER = Actor(kind=ActorKind.SUPPLIER_USER, id="dana")
PARTNER = "acme-retail"
PO = "PO-1001"
#: A retailer that accepts everything the rules can do.
LENIENT = PartnerTerms(accepts_backorders=True)
STRICT = PartnerTerms(
    accepts_backorders=False, accepts_partial_line_cancel=False, requires_reason_on_every_cancelled_line=True
)


def D(value: int | str) -> Decimal:
    return Decimal(value)


def line(number: str, ordered: int, **fields: Any) -> OrderLine:
    values = {k: Decimal(v) if k.endswith("_qty") else v for k, v in fields.items()}
    return OrderLine(line_number=number, ordered_qty=Decimal(ordered), unit_price=Decimal("9.50"), **values)


def order(*lines: OrderLine, po: str = PO, **fields: Any) -> Order:
    """An order of the default partner; with no lines, lines 1 (10), 2 (5) and 3 (3)."""
    return Order(
        partner_id=PARTNER,
        po_number=po,
        order_date=date(2026, 11, 20),
        lines=list(lines) or [line("1", 10), line("2", 5), line("3", 3)],
        **fields,
    )


def change(*requests: LineChangeRequest, purpose: ChangePurpose = ChangePurpose.CHANGE, **fields: Any) -> OrderChange:
    return OrderChange(partner_id=PARTNER, po_number=PO, purpose=purpose, lines=list(requests), **fields)


def request(number: str, kind: ChangeKind, **fields: Any) -> LineChangeRequest:
    values = {
        k: Decimal(v) if v is not None and k in ("quantity", "quantity_change", "unit_price") else v
        for k, v in fields.items()
    }
    return LineChangeRequest(line_number=number, kind=kind, **values)


def notice(*items: tuple[str, int], po: str = PO, shipment_id: str = "SH-1", **fields: Any) -> ShipNotice:
    return ShipNotice(
        partner_id=PARTNER,
        shipment_id=shipment_id,
        ship_date=TODAY,
        orders=[ShippedOrder(po_number=po, items=[ShippedItem(line_number=n, quantity=Decimal(q)) for n, q in items])],
        **fields,
    )


def snapshot(value: Order) -> dict[str, Any]:
    """Everything about an order, to show a rule left it exactly as it was."""
    return value.model_dump(mode="json")


def running(value: Order, number: str) -> dict[str, Decimal]:
    found = value.line(number)
    assert found is not None
    return {
        "ordered": found.ordered_qty,
        "cancelled": found.cancelled_qty,
        "shipped": found.shipped_qty,
        "backordered": found.backordered_qty,
        "pending_cancel": found.pending_cancel_qty,
        "open": found.open_qty,
    }
