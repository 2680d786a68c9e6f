"""The canonical model: quantities, derived statuses, UTC times and the published JSON schema."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.model import (
    Actor,
    ActorKind,
    EventKind,
    LineStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from engine.model.schema import SCHEMA_DIR, json_schemas

quantities = st.decimals(min_value=0, max_value=10_000, places=0)


def line(number: str = "1", **quantities: int) -> OrderLine:
    return OrderLine(line_number=number, **{k: Decimal(v) for k, v in {"ordered_qty": 10, **quantities}.items()})


@given(ordered=quantities, cancelled=quantities, shipped=quantities)
def test_open_quantity_is_ordered_less_cancelled_and_shipped_never_negative(
    ordered: Decimal, cancelled: Decimal, shipped: Decimal
) -> None:
    item = OrderLine(line_number="1", ordered_qty=ordered, cancelled_qty=cancelled, shipped_qty=shipped)
    assert item.open_qty == max(ordered - cancelled - shipped, 0)


@pytest.mark.parametrize(
    ("quantities", "status"),
    [
        ({}, LineStatus.OPEN),
        ({"backordered_qty": 4}, LineStatus.BACKORDERED),
        ({"shipped_qty": 4}, LineStatus.PARTIALLY_SHIPPED),
        ({"shipped_qty": 6, "cancelled_qty": 4}, LineStatus.SHIPPED),
        ({"cancelled_qty": 10}, LineStatus.CANCELLED),
        ({"pending_cancel_qty": 3}, LineStatus.CANCEL_PENDING),
    ],
)
def test_line_status_follows_from_its_quantities(quantities: dict[str, int], status: LineStatus) -> None:
    assert line(**quantities).status is status


@pytest.mark.parametrize(
    ("lines", "acknowledged", "status"),
    [
        ([line()], False, OrderStatus.NEW),
        ([line()], True, OrderStatus.ACKNOWLEDGED),
        ([line(), line("2", backordered_qty=2)], True, OrderStatus.BACKORDERED),
        ([line(), line("2", shipped_qty=10)], True, OrderStatus.PARTIALLY_SHIPPED),
        ([line(shipped_qty=10), line("2", cancelled_qty=10)], True, OrderStatus.SHIPPED),
        ([line(cancelled_qty=10)], True, OrderStatus.CANCELLED),
        ([line(shipped_qty=5, pending_cancel_qty=5)], True, OrderStatus.RETAILER_CANCEL_PENDING),
    ],
)
def test_order_status_follows_from_its_lines(lines: list[OrderLine], acknowledged: bool, status: OrderStatus) -> None:
    assert Order(partner_id="p", po_number="1", lines=lines, acknowledged=acknowledged).status is status


def test_money_stays_decimal_through_json() -> None:
    order = Order(
        partner_id="p",
        po_number="1",
        lines=[OrderLine(line_number="1", ordered_qty=Decimal(3), unit_price=Decimal("19.99"))],
    )
    again = Order.model_validate_json(order.model_dump_json())
    assert again.lines[0].unit_price == Decimal("19.99")
    assert order.total == Decimal("59.97")


def test_event_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        OrderEvent(kind=EventKind.RECEIVED, at=datetime(2026, 11, 28, 12), actor=Actor(kind=ActorKind.ENGINE))


def test_the_published_json_schemas_are_up_to_date() -> None:
    for name, schema in json_schemas().items():
        published = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        assert published == schema, f"run python -m engine.model.schema to republish {name}"


def test_lines_by_number_finds_each_line_as_line_does() -> None:
    first, other, again = line("1"), line("2"), line("1", shipped_qty=3)
    order = Order(partner_id="p", po_number="1", lines=[first, other, again])
    by_number = order.lines_by_number()
    assert list(by_number) == ["1", "2"]
    for number in ("1", "2", "3"):
        assert by_number.get(number) is order.line(number)
    assert by_number["1"] is order.lines[0]
