"""place_order: a purchase order we send a supplier, refused when it cannot be sent as a new order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import ActorKind, EventKind, OrderLine, OrderPurpose, OrderStatus, PendingChange
from engine.rules import Refusal, RuleRefused, place_order
from tests.test_rules_support import NOW, TODAY, USER, line, order, snapshot


def without_events(value: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = value.model_dump(mode="json", exclude={"events"})
    return dumped


def test_a_placed_order_is_new_not_acknowledged_with_a_sent_event_and_owes_itself() -> None:
    placed = order(acknowledged=True)
    outcome = place_order(placed, actor=USER, now=NOW)
    assert outcome.order.status is OrderStatus.NEW and not outcome.order.acknowledged
    [sent] = outcome.events
    assert outcome.order.events == [sent]
    assert sent.kind is EventKind.SENT and sent.actor == USER and sent.at == NOW
    assert outcome.purchase_order is not None and outcome.documents == (outcome.purchase_order,)
    assert without_events(outcome.purchase_order) == without_events(outcome.order)
    assert outcome.purchase_order.events == []
    assert outcome.acknowledgement is None and outcome.ship_notice is None


def test_an_order_without_a_date_is_dated_the_day_it_is_placed() -> None:
    undated = order().model_copy(update={"order_date": None})
    outcome = place_order(undated, actor=USER, now=NOW)
    assert outcome.order.order_date == TODAY
    assert outcome.purchase_order is not None and outcome.purchase_order.order_date == TODAY


def test_an_order_without_lines_is_refused() -> None:
    empty = order()
    empty.lines = []
    with pytest.raises(RuleRefused, match="has no lines") as refused:
        place_order(empty, actor=USER, now=NOW)
    assert refused.value.code is Refusal.NOTHING_REQUESTED


def test_a_line_number_twice_is_refused() -> None:
    with pytest.raises(RuleRefused, match="Line 1 appears twice") as refused:
        place_order(order(line("1", 2), line("1", 3)), actor=USER, now=NOW)
    assert (refused.value.code, refused.value.line_number) == (Refusal.DUPLICATE_LINE, "1")


@pytest.mark.parametrize(
    "state",
    [
        {"cancelled_qty": 1},
        {"shipped_qty": 2},
        {"backordered_qty": 1, "backorder_ship_date": TODAY + timedelta(days=9)},
        {"pending_cancel_qty": 1},
        {"pending_change": PendingChange(kind="price_change", unit_price=Decimal(1))},
        {"acknowledged_qty": 3},
    ],
)
def test_a_line_with_running_state_is_refused(state: dict[str, Any]) -> None:
    with pytest.raises(RuleRefused, match="running state") as refused:
        place_order(order(line("1", 5), line("2", 3, **state)), actor=USER, now=NOW)
    assert (refused.value.code, refused.value.line_number) == (Refusal.INCONSISTENT_DOCUMENT, "2")


def test_pending_lines_are_refused() -> None:
    with pytest.raises(RuleRefused, match="pending lines") as refused:
        place_order(order(pending_lines=[line("4", 1)]), actor=USER, now=NOW)
    assert refused.value.code is Refusal.INCONSISTENT_DOCUMENT


@pytest.mark.parametrize("purpose", [p for p in OrderPurpose if p is not OrderPurpose.ORIGINAL])
def test_a_purpose_other_than_original_is_refused(purpose: OrderPurpose) -> None:
    with pytest.raises(RuleRefused, match="only a new") as refused:
        place_order(order(purpose=purpose), actor=USER, now=NOW)
    assert refused.value.code is Refusal.UNSUPPORTED_PURPOSE


def test_a_line_ordered_at_zero_is_refused() -> None:
    with pytest.raises(RuleRefused, match="more than zero") as refused:
        place_order(order(line("1", 5), line("2", 0)), actor=USER, now=NOW)
    assert (refused.value.code, refused.value.line_number) == (Refusal.QUANTITY_NOT_POSITIVE, "2")


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        place_order(order(), actor=USER, now=NOW.replace(tzinfo=None))


running = st.fixed_dictionaries(
    {},
    optional={
        "cancelled_qty": st.integers(0, 3),
        "shipped_qty": st.integers(0, 3),
        "backordered_qty": st.integers(0, 3),
        "pending_cancel_qty": st.integers(0, 3),
    },
)
lines = st.lists(st.tuples(st.sampled_from(["1", "2", "3", "4"]), st.integers(0, 9), running), min_size=0, max_size=5)


@given(
    drawn=lines,
    purpose=st.sampled_from(list(OrderPurpose)),
    actor=st.sampled_from([USER, USER.model_copy(update={"kind": ActorKind.ENGINE})]),
)
def test_any_order_is_either_placed_whole_or_refused_and_never_changed(
    drawn: list[tuple[str, int, dict[str, int]]], purpose: OrderPurpose, actor: Any
) -> None:
    built: list[OrderLine] = [line(n, q, **state) for n, q, state in drawn]
    placed = order(purpose=purpose)
    placed.lines = built
    before = snapshot(placed)
    try:
        outcome = place_order(placed, actor=actor, now=NOW)
    except RuleRefused as refused:
        assert refused.code in {
            Refusal.UNSUPPORTED_PURPOSE,
            Refusal.NOTHING_REQUESTED,
            Refusal.DUPLICATE_LINE,
            Refusal.INCONSISTENT_DOCUMENT,
            Refusal.QUANTITY_NOT_POSITIVE,
        }
        assert str(refused).endswith(".") and "\n" not in str(refused)
    else:
        numbers = [n for n, _, _ in drawn]
        assert purpose is OrderPurpose.ORIGINAL and numbers and len(set(numbers)) == len(numbers)
        assert all(q > 0 and not any(state.values()) for _, q, state in drawn)
        assert [e.kind for e in outcome.order.events] == [EventKind.SENT]
        assert outcome.order.status is OrderStatus.NEW
        assert [(x.line_number, x.open_qty) for x in outcome.order.lines] == [(n, Decimal(q)) for n, q, _ in drawn]
        assert len(outcome.documents) == 1
    assert snapshot(placed) == before
