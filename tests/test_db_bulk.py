"""Rows inserted many at once (``engine.db.bulk``) are the rows SQLAlchemy's own insert would
store, on every backend, and an order's stored record holds no derived values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, select

from engine.db.bulk import insert_many
from engine.db.session import unit_of_work
from engine.db.tables import OrderEventRow, OrderLineRow, OrderRow, TransactionSet
from engine.db.types import JsonText
from engine.model import ActorKind, EventKind, LineStatus, Order, OrderLine
from tests.db_fixtures import Db, add_partner, db, migrated_postgres, migrated_sqlite_template

__all__ = ["db", "migrated_postgres", "migrated_sqlite_template"]  # fixtures, imported for pytest

amounts = st.decimals(min_value=0, max_value=Decimal("99999999999999.9999"), places=4)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


def _table(mapped: type[Any]) -> Table:
    table = mapped.__table__
    assert isinstance(table, Table)
    return table


def _order_id(db: Db) -> int:
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        return uow.orders.save(Order(partner_id="acme", po_number="PO1")).id


def _rows(db: Db, mapped: type[Any], order_id: int, positions: range) -> list[tuple[Any, ...]]:
    columns = [c for c in _table(mapped).c if c.name != "id"]
    with db.sessions() as session:
        query = select(*columns).where(columns[0] == order_id, _table(mapped).c.position.in_(positions))
        return [tuple(row) for row in session.execute(query.order_by(_table(mapped).c.position))]


def test_lines_inserted_in_bulk_read_back_as_sqlalchemy_inserted_ones(db: Db) -> None:
    order_id = _order_id(db)
    offset = iter(range(0, 10_000, 100))

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(texts, amounts, amounts, st.sampled_from(LineStatus)), min_size=1, max_size=5))
    def same(values: list[tuple[str, Decimal, Decimal, LineStatus]]) -> None:
        start = next(offset)
        rows = [
            {"order_id": order_id, "position": start + i, "line_number": number, "ordered_qty": ordered,
             "cancelled_qty": cancelled, "backordered_qty": Decimal(0), "shipped_qty": Decimal(0),
             "pending_cancel_qty": Decimal(0), "open_qty": ordered, "status": status}
            for i, (number, ordered, cancelled, status) in enumerate(values)
        ]  # fmt: skip
        ours = [{**row, "position": row["position"] + 50} for row in rows]
        with unit_of_work(db.sessions) as uow:
            uow.session.execute(insert(_table(OrderLineRow)), rows)
            insert_many(uow.session, _table(OrderLineRow), ours)
        theirs = _rows(db, OrderLineRow, order_id, range(start, start + 50))
        mine = _rows(db, OrderLineRow, order_id, range(start + 50, start + 100))
        assert [(r[0], r[1] - 50, *r[2:]) for r in mine] == [(r[0], *r[1:]) for r in theirs]

    same()


def test_times_json_and_nulls_inserted_in_bulk_read_back_as_sqlalchemy_inserted_ones(db: Db) -> None:
    order_id = _order_id(db)
    at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC) + timedelta(microseconds=7)
    rows = [
        {"order_id": order_id, "position": 1, "kind": EventKind.RECEIVED, "at": at, "actor_kind": ActorKind.ENGINE,
         "actor_id": None, "reason": None, "document_id": "7", "detail": {"text": "ü", "n": [1, None]}},
        {"order_id": order_id, "position": 2, "kind": EventKind.SENT, "at": at, "actor_kind": ActorKind.SUPPLIER_USER,
         "actor_id": "ann", "reason": "R1", "document_id": None, "detail": JsonText('{"kept": "as written"}')},
    ]  # fmt: skip
    with unit_of_work(db.sessions) as uow:
        uow.session.execute(insert(_table(OrderEventRow)), rows)
        insert_many(uow.session, _table(OrderEventRow), [{**row, "position": row["position"] + 10} for row in rows])
    theirs, mine = _rows(db, OrderEventRow, order_id, range(1, 3)), _rows(db, OrderEventRow, order_id, range(11, 13))
    assert [(r[0], r[1] + 10, *r[2:]) for r in theirs] == mine
    assert mine[0][3] == at and mine[1][-1] == {"kept": "as written"}


def test_a_bulk_insert_of_no_rows_does_nothing(db: Db) -> None:
    with unit_of_work(db.sessions) as uow:
        insert_many(uow.session, _table(TransactionSet), [])
        assert uow.session.scalars(select(TransactionSet.id)).first() is None


def test_the_stored_order_keeps_no_derived_values_and_reading_it_derives_them_again(db: Db) -> None:
    add_partner(db)
    line = OrderLine(line_number="1", ordered_qty=Decimal(4), cancelled_qty=Decimal(4), unit_price=Decimal(1))
    orders = [Order(partner_id="acme", po_number=po, lines=[line]) for po in ("PO1", "PO2")]
    with unit_of_work(db.sessions) as uow:
        saved = [uow.orders.save(orders[0]), *uow.orders.add_new(orders[1:])]
    with db.sessions() as session:
        documents = [session.get(OrderRow, stored.id).document for stored in saved]  # type: ignore[union-attr]
    for document in documents:
        assert not {"status", "total"} & set(document)
        assert not {"status", "open_qty"} & set(document["lines"][0])
    with unit_of_work(db.sessions) as uow:
        again = [uow.orders.get(stored.id).order for stored in saved]
    assert [o.status for o in again] == [o.status for o in orders]
    assert again[0].lines[0].status is LineStatus.CANCELLED and again[0].total == Decimal(4)
