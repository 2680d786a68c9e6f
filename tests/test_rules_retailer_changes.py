"""receive_change and the supplier's answers: acknowledge or refuse cancels, accept or reject changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.model import (
    AckType,
    ChangeKind,
    ChangePurpose,
    EventKind,
    LineAckStatus,
    LineStatus,
    OrderStatus,
)
from engine.rules import (
    RETAILER_CANCEL_REASON,
    Refusal,
    RejectionReason,
    RuleRefused,
    accept_changes,
    acknowledge_retailer_cancel,
    receive_change,
    refuse_retailer_cancel,
    reject_changes,
    ship,
)
from tests.test_rules_support import NOW, USER, D, change, line, notice, order, request, running, snapshot

NEW_DATE = date(2026, 12, 15)


def test_a_header_cancel_becomes_a_pending_retailer_cancel_on_every_line_that_blocks_shipping() -> None:
    outcome = receive_change(
        order(), change(purpose=ChangePurpose.CANCEL_ORDER, reason="fraud"), document_id="c1", now=NOW
    )
    assert outcome.order.status is OrderStatus.RETAILER_CANCEL_PENDING
    assert [running(outcome.order, n)["pending_cancel"] for n in "123"] == [10, 5, 3]
    assert [running(outcome.order, n)["open"] for n in "123"] == [10, 5, 3]  # nothing cancelled yet
    (asked,) = outcome.events
    assert asked.kind is EventKind.RETAILER_CANCEL_REQUESTED and asked.reason == "fraud" and asked.document_id == "c1"
    assert outcome.documents == ()
    with pytest.raises(RuleRefused) as refused:
        ship(outcome.order, notice(("1", 1)), actor=USER, now=NOW)
    assert refused.value.code is Refusal.RETAILER_CANCEL_PENDING


def test_a_cancelled_line_and_a_decrease_become_pending_cancels() -> None:
    requests = (request("1", ChangeKind.CANCEL_LINE), request("2", ChangeKind.QUANTITY_DECREASE, quantity=3))
    outcome = receive_change(order(), change(*requests), document_id="c1", now=NOW)
    assert running(outcome.order, "1")["pending_cancel"] == 10
    assert running(outcome.order, "2")["pending_cancel"] == 2
    assert outcome.order.line("3").status is LineStatus.OPEN  # type: ignore[union-attr]


def test_a_decrease_by_an_amount_and_a_decrease_to_what_is_left_after_our_cancel() -> None:
    by = receive_change(
        order(), change(request("1", ChangeKind.QUANTITY_DECREASE, quantity_change=4)), document_id="c", now=NOW
    )
    assert running(by.order, "1")["pending_cancel"] == 4
    cut = order(line("1", 10, cancelled_qty=2))
    to = receive_change(cut, change(request("1", ChangeKind.QUANTITY_DECREASE, quantity=8)), document_id="c", now=NOW)
    assert running(to.order, "1")["pending_cancel"] == 0
    assert to.events[0].text == "Line 1 has nothing left to cancel."


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        (ChangeKind.QUANTITY_INCREASE, {"quantity": 14}, {"quantity": D(14)}),
        (ChangeKind.QUANTITY_INCREASE, {"quantity_change": 2}, {"quantity": D(12)}),
        (ChangeKind.PRICE_CHANGE, {"unit_price": "8.75", "quantity": 10}, {"unit_price": Decimal("8.75")}),
        (ChangeKind.DATE_CHANGE, {"ship_date": NEW_DATE}, {"ship_date": NEW_DATE}),
        (ChangeKind.QUANTITY_AND_PRICE, {"quantity": 6, "unit_price": "9"}, {"quantity": D(6), "unit_price": D(9)}),
        (ChangeKind.REPLACE_ALL, {"ship_date": NEW_DATE}, {"ship_date": NEW_DATE}),
    ],
)
def test_other_changes_wait_on_the_line_as_pending_changes(
    kind: ChangeKind, fields: dict[str, object], expected: dict[str, object]
) -> None:
    outcome = receive_change(order(), change(request("1", kind, **fields)), document_id="c1", now=NOW)
    pending = outcome.order.line("1").pending_change  # type: ignore[union-attr]
    assert pending is not None and pending.kind == kind.value and pending.document_id == "c1"
    assert {k: getattr(pending, k) for k in ("quantity", "unit_price", "ship_date") if getattr(pending, k)} == expected
    assert running(outcome.order, "1") == running(order(), "1")  # nothing applied yet
    assert [e.kind for e in outcome.events] == [EventKind.CHANGE_REQUESTED]


def test_a_change_missing_what_it_changes_is_refused_whole() -> None:
    requests = (request("1", ChangeKind.CANCEL_LINE), request("2", ChangeKind.PRICE_CHANGE))
    with pytest.raises(RuleRefused, match="price change on line 2 of purchase order PO-1001 gives no price") as refused:
        receive_change(order(), change(*requests), document_id="c", now=NOW)
    assert refused.value.code is Refusal.INCONSISTENT_DOCUMENT


def test_an_added_item_waits_off_the_order_until_accepted() -> None:
    add = request("4", ChangeKind.ADD_ITEM, quantity=6, unit_price="3.10", item_ids={"upc": "012345678905"})
    outcome = receive_change(order(), change(add), document_id="c1", now=NOW)
    assert outcome.order.line("4") is None
    (waiting,) = outcome.order.pending_lines
    assert waiting.ordered_qty == 6 and waiting.pending_change is not None
    assert outcome.order.status is OrderStatus.NEW and outcome.order.total == order().total
    with pytest.raises(RuleRefused) as refused:
        ship(outcome.order, notice(("4", 1)), actor=USER, now=NOW)
    assert refused.value.code is Refusal.UNKNOWN_LINE

    accepted = accept_changes(outcome.order, ["4"], actor=USER, now=NOW)
    assert running(accepted.order, "4")["open"] == 6 and accepted.order.pending_lines == []
    assert accepted.acknowledgement is not None and accepted.acknowledgement.lines[0].status is LineAckStatus.ACCEPTED

    rejected = reject_changes(outcome.order, ["4"], "Not a catalogue item.", actor=USER, now=NOW)
    assert rejected.order.line("4") is None and rejected.order.pending_lines == []
    assert rejected.acknowledgement is not None and rejected.acknowledgement.ack_type is AckType.REJECTED


def test_adding_a_line_already_on_the_order_or_changing_an_unknown_line_is_refused() -> None:
    with pytest.raises(RuleRefused, match="already on purchase order") as refused:
        receive_change(order(), change(request("1", ChangeKind.ADD_ITEM, quantity=1)), document_id="c", now=NOW)
    assert refused.value.code is Refusal.DUPLICATE_LINE
    with pytest.raises(RuleRefused, match="Line 9 of the retailer's change is not on purchase order") as refused:
        receive_change(order(), change(request("9", ChangeKind.CANCEL_LINE)), document_id="c", now=NOW)
    assert refused.value.code is Refusal.UNKNOWN_LINE


def test_a_test_change_never_touches_a_live_order() -> None:
    live = order()
    before = snapshot(live)
    with pytest.raises(RuleRefused) as refused:
        receive_change(live, change(request("1", ChangeKind.CANCEL_LINE), test=True), document_id="c", now=NOW)
    assert refused.value.code is Refusal.TEST_DOCUMENT_FOR_LIVE_ORDER and snapshot(live) == before


# -- answering cancels ---------------------------------------------------------------------------------
def test_acknowledging_a_retailer_cancel_cancels_it_and_owes_an_865() -> None:
    asked = receive_change(order(), change(purpose=ChangePurpose.CANCEL_ORDER), document_id="c", now=NOW).order
    outcome = acknowledge_retailer_cancel(asked, actor=USER, now=NOW)
    assert outcome.order.status is OrderStatus.CANCELLED
    ack = outcome.acknowledgement
    assert ack is not None and ack.of_change and ack.ack_type is AckType.ACCEPTED
    assert [(a.line_number, a.status, a.quantity, a.reason) for a in ack.lines] == [
        ("1", LineAckStatus.CANCELLED, 10, RETAILER_CANCEL_REASON),
        ("2", LineAckStatus.CANCELLED, 5, RETAILER_CANCEL_REASON),
        ("3", LineAckStatus.CANCELLED, 3, RETAILER_CANCEL_REASON),
    ]
    assert outcome.events[0].kind is EventKind.RETAILER_CANCEL_ACKNOWLEDGED


def test_what_shipped_before_the_cancel_cannot_be_cancelled_and_the_865_says_so_line_by_line() -> None:
    partly = order(line("1", 10, shipped_qty=4), line("2", 5, shipped_qty=5), line("3", 3))
    asked = receive_change(partly, change(purpose=ChangePurpose.CANCEL_ORDER), document_id="c", now=NOW).order
    outcome = acknowledge_retailer_cancel(asked, actor=USER, now=NOW)
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.ACCEPTED_WITH_CHANGES
    assert [(a.line_number, a.status, a.quantity, a.reason) for a in ack.lines] == [
        ("1", LineAckStatus.CANCELLED, 6, RETAILER_CANCEL_REASON),
        ("1", LineAckStatus.REJECTED, 4, RejectionReason.ALREADY_SHIPPED),
        ("2", LineAckStatus.REJECTED, 5, RejectionReason.ALREADY_SHIPPED),
        ("3", LineAckStatus.CANCELLED, 3, RETAILER_CANCEL_REASON),
    ]
    assert outcome.events[0].text == "Already shipped, so not cancelled: line 1 (4), line 2 (5)."
    assert outcome.order.status is OrderStatus.SHIPPED


def test_acknowledging_some_lines_leaves_the_others_waiting() -> None:
    asked = receive_change(order(), change(purpose=ChangePurpose.CANCEL_ORDER), document_id="c", now=NOW).order
    outcome = acknowledge_retailer_cancel(asked, ["2"], actor=USER, now=NOW)
    assert running(outcome.order, "2")["cancelled"] == 5
    assert running(outcome.order, "1")["pending_cancel"] == 10


def test_refusing_a_retailer_cancel_clears_it_and_the_865_rejects_it_with_the_reason() -> None:
    asked = receive_change(order(), change(request("1", ChangeKind.CANCEL_LINE)), document_id="c", now=NOW).order
    outcome = refuse_retailer_cancel(asked, "Already packed and labelled.", actor=USER, now=NOW)
    assert running(outcome.order, "1") == running(order(), "1")
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.REJECTED and ack.reason == "Already packed and labelled."
    assert [(a.line_number, a.status, a.quantity) for a in ack.lines] == [("1", LineAckStatus.REJECTED, 10)]
    assert outcome.events[0].kind is EventKind.RETAILER_CANCEL_REFUSED
    ship(outcome.order, notice(("1", 10)), actor=USER, now=NOW)


def test_refusing_a_cancel_needs_a_reason_and_a_cancel_to_refuse() -> None:
    asked = receive_change(order(), change(request("1", ChangeKind.CANCEL_LINE)), document_id="c", now=NOW).order
    with pytest.raises(RuleRefused, match="Say why") as refused:
        refuse_retailer_cancel(asked, "  ", actor=USER, now=NOW)
    assert refused.value.code is Refusal.REASON_REQUIRED
    with pytest.raises(RuleRefused, match="Line 2 has no cancel from the retailer waiting") as refused:
        refuse_retailer_cancel(asked, "No.", ["2"], actor=USER, now=NOW)
    assert refused.value.code is Refusal.NO_PENDING_CANCEL
    with pytest.raises(RuleRefused, match="has no cancel from the retailer waiting for an answer"):
        acknowledge_retailer_cancel(order(), actor=USER, now=NOW)


# -- answering changes ---------------------------------------------------------------------------------
def test_accepting_changes_applies_them_line_by_line_and_owes_an_865() -> None:
    requests = (
        request("1", ChangeKind.QUANTITY_INCREASE, quantity=12),
        request("2", ChangeKind.PRICE_AND_DATE, unit_price="8.00", ship_date=NEW_DATE),
    )
    asked = receive_change(order(), change(*requests), document_id="c", now=NOW).order
    outcome = accept_changes(asked, actor=USER, now=NOW)
    assert running(outcome.order, "1")["ordered"] == 12
    two = outcome.order.line("2")
    assert (
        two is not None and two.unit_price == 8 and two.requested_ship_date == NEW_DATE and two.pending_change is None
    )
    ack = outcome.acknowledgement
    assert ack is not None and ack.of_change and ack.ack_type is AckType.ACCEPTED
    assert [(a.line_number, a.quantity, a.unit_price) for a in ack.lines] == [("1", 12, D("9.50")), ("2", 5, 8)]
    assert outcome.events[0].kind is EventKind.CHANGE_ACCEPTED


def test_accepting_a_combined_change_that_lowers_the_quantity_cancels_the_difference() -> None:
    asked = receive_change(
        order(),
        change(request("1", ChangeKind.QUANTITY_AND_PRICE, quantity=7, unit_price="9")),
        document_id="c",
        now=NOW,
    ).order
    outcome = accept_changes(asked, actor=USER, now=NOW)
    assert running(outcome.order, "1")["cancelled"] == 3 and running(outcome.order, "1")["open"] == 7


def test_accepting_a_decrease_below_what_shipped_is_refused_so_it_can_be_rejected() -> None:
    shipped = order(line("1", 10, shipped_qty=8))
    asked = receive_change(
        shipped,
        change(request("1", ChangeKind.QUANTITY_AND_PRICE, quantity=5, unit_price="9")),
        document_id="c",
        now=NOW,
    ).order
    before = snapshot(asked)
    with pytest.raises(RuleRefused, match="8 have already shipped, so reject the change instead") as refused:
        accept_changes(asked, actor=USER, now=NOW)
    assert refused.value.code is Refusal.CHANGE_BELOW_SHIPPED and snapshot(asked) == before
    rejected = reject_changes(asked, reason="Shipped before the change arrived.", actor=USER, now=NOW)
    assert rejected.order.line("1").pending_change is None  # type: ignore[union-attr]
    assert running(rejected.order, "1") == running(shipped, "1")
    assert rejected.events[0].kind is EventKind.CHANGE_REJECTED


def test_answering_changes_where_none_wait_is_refused() -> None:
    with pytest.raises(RuleRefused) as refused:
        accept_changes(order(), actor=USER, now=NOW)
    assert refused.value.code is Refusal.NO_PENDING_CHANGE
    with pytest.raises(RuleRefused) as refused:
        reject_changes(order(), ["7"], actor=USER, now=NOW)
    assert refused.value.code is Refusal.UNKNOWN_LINE
