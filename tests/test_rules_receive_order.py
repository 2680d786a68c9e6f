"""receive_order: a retailer's purchase order, new, again, replacing or cancelling."""

from __future__ import annotations

import pytest

from engine.model import (
    AckPurpose,
    AckType,
    ActorKind,
    CancelReason,
    EventKind,
    LineAckStatus,
    OrderPurpose,
    OrderStatus,
    PartnerTerms,
)
from engine.rules import Refusal, RejectionReason, RuleRefused, receive_order
from tests.test_rules_support import LENIENT, NOW, D, line, order, running, snapshot


def test_a_new_order_is_received_with_one_event_and_no_document() -> None:
    outcome = receive_order(None, order(), terms=LENIENT, document_id="in-1", now=NOW)
    assert outcome.order.status is OrderStatus.NEW
    assert [e.kind for e in outcome.order.events] == [EventKind.RECEIVED]
    assert outcome.events[0].actor.kind is ActorKind.RETAILER_DOCUMENT
    assert outcome.events[0].document_id == "in-1"
    assert outcome.documents == ()


def test_a_partner_who_wants_an_acknowledgement_on_receipt_gets_one_at_once() -> None:
    terms = PartnerTerms(send_order_ack_on_receipt=True)
    outcome = receive_order(None, order(), terms=terms, document_id="in-1", now=NOW)
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.ACCEPTED and ack.purpose is AckPurpose.ORIGINAL
    assert [(a.line_number, a.quantity) for a in ack.lines] == [("1", 10), ("2", 5), ("3", 3)]
    assert outcome.order.status is OrderStatus.ACKNOWLEDGED
    assert outcome.events[-1].actor.kind is ActorKind.ENGINE


def test_the_same_po_again_is_a_duplicate_flagged_and_not_applied() -> None:
    first = receive_order(None, order(), terms=LENIENT, document_id="in-1", now=NOW).order
    again = order(line("1", 99))
    outcome = receive_order(first, again, terms=LENIENT, document_id="in-2", now=NOW)
    assert outcome.order.lines == first.lines
    flagged = outcome.events[0]
    assert flagged.kind is EventKind.DUPLICATE_RECEIVED
    assert flagged.reason == RejectionReason.DUPLICATE_PO
    assert flagged.text is not None and "received again" in flagged.text and "differs" in flagged.text
    assert outcome.documents == ()


def test_a_duplicate_is_answered_with_a_rejection_when_the_partner_wants_that() -> None:
    first = receive_order(None, order(), terms=LENIENT, document_id="in-1", now=NOW).order
    terms = PartnerTerms(reject_duplicate_po=True)
    outcome = receive_order(first, order(), terms=terms, document_id="in-2", now=NOW)
    ack = outcome.acknowledgement
    assert ack is not None and ack.ack_type is AckType.REJECTED and ack.reason == RejectionReason.DUPLICATE_PO
    assert {a.status for a in ack.lines} == {LineAckStatus.REJECTED}
    assert outcome.events[0].text is not None and "same as the order on file" in outcome.events[0].text


def test_a_replacement_keeps_the_history_and_what_already_happened() -> None:
    first = receive_order(None, order(line("1", 10), line("2", 5)), terms=LENIENT, document_id="in-1", now=NOW).order
    first.lines[0] = line("1", 10, shipped_qty=4, cancelled_qty=2, cancel_reason="out_of_stock")
    replacement = order(line("1", 12), line("4", 7), purpose=OrderPurpose.REPLACE)
    outcome = receive_order(first, replacement, terms=LENIENT, document_id="in-2", now=NOW)
    replaced = outcome.order
    assert [e.kind for e in replaced.events] == [EventKind.RECEIVED, EventKind.REPLACED]
    assert running(replaced, "1") == running(first, "1") | {"ordered": D(12), "open": D(6)}
    assert running(replaced, "4")["open"] == 7
    # Line 2 was left out of the replacement: kept, its open quantity cancelled.
    assert running(replaced, "2")["cancelled"] == 5
    assert replaced.line("2").cancel_reason == CancelReason.CUSTOMER_REQUEST  # type: ignore[union-attr]
    assert [e.line_number for e in outcome.events[0].lines] == ["2"]
    assert not replaced.acknowledged


