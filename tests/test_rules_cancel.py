"""cancel_items and bulk_cancel: the supplier's Cancel Items and Cancel Orders."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import (
    Acknowledgement,
    AckPurpose,
    AckType,
    CancelReason,
    EventKind,
    LineAckStatus,
    Order,
    OrderLine,
    OrderStatus,
    PartnerTerms,
)
from engine.rules import Refusal, RuleRefused, bulk_cancel, cancel_items
from engine.rules import cancels as cancels_module
from tests.test_rules_support import LENIENT, NOW, PARTNER, STRICT, USER, D, line, order, running, snapshot

OOS = CancelReason.OUT_OF_STOCK


def refusal(order_: Order, lines: dict[str, tuple[Decimal, CancelReason | None]], terms: PartnerTerms) -> RuleRefused:
    before = snapshot(order_)
    with pytest.raises(RuleRefused) as refused:
        cancel_items(order_, lines, None, terms=terms, actor=USER, now=NOW)
    assert snapshot(order_) == before
    return refused.value


def test_cancelling_items_cancels_them_and_owes_an_855_that_says_so_line_by_line() -> None:
    outcome = cancel_items(order(), {"1": (D(4), None), "3": (D(3), None)}, OOS, terms=LENIENT, actor=USER, now=NOW)
    assert running(outcome.order, "1")["cancelled"] == 4 and running(outcome.order, "1")["open"] == 6
    assert running(outcome.order, "3")["open"] == 0
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.ACCEPTED_WITH_CHANGES and ack.purpose is AckPurpose.ORIGINAL
    assert [(a.line_number, a.status, a.quantity, a.reason) for a in ack.lines] == [
        ("1", LineAckStatus.CANCELLED, 4, OOS),
        ("1", LineAckStatus.ACCEPTED, 6, None),
        ("2", LineAckStatus.ACCEPTED, 5, None),
        ("3", LineAckStatus.CANCELLED, 3, OOS),
    ]
    (cancelled,) = outcome.events
    assert cancelled.kind is EventKind.ITEMS_CANCELLED and cancelled.reason == OOS and cancelled.actor == USER
    assert [(e.line_number, e.quantity, e.reason) for e in cancelled.lines] == [("1", 4, OOS), ("3", 3, OOS)]
    assert outcome.order.acknowledged


def test_a_line_reason_overrides_the_order_reason() -> None:
    lines = {"1": (D(1), CancelReason.DISCONTINUED), "2": (D(1), None)}
    outcome = cancel_items(order(), lines, OOS, terms=LENIENT, actor=USER, now=NOW)
    assert outcome.order.line("1").cancel_reason == CancelReason.DISCONTINUED  # type: ignore[union-attr]
    assert outcome.order.line("2").cancel_reason == OOS  # type: ignore[union-attr]


def test_cancelling_everything_is_a_rejection_and_cancels_the_order() -> None:
    lines = {"1": (D(10), None), "2": (D(5), None), "3": (D(3), None)}
    outcome = cancel_items(order(), lines, OOS, terms=STRICT, actor=USER, now=NOW)
    assert outcome.order.status is OrderStatus.CANCELLED
    assert outcome.acknowledgement is not None and outcome.acknowledgement.ack_type is AckType.REJECTED


def test_a_cancel_after_the_order_was_acknowledged_restates_it_as_a_change() -> None:
    acknowledged = order(acknowledged=True)
    outcome = cancel_items(acknowledged, {"2": (D(2), None)}, OOS, terms=LENIENT, actor=USER, now=NOW)
    assert outcome.acknowledgement is not None and outcome.acknowledgement.purpose is AckPurpose.CHANGE


@pytest.mark.parametrize(
    ("quantity", "code", "words"),
    [
        (D(0), Refusal.QUANTITY_NOT_POSITIVE, "more than zero"),
        (D(-2), Refusal.QUANTITY_NOT_POSITIVE, "more than zero"),
        (D(11), Refusal.QUANTITY_ABOVE_OPEN, "Line 1 has only 10 open, so 11 cannot be cancelled."),
    ],
)
def test_a_cancel_quantity_must_be_positive_and_within_what_is_open(
    quantity: Decimal, code: Refusal, words: str
) -> None:
    refused = refusal(order(), {"1": (quantity, OOS)}, LENIENT)
    assert refused.code is code and words in str(refused) and refused.line_number == "1"


def test_a_shipped_line_has_nothing_open_to_cancel() -> None:
    refused = refusal(order(line("1", 4, shipped_qty=4)), {"1": (D(1), OOS)}, LENIENT)
    assert refused.code is Refusal.NOTHING_OPEN and str(refused) == "Line 1 has nothing open to cancel."


def test_an_unknown_line_is_refused() -> None:
    refused = refusal(order(), {"9": (D(1), OOS)}, LENIENT)
    assert refused.code is Refusal.UNKNOWN_LINE and str(refused) == "Line 9 is not on purchase order PO-1001."


def test_a_partial_line_cancel_is_refused_where_the_retailer_does_not_accept_one() -> None:
    refused = refusal(order(), {"1": (D(4), OOS)}, STRICT)
    assert refused.code is Refusal.PARTIAL_LINE_CANCEL_NOT_ACCEPTED
    assert str(refused) == "This retailer does not accept partial line cancels: cancel all 10 open on line 1, or none."
    outcome = cancel_items(order(), {"1": (D(10), OOS)}, None, terms=STRICT, actor=USER, now=NOW)
    assert running(outcome.order, "1")["cancelled"] == 10


def test_a_reason_is_required_on_every_cancelled_line_where_the_retailer_wants_one() -> None:
    refused = refusal(order(), {"1": (D(10), OOS), "2": (D(5), None)}, STRICT)
    assert refused.code is Refusal.REASON_REQUIRED and refused.line_number == "2"
    without = cancel_items(order(), {"2": (D(5), None)}, None, terms=LENIENT, actor=USER, now=NOW)
    assert without.order.line("2").cancel_reason is None  # type: ignore[union-attr]


def test_a_line_with_a_retailer_cancel_waiting_cannot_be_cancelled_by_the_supplier() -> None:
    refused = refusal(order(line("1", 10, pending_cancel_qty=10)), {"1": (D(10), OOS)}, LENIENT)
    assert refused.code is Refusal.RETAILER_CANCEL_PENDING
    assert "acknowledge or refuse it" in str(refused)


def test_cancelling_backordered_quantity_keeps_the_backorder_within_what_is_open() -> None:
    backordered = order(line("1", 10, backordered_qty=8, backorder_ship_date=NOW.date()))
    outcome = cancel_items(backordered, {"1": (D(5), None)}, OOS, terms=LENIENT, actor=USER, now=NOW)
    assert running(outcome.order, "1")["backordered"] == 5


def test_nothing_to_cancel_is_refused() -> None:
    refused = refusal(order(), {}, LENIENT)
    assert refused.code is Refusal.NOTHING_REQUESTED


# -- bulk ---------------------------------------------------------------------------------------------
def orders_for_bulk() -> list[Order]:
    return [
        order(po="A"),
        order(line("1", 10, shipped_qty=10), po="SHIPPED"),
        order(line("1", 10), line("2", 4, pending_cancel_qty=4), po="PENDING"),
        order(line("1", 6, shipped_qty=2), line("2", 3), po="B"),
    ]


def test_bulk_cancel_cancels_all_open_quantity_with_the_reason_on_every_line() -> None:
    result = bulk_cancel(orders_for_bulk(), OOS, terms_by_partner={PARTNER: STRICT}, actor=USER, now=NOW)
    assert [item.po_number for item in result.cancelled] == ["A", "B"]
    for item in result.cancelled:
        assert item.outcome is not None
        assert all(line.open_qty == 0 for line in item.outcome.order.lines)
        ack = item.outcome.acknowledgement
        assert ack is not None
        assert all(a.reason == OOS for a in ack.lines if a.status is LineAckStatus.CANCELLED)
        assert all(line.cancel_reason == OOS for line in item.outcome.order.lines if line.cancelled_qty)
    b = result.items[3].outcome
    assert b is not None and b.order.status is OrderStatus.SHIPPED  # what shipped stands


def test_each_order_of_a_bulk_cancel_fails_on_its_own_with_a_reason() -> None:
    result = bulk_cancel(orders_for_bulk(), OOS, terms_by_partner={PARTNER: STRICT}, actor=USER, now=NOW)
    failed = {item.po_number: item.refused for item in result.refused}
    assert set(failed) == {"SHIPPED", "PENDING"}
    assert str(failed["SHIPPED"]) == "Purchase order SHIPPED has nothing open to cancel."
    assert failed["PENDING"] is not None and failed["PENDING"].code is Refusal.RETAILER_CANCEL_PENDING
    assert all(item.outcome is None for item in result.refused)


def test_a_bulk_cancel_without_the_partners_terms_refuses_that_order_only() -> None:
    stranger = order(po="X").model_copy(update={"partner_id": "stranger"})
    result = bulk_cancel([stranger, order(po="A")], OOS, terms_by_partner={PARTNER: LENIENT}, actor=USER, now=NOW)
    assert [i.ok for i in result.items] == [False, True]
    assert result.items[0].refused is not None and result.items[0].refused.code is Refusal.NO_PARTNER_TERMS


def test_an_order_selected_twice_is_cancelled_once() -> None:
    result = bulk_cancel([order(), order()], OOS, terms_by_partner={PARTNER: LENIENT}, actor=USER, now=NOW)
    assert [i.ok for i in result.items] == [True, False]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5),
    data=st.data(),
)
def test_a_bulk_cancel_failing_in_the_middle_of_an_orders_lines_leaves_that_order_untouched(
    sizes: list[int], data: st.DataObject
) -> None:
    # Line numbers say which order they belong to, so the failure can pick one line of one order.
    orders = [
        order(*(line(f"{i}.{n}", n + 1) for n in range(1, size + 1)), po=f"PO-{i}") for i, size in enumerate(sizes)
    ]
    before = [snapshot(o) for o in orders]
    victim = data.draw(st.integers(min_value=0, max_value=len(orders) - 1), label="order that fails")
    position = data.draw(st.integers(min_value=1, max_value=sizes[victim]), label="line that fails")
    real = cancels_module.cancel_quantity

    def fails_on_the_chosen_line(target: OrderLine, quantity: Decimal, reason: str | None) -> None:
        real(target, quantity, reason)  # the order's copy is already half-changed when the failure comes
        if target.line_number == f"{victim}.{position}":
            raise RuleRefused(Refusal.INCONSISTENT_DOCUMENT, "Injected failure.")

    with mock.patch.object(cancels_module, "cancel_quantity", fails_on_the_chosen_line):
        result = bulk_cancel(orders, OOS, terms_by_partner={PARTNER: STRICT}, actor=USER, now=NOW)

    assert [snapshot(o) for o in orders] == before
    for index, item in enumerate(result.items):
        assert item.po_number == f"PO-{index}"
        if index == victim:
            assert item.outcome is None and item.refused is not None and str(item.refused) == "Injected failure."
        else:
            assert item.outcome is not None and item.outcome.order.status is OrderStatus.CANCELLED
            assert item.outcome.acknowledgement is not None
    documents = [d for item in result.items if item.outcome for d in item.outcome.documents]
    assert f"PO-{victim}" not in {d.po_number for d in documents if isinstance(d, Acknowledgement)}
