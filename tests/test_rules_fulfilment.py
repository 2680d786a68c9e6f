"""acknowledge_order, backorder and ship: the supplier moving an order forward."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.model import (
    AckPurpose,
    AckType,
    CancelReason,
    EventKind,
    LineAckStatus,
    LineStatus,
    Order,
    OrderStatus,
    Pack,
    ShippedItem,
)
from engine.rules import (
    NO_BACKORDERS,
    AckChange,
    Outcome,
    Refusal,
    RuleRefused,
    acknowledge_order,
    backorder,
    cancel_items,
    ship,
)
from tests.test_rules_support import LENIENT, NOW, STRICT, TODAY, USER, D, line, notice, order, running, snapshot

LATER = TODAY + timedelta(days=21)


def refused_by(rule: Callable[..., Outcome], given: Order, *args: object, **kwargs: object) -> RuleRefused:
    """Run a rule that must refuse, and show the order it was given is unchanged."""
    before = snapshot(given)
    with pytest.raises(RuleRefused) as refused:
        rule(given, *args, **kwargs)
    assert snapshot(given) == before
    return refused.value


# -- acknowledge ---------------------------------------------------------------------------------------
def test_acknowledging_an_order_accepts_every_line_in_an_855() -> None:
    outcome = acknowledge_order(order(), terms=LENIENT, actor=USER, now=NOW)
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.ACCEPTED and ack.purpose is AckPurpose.ORIGINAL
    assert [(a.line_number, a.status, a.quantity) for a in ack.lines] == [
        ("1", LineAckStatus.ACCEPTED, 10),
        ("2", LineAckStatus.ACCEPTED, 5),
        ("3", LineAckStatus.ACCEPTED, 3),
    ]
    assert outcome.order.status is OrderStatus.ACKNOWLEDGED
    assert [line.acknowledged_qty for line in outcome.order.lines] == [10, 5, 3]
    assert [e.kind for e in outcome.events] == [EventKind.ACKNOWLEDGED]


def test_acknowledging_with_changes_states_each_change_and_later_855s_keep_them() -> None:
    changes = {
        "1": AckChange(quantity=D(8), reason=CancelReason.OUT_OF_STOCK),
        "2": AckChange(unit_price=Decimal("9.95")),
        "3": AckChange(ship_date=LATER, unit_price=Decimal("9.60")),
    }
    outcome = acknowledge_order(order(), changes, terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.ACCEPTED_WITH_CHANGES
    assert [(a.line_number, a.status, a.quantity, a.unit_price, a.ship_date) for a in ack.lines] == [
        ("1", LineAckStatus.CANCELLED, 2, None, None),
        ("1", LineAckStatus.ACCEPTED, 8, D("9.50"), None),
        ("2", LineAckStatus.PRICE_CHANGED, 5, D("9.95"), None),
        ("3", LineAckStatus.ACCEPTED_WITH_CHANGES, 3, D("9.60"), LATER),
    ]
    assert [e.kind for e in outcome.events] == [EventKind.ITEMS_CANCELLED, EventKind.ACKNOWLEDGED]
    later = cancel_items(
        outcome.order, {"1": (D(1), None)}, CancelReason.OUT_OF_STOCK, terms=LENIENT, actor=USER, now=NOW
    )
    again = later.acknowledgement
    assert again is not None and again.purpose is AckPurpose.CHANGE
    assert [(a.line_number, a.status, a.quantity) for a in again.lines][2:] == [
        ("2", LineAckStatus.PRICE_CHANGED, 5),
        ("3", LineAckStatus.ACCEPTED_WITH_CHANGES, 3),
    ]


def test_acknowledging_more_than_ordered_or_cutting_against_the_partners_terms_is_refused() -> None:
    above = refused_by(acknowledge_order, order(), {"1": AckChange(quantity=D(11))}, terms=LENIENT, actor=USER, now=NOW)
    assert above.code is Refusal.QUANTITY_ABOVE_ORDERED and "at most 10" in str(above)
    partial = refused_by(acknowledge_order, order(), {"1": AckChange(quantity=D(8))}, terms=STRICT, actor=USER, now=NOW)
    assert partial.code is Refusal.PARTIAL_LINE_CANCEL_NOT_ACCEPTED
    whole = acknowledge_order(
        order(), {"1": AckChange(quantity=D(0), reason=CancelReason.DISCONTINUED)}, terms=STRICT, actor=USER, now=NOW
    )
    assert whole.order.line("1").status is LineStatus.CANCELLED  # type: ignore[union-attr]
    past = refused_by(
        acknowledge_order,
        order(),
        {"2": AckChange(ship_date=TODAY - timedelta(days=1))},
        terms=LENIENT,
        actor=USER,
        now=NOW,
        today=TODAY,
    )
    assert past.code is Refusal.SHIP_DATE_IN_PAST


# -- backorder -----------------------------------------------------------------------------------------
def test_backordering_a_line_owes_the_855_line_backordered_with_the_date() -> None:
    outcome = backorder(order(), "1", LATER, terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    assert outcome.order.status is OrderStatus.BACKORDERED
    assert running(outcome.order, "1")["backordered"] == 10
    ack = outcome.acknowledgement
    assert ack is not None
    assert [(a.status, a.quantity, a.ship_date) for a in ack.lines if a.line_number == "1"] == [
        (LineAckStatus.BACKORDERED, 10, LATER)
    ]
    (done,) = outcome.events
    assert done.kind is EventKind.BACKORDERED and done.lines[0].ship_date == LATER


def test_backordering_part_of_a_line_accepts_the_rest() -> None:
    outcome = backorder(order(), "1", LATER, D(4), terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    ack = outcome.acknowledgement
    assert ack is not None
    assert [(a.status, a.quantity) for a in ack.lines if a.line_number == "1"] == [
        (LineAckStatus.BACKORDERED, 4),
        (LineAckStatus.ACCEPTED, 6),
    ]


def test_a_retailer_who_accepts_no_backorders_gets_the_portals_sentence() -> None:
    refused = refused_by(backorder, order(), "1", LATER, terms=STRICT, actor=USER, now=NOW, today=TODAY)
    assert refused.code is Refusal.BACKORDERS_NOT_ACCEPTED
    assert str(refused) == "This retailer does not accept backorders. Contact the retailer before backordering."
    assert str(refused) == NO_BACKORDERS


@pytest.mark.parametrize(
    ("ship_date", "quantity", "code"),
    [
        (TODAY - timedelta(days=1), None, Refusal.SHIP_DATE_IN_PAST),
        (LATER, D(11), Refusal.QUANTITY_ABOVE_OPEN),
        (LATER, D(0), Refusal.QUANTITY_NOT_POSITIVE),
    ],
)
def test_a_backorder_needs_a_date_not_past_and_only_open_quantity(
    ship_date: date, quantity: Decimal | None, code: Refusal
) -> None:
    refused = refused_by(backorder, order(), "1", ship_date, quantity, terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    assert refused.code is code


def test_backordering_today_is_allowed_and_a_shipped_line_cannot_be_backordered() -> None:
    backorder(order(), "1", TODAY, terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    shipped = order(line("1", 10, shipped_qty=10))
    refused = refused_by(backorder, shipped, "1", LATER, terms=LENIENT, actor=USER, now=NOW, today=TODAY)
    assert refused.code is Refusal.NOTHING_OPEN and str(refused) == "Line 1 has nothing open to backorder."


# -- ship ----------------------------------------------------------------------------------------------
def test_shipping_updates_shipped_quantities_and_owes_the_ship_notice() -> None:
    packed = notice(("1", 4))
    packed.orders[0].packs.append(Pack(sscc="000123456789012345", items=[ShippedItem(line_number="1", quantity=D(2))]))
    packed.orders.append(notice(("1", 1), po="SOMEONE-ELSE").orders[0])
    outcome = ship(order(), packed, actor=USER, now=NOW)
    assert running(outcome.order, "1")["shipped"] == 6 and running(outcome.order, "1")["open"] == 4
    assert outcome.order.status is OrderStatus.PARTIALLY_SHIPPED
    document = outcome.ship_notice
    assert document is not None and [o.po_number for o in document.orders] == ["PO-1001"]
    (shipped,) = outcome.events
    assert shipped.kind is EventKind.SHIPPED and shipped.document_id == "SH-1" and shipped.lines[0].quantity == 6


def test_shipping_everything_open_ships_the_order_and_clears_backorders() -> None:
    backordered = backorder(order(), "1", LATER, D(3), terms=LENIENT, actor=USER, now=NOW, today=TODAY).order
    outcome = ship(backordered, notice(("1", 10), ("2", 5), ("3", 3)), actor=USER, now=NOW)
    assert outcome.order.status is OrderStatus.SHIPPED
    assert running(outcome.order, "1")["backordered"] == 0


def test_a_test_orders_ship_notice_goes_out_as_test() -> None:
    outcome = ship(order(test=True), notice(("1", 1)), actor=USER, now=NOW)
    assert outcome.ship_notice is not None and outcome.ship_notice.test


@pytest.mark.parametrize(
    ("items", "code", "sentence"),
    [
        ((("1", 11),), Refusal.QUANTITY_ABOVE_OPEN, "Line 1 has only 10 open, so 11 cannot ship."),
        ((("9", 1),), Refusal.UNKNOWN_LINE, "Line 9 of the ship notice is not on purchase order PO-1001."),
        ((("1", 0),), Refusal.QUANTITY_NOT_POSITIVE, "The quantity to ship on line 1 must be more than zero, not 0."),
    ],
)
def test_shipping_more_than_open_or_an_unknown_line_is_refused(
    items: tuple[tuple[str, int], ...], code: Refusal, sentence: str
) -> None:
    refused = refused_by(ship, order(), notice(*items), actor=USER, now=NOW)
    assert refused.code is code and str(refused) == sentence


def test_a_ship_notice_without_this_order_is_refused() -> None:
    refused = refused_by(ship, order(), notice(("1", 1), po="OTHER"), actor=USER, now=NOW)
    assert refused.code is Refusal.NOT_IN_DOCUMENT


def test_a_cancelled_line_cannot_ship() -> None:
    cancelled = order(line("1", 10, cancelled_qty=10))
    refused = refused_by(ship, cancelled, notice(("1", 1)), actor=USER, now=NOW)
    assert refused.code is Refusal.NOTHING_OPEN
