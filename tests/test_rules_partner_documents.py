"""apply_partner_acknowledgement and apply_partner_ship_notice: a supplier's 855 and 856 on our order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.model import (
    Acknowledgement,
    AckPurpose,
    AckType,
    ActorKind,
    EventKind,
    LineAck,
    LineAckStatus,
    OrderStatus,
)
from engine.rules import (
    Refusal,
    RejectionReason,
    RuleRefused,
    apply_partner_acknowledgement,
    apply_partner_ship_notice,
)
from tests.test_rules_support import NOW, PARTNER, PO, line, notice, order, running, snapshot

PROMISED = date(2026, 12, 20)


def ack(*lines: LineAck, **fields: Any) -> Acknowledgement:
    return Acknowledgement(partner_id=PARTNER, po_number=PO, lines=list(lines), **fields)


def says(number: str, status: LineAckStatus, quantity: int | None, **fields: Any) -> LineAck:
    return LineAck(
        line_number=number, status=status, quantity=None if quantity is None else Decimal(quantity), **fields
    )


def test_a_suppliers_acknowledgement_sets_accepted_backordered_and_cancelled_quantities() -> None:
    document = ack(
        says("1", LineAckStatus.ACCEPTED, 6, unit_price=Decimal("9.25")),
        says("1", LineAckStatus.BACKORDERED, 4, ship_date=PROMISED),
        says("2", LineAckStatus.CANCELLED, 5, reason="discontinued"),
        says("3", LineAckStatus.ACCEPTED, None),
        ack_type=AckType.ACCEPTED_WITH_CHANGES,
    )
    outcome = apply_partner_acknowledgement(order(), document, document_id="in-855", now=NOW)
    one, two, three = outcome.order.lines
    assert (one.acknowledged_qty, one.backordered_qty, one.backorder_ship_date) == (6, 4, PROMISED)
    assert one.acknowledged_unit_price == Decimal("9.25")
    assert (two.cancelled_qty, two.cancel_reason, two.open_qty) == (5, "discontinued", 0)
    assert three.acknowledged_qty == 3
    assert outcome.order.acknowledged and outcome.order.status is OrderStatus.BACKORDERED
    assert [e.kind for e in outcome.events] == [EventKind.PARTNER_ACKNOWLEDGED, EventKind.ITEMS_CANCELLED]
    assert outcome.events[0].actor.kind is ActorKind.PARTNER_DOCUMENT and outcome.documents == ()


def test_the_same_acknowledgement_twice_changes_nothing_the_second_time() -> None:
    document = ack(says("1", LineAckStatus.CANCELLED, 2), says("1", LineAckStatus.ACCEPTED, 8))
    once = apply_partner_acknowledgement(order(), document, document_id="a", now=NOW).order
    twice = apply_partner_acknowledgement(once, document, document_id="b", now=NOW).order
    assert running(twice, "1") == running(once, "1") and running(once, "1")["cancelled"] == 2


def test_quantity_changed_means_the_rest_will_not_be_supplied() -> None:
    document = ack(says("1", LineAckStatus.QUANTITY_CHANGED, 7))
    outcome = apply_partner_acknowledgement(order(), document, document_id="a", now=NOW)
    assert running(outcome.order, "1")["cancelled"] == 3 and running(outcome.order, "1")["open"] == 7


def test_a_rejection_without_lines_cancels_all_that_is_open() -> None:
    started = order(line("1", 10, shipped_qty=2), line("2", 5))
    outcome = apply_partner_acknowledgement(started, ack(ack_type=AckType.REJECTED), document_id="a", now=NOW)
    assert [line.open_qty for line in outcome.order.lines] == [0, 0]
    assert outcome.order.line("2").cancel_reason == RejectionReason.SUPPLIER_REJECTED  # type: ignore[union-attr]
    cancelled = apply_partner_acknowledgement(
        started, ack(purpose=AckPurpose.CANCELLATION, reason="closed"), document_id="a", now=NOW
    )
    assert cancelled.order.line("2").cancel_reason == "closed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("document", "sentence"),
    [
        (
            ack(says("7", LineAckStatus.ACCEPTED, 1)),
            "The supplier acknowledged line 7, which is not on purchase order PO-1001.",
        ),
        (
            ack(says("1", LineAckStatus.ACCEPTED, 8), says("1", LineAckStatus.BACKORDERED, 4)),
            "The supplier acknowledged 12 of line 1, more than the 10 ordered on purchase order PO-1001.",
        ),
        (
            ack(says("2", LineAckStatus.ACCEPTED, None), says("2", LineAckStatus.CANCELLED, 1)),
            "The supplier's acknowledgement of line 2 of purchase order PO-1001 gives no quantity.",
        ),
    ],
)
def test_an_inconsistent_acknowledgement_is_refused_whole(document: Acknowledgement, sentence: str) -> None:
    mine = order()
    before = snapshot(mine)
    with pytest.raises(RuleRefused) as refused:
        apply_partner_acknowledgement(mine, document, document_id="a", now=NOW)
    assert refused.value.code is Refusal.INCONSISTENT_DOCUMENT and str(refused.value) == sentence
    assert snapshot(mine) == before


def test_a_supplier_cannot_cancel_what_it_already_shipped() -> None:
    shipped = order(line("1", 10, shipped_qty=8))
    with pytest.raises(RuleRefused, match="8 of the 10 ordered have already shipped"):
        apply_partner_acknowledgement(shipped, ack(says("1", LineAckStatus.REJECTED, 5)), document_id="a", now=NOW)


def test_a_test_acknowledgement_never_changes_a_live_order() -> None:
    with pytest.raises(RuleRefused) as refused:
        apply_partner_acknowledgement(order(), ack(test=True), document_id="a", now=NOW)
    assert refused.value.code is Refusal.TEST_DOCUMENT_FOR_LIVE_ORDER


def test_a_suppliers_ship_notice_adds_to_shipped_quantities() -> None:
    first = apply_partner_ship_notice(order(), notice(("1", 4), ("2", 5)), document_id="in-856", now=NOW)
    assert running(first.order, "1")["shipped"] == 4 and running(first.order, "2")["open"] == 0
    second = apply_partner_ship_notice(
        first.order, notice(("1", 6), ("3", 3), shipment_id="SH-2"), document_id="x", now=NOW
    )
    assert second.order.status is OrderStatus.SHIPPED
    assert second.events[0].kind is EventKind.PARTNER_SHIPPED and second.events[0].text == "Shipment SH-2."


@pytest.mark.parametrize(
    ("items", "sentence"),
    [
        ((("1", 11),), "Ship notice SH-1 ships 11 of line 1, but only 10 of the 10 ordered remain to ship."),
        ((("8", 1),), "Ship notice SH-1 ships line 8, which is not on purchase order PO-1001."),
    ],
)
def test_a_ship_notice_shipping_more_than_ordered_or_an_unknown_line_is_refused(
    items: tuple[tuple[str, int], ...], sentence: str
) -> None:
    mine = order()
    before = snapshot(mine)
    with pytest.raises(RuleRefused) as refused:
        apply_partner_ship_notice(mine, notice(*items), document_id="n", now=NOW)
    assert refused.value.code is Refusal.INCONSISTENT_DOCUMENT and str(refused.value) == sentence
    assert snapshot(mine) == before


def test_a_ship_notice_that_is_not_an_original_needs_a_person() -> None:
    with pytest.raises(RuleRefused, match="is a replace, not an original") as refused:
        apply_partner_ship_notice(order(), notice(("1", 1), purpose="replace"), document_id="n", now=NOW)
    assert refused.value.code is Refusal.UNSUPPORTED_PURPOSE


def test_a_ship_notice_for_other_orders_only_is_refused() -> None:
    with pytest.raises(RuleRefused) as refused:
        apply_partner_ship_notice(order(), notice(("1", 1), po="OTHER"), document_id="n", now=NOW)
    assert refused.value.code is Refusal.NOT_IN_DOCUMENT
