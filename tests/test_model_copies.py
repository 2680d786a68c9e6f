"""Copies of canonical values: a deep copy equals its original and shares nothing that can change,
so a rule working on a copy never touches the order it was given. Also: derived values read back
from JSON are dropped, and assignments are still validated."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from engine.model import (
    Acknowledgement,
    Address,
    Note,
    Order,
    OrderChange,
    OrderLine,
    Party,
    PartyRole,
    Reference,
    ShipNotice,
)
from engine.model.common import Model

ATOMS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=6),
    int: st.integers(min_value=0, max_value=1000),
    bool: st.booleans(),
    NoneType: st.none(),
    Decimal: st.decimals(min_value=0, max_value=100_000, places=2),
    date: st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    datetime: st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)),
}


def values(annotation: Any) -> st.SearchStrategy[Any]:
    """Any valid value of a field so annotated, nested models included (small, for speed)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return values(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return st.one_of([values(arg) for arg in get_args(annotation)])
    if origin is list:
        return st.lists(values(get_args(annotation)[0]), max_size=2)
    if origin is dict:
        key, value = get_args(annotation)
        return st.dictionaries(values(key), values(value), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return models(annotation)
    return ATOMS[annotation]


def models(cls: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {name: values(info.annotation) for name, info in cls.model_fields.items()}
    return st.deferred(lambda: st.builds(cls, **fields))


def containers(value: Any) -> list[Any]:
    """Every list, dict and model inside a value, the value included."""
    if isinstance(value, BaseModel):
        found: list[Any] = [value]
        for item in value.__dict__.values():
            found += containers(item)
        return found
    if isinstance(value, list):
        return [value, *(c for item in value for c in containers(item))]
    if isinstance(value, dict):
        return [value, *(c for item in value.values() for c in containers(item))]
    return []


canonical_values = st.one_of(
    models(Order), models(Acknowledgement), models(OrderChange), models(ShipNotice), models(OrderLine)
)


@settings(max_examples=150, deadline=None)
@given(original=canonical_values)
def test_a_deep_copy_equals_its_original_and_shares_no_container_with_it(original: Model) -> None:
    before = original.model_dump_json()
    for copied in (original.model_copy(deep=True), copy.deepcopy(original)):
        assert copied == original
        assert type(copied) is type(original)
        assert copied.model_dump_json() == before
        assert copied.model_fields_set == original.model_fields_set
        shared = {id(c) for c in containers(original)} & {id(c) for c in containers(copied)}
        assert not shared
    assert original.model_dump_json() == before


@settings(max_examples=50, deadline=None)
@given(original=models(Order))
def test_changing_a_copy_leaves_the_original_as_it_was(original: Order) -> None:
    before = original.model_dump_json()
    copied = original.model_copy(deep=True)
    for container in containers(copied):
        if isinstance(container, list | dict):
            container.clear()
    copied.po_number += "-X"
    assert original.model_dump_json() == before


def test_a_deep_copy_keeps_a_value_shared_within_the_original_shared_once() -> None:
    """As ``copy.deepcopy`` does: one value used twice is copied once and used twice."""
    reference = Reference(qualifier="DP", value="121")
    line = OrderLine(line_number="1", ordered_qty=Decimal(1), references=[reference])
    order = Order(partner_id="p", po_number="1", lines=[line], references=[reference])
    copied = order.model_copy(deep=True)
    assert copied.references[0] is copied.lines[0].references[0]
    assert copied.references[0] is not reference


def test_a_deep_copy_with_an_update_copies_the_rest() -> None:
    party = Party(role=PartyRole.SHIP_TO, name="Store", address=Address(lines=["1 Main St"]))
    order = Order(partner_id="p", po_number="1", parties=[party])
    copied = order.model_copy(deep=True, update={"po_number": "2"})
    assert copied.po_number == "2"
    assert copied.parties == order.parties
    assert copied.parties[0].address is not party.address


def test_derived_values_read_back_are_dropped_and_recomputed() -> None:
    data = {"line_number": "1", "ordered_qty": "5", "shipped_qty": "5", "open_qty": "99", "status": "open"}
    line = OrderLine.model_validate(data)
    assert (line.open_qty, line.status) == (Decimal(0), "shipped")
    assert OrderLine.model_validate_json(line.model_dump_json()) == line


def test_unknown_fields_are_still_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        OrderLine.model_validate({"line_number": "1", "ordered_qty": "5", "opened_qty": "5"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        Note.model_validate({"text": "hi", "status": "open"})


def test_assignments_are_still_validated() -> None:
    line = OrderLine(line_number="1", ordered_qty=Decimal(5))
    with pytest.raises(ValidationError):
        line.shipped_qty = Decimal(-1)
    line.shipped_qty = "2"  # type: ignore[assignment]
    assert line.shipped_qty == Decimal(2)


def test_each_value_gets_its_own_empty_lists_and_dicts() -> None:
    first, second = Order(partner_id="p", po_number="1"), Order(partner_id="p", po_number="2")
    first.lines.append(OrderLine(line_number="1", ordered_qty=Decimal(1)))
    first.lines[0].item_ids["upc"] = "0123"
    assert second.lines == []
    assert OrderLine(line_number="2", ordered_qty=Decimal(1)).item_ids == {}
    assert Order.model_json_schema()["properties"]["lines"]["default"] == []