def test_a_replacement_below_what_has_shipped_is_refused() -> None:
    first = order(line("1", 10, shipped_qty=6))
    with pytest.raises(RuleRefused, match="6 have already shipped") as refused:
        receive_order(first, order(line("1", 4), purpose=OrderPurpose.REPLACE), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.CHANGE_BELOW_SHIPPED


def test_a_cancelling_order_cancels_all_open_quantity_and_shipped_stands() -> None:
    first = order(line("1", 10, shipped_qty=4), line("2", 5, pending_cancel_qty=5))
    outcome = receive_order(first, order(purpose=OrderPurpose.CANCEL), terms=LENIENT, document_id="in-2", now=NOW)
    assert running(outcome.order, "1") == running(first, "1") | {"cancelled": D(6), "open": D(0)}
    assert running(outcome.order, "2")["cancelled"] == 5 and running(outcome.order, "2")["pending_cancel"] == 0
    assert outcome.order.status is OrderStatus.SHIPPED
    assert outcome.events[0].kind is EventKind.ITEMS_CANCELLED


def test_a_cancel_for_an_order_we_never_had_is_refused() -> None:
    with pytest.raises(RuleRefused, match="never received") as refused:
        receive_order(None, order(purpose=OrderPurpose.CANCEL), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.UNKNOWN_ORDER


@pytest.mark.parametrize("terms", [PartnerTerms(test_mode=True), LENIENT])
def test_a_test_order_stays_a_test_order(terms: PartnerTerms) -> None:
    incoming = order(test=not terms.test_mode)
    outcome = receive_order(None, incoming, terms=terms, document_id="d", now=NOW)
    assert outcome.order.test


@pytest.mark.parametrize("purpose", list(OrderPurpose))
def test_a_test_document_never_changes_a_live_order(purpose: OrderPurpose) -> None:
    live = order()
    before = snapshot(live)
    with pytest.raises(RuleRefused, match="test") as refused:
        receive_order(live, order(test=True, purpose=purpose), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.TEST_DOCUMENT_FOR_LIVE_ORDER
    assert snapshot(live) == before


def test_a_live_order_reusing_a_test_orders_po_is_a_new_live_order() -> None:
    tested = receive_order(None, order(test=True), terms=LENIENT, document_id="t", now=NOW).order
    outcome = receive_order(tested, order(), terms=LENIENT, document_id="live", now=NOW)
    assert not outcome.order.test
    assert [e.kind for e in outcome.order.events] == [EventKind.RECEIVED]


def test_an_order_carrying_running_state_or_a_line_twice_is_refused() -> None:
    with pytest.raises(RuleRefused, match="shipped_qty") as refused:
        receive_order(None, order(line("1", 10, shipped_qty=1)), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.INCONSISTENT_DOCUMENT
    with pytest.raises(RuleRefused, match="Line 1 appears twice") as refused:
        receive_order(None, order(line("1", 10), line("1", 2)), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.DUPLICATE_LINE


def test_zeros_are_no_running_state_however_written_and_every_carried_field_is_named() -> None:
    zeros = line("1", 10, cancelled_qty="0.00", shipped_qty="-0", pending_cancel_qty="0E+2")
    outcome = receive_order(None, order(zeros), terms=LENIENT, document_id="d", now=NOW)
    assert outcome.order.lines[0].open_qty == 10
    carrying = line("1", 10, shipped_qty=1, cancel_reason="", acknowledged_qty="0.0", backordered_qty=2)
    with pytest.raises(RuleRefused, match=r"\(backordered_qty, cancel_reason, shipped_qty\)"):
        receive_order(None, order(carrying), terms=LENIENT, document_id="d", now=NOW)


def test_an_order_for_another_po_is_refused() -> None:
    with pytest.raises(RuleRefused) as refused:
        receive_order(order(), order(po="OTHER"), terms=LENIENT, document_id="d", now=NOW)
    assert refused.value.code is Refusal.WRONG_ORDER
