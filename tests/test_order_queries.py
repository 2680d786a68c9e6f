"""The portal's Orders page and order detail page (``engine.order_queries``), on SQLite and PostgreSQL:
tab counts from the counters, tabs, PO search (exact first, then longer PO numbers starting with
it), filters, keyset pages that visit every order once in order while orders arrive, test orders
apart, and nothing of a partner the person may not see."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from engine.db.repository import findings_json
from engine.db.session import unit_of_work
from engine.db.tables import OrderCounter, OrderRow, OutboundKind, SetStatus
from engine.ingest import ingest_file
from engine.model import EventKind, Order, OrderLine, OrderStatus, Party, PartyRole
from engine.order_queries import (
    ALL,
    TABS,
    BadCursor,
    Cursor,
    OrderPage,
    document_content,
    order_detail,
    order_page,
    tab_counts,
)
from engine.runtime import Runtime
from engine.services import mark_backordered, show_order
from tests.db_fixtures import Db, add_partner, db, migrated_postgres, migrated_sqlite_template
from tests.pipeline_fixtures import NOW, clock, database_url, open_runtime, outbox, runtime, sample, variant

__all__ = ["clock", "database_url", "db", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]

PARTNERS = ("acme", "globex", "initech")
VISIBLE = ("acme", "globex")  # an organisation that trades with two of the three


def order(po: str, status: OrderStatus = OrderStatus.NEW, *, partner_id: str = "acme", **fields: Any) -> Order:
    """An order of three units at 2.50 whose line quantities give it ``status``."""
    quantities = {
        OrderStatus.BACKORDERED: {"backordered_qty": Decimal(1)},
        OrderStatus.PARTIALLY_SHIPPED: {"shipped_qty": Decimal(1)},
        OrderStatus.SHIPPED: {"shipped_qty": Decimal(3)},
        OrderStatus.CANCELLED: {"cancelled_qty": Decimal(3)},
        OrderStatus.RETAILER_CANCEL_PENDING: {"pending_cancel_qty": Decimal(3)},
    }.get(status, {})
    line = OrderLine(line_number="1", ordered_qty=Decimal(3), unit_price=Decimal("2.50"), **quantities)
    made = Order(
        partner_id=partner_id, po_number=po, lines=[line], acknowledged=status is OrderStatus.ACKNOWLEDGED, **fields
    )
    assert made.status is status
    return made


def save(db: Db, *orders: Order) -> list[int]:
    with unit_of_work(db.sessions) as uow:
        return [uow.orders.save(o).id for o in orders]


def partners(db: Db) -> None:
    for partner_id in PARTNERS:
        add_partner(db, partner_id)


def page(db: Db, visible: tuple[str, ...] = VISIBLE, **query: Any) -> OrderPage:
    with db.sessions() as session:
        return order_page(session, visible, **query)


def pos(found: OrderPage) -> list[str]:
    return [item.po_number for item in found.items]


# -- tabs and counts ----------------------------------------------------------------------------------
def test_tab_counts_are_the_visible_partners_orders_by_status_read_from_the_counters(db: Db) -> None:
    partners(db)
    statuses = list(OrderStatus)
    made = [order(f"P{n}", statuses[n % len(statuses)], partner_id=PARTNERS[n % 3], test=n % 5 == 0) for n in range(60)]
    save(db, *made)
    with db.sessions() as session:
        counts = tab_counts(session, VISIBLE)
        test_counts = tab_counts(session, VISIBLE, test=True)
        nobody = tab_counts(session, [])
    for space, got in ((False, counts), (True, test_counts)):
        wanted = {s.value: sum(1 for o in made if o.status is s and o.partner_id in VISIBLE and o.test == space)
                  for s in OrderStatus}  # fmt: skip
        assert got == {**wanted, ALL: sum(wanted.values())}
        assert list(got) == list(TABS)
    assert nobody == dict.fromkeys(TABS, 0)
    # Read from the counters, not counted: a counter changed by hand is what the tab says.
    with unit_of_work(db.sessions) as uow:
        uow.session.execute(
            update(OrderCounter)
            .where(OrderCounter.partner_id == "acme", OrderCounter.test.is_(False), OrderCounter.status == "new")
            .values(count=OrderCounter.count + 1000)
        )
    with db.sessions() as session:
        assert tab_counts(session, VISIBLE)["new"] == counts["new"] + 1000


def test_a_tab_lists_its_status_newest_first_with_the_columns_of_the_page(db: Db) -> None:
    partners(db)
    buyer = Party(role=PartyRole.BUYING_PARTY, name="Jordan's Shop")
    ids = save(
        db,
        order("A1", OrderStatus.ACKNOWLEDGED, order_date=date(2024, 3, 1), ship_by_date=date(2024, 3, 9)),
        order("A2", OrderStatus.NEW, partner_id="globex"),
        order("A3", OrderStatus.ACKNOWLEDGED, partner_id="globex", parties=[buyer]),
        order("A4", OrderStatus.SHIPPED),
        order("A5", OrderStatus.ACKNOWLEDGED, partner_id="initech"),
    )
    acknowledged = page(db, tab="acknowledged")
    assert pos(acknowledged) == ["A3", "A1"]
    assert (acknowledged.next_cursor, acknowledged.previous_cursor) == (None, None)
    a3, a1 = acknowledged.items
    assert (a3.id, a3.retailer, a3.partner_id) == (ids[2], "Jordan's Shop", "globex")
    assert (a1.retailer, a1.order_date, a1.ship_by_date) == ("Acme Stores", date(2024, 3, 1), date(2024, 3, 9))
    assert (a1.status, a1.open_qty, a1.ordered_qty, a1.total) == (OrderStatus.ACKNOWLEDGED, 3, 3, Decimal("7.5"))
    assert pos(page(db, tab=ALL)) == pos(page(db)) == ["A4", "A3", "A2", "A1"]
    assert pos(page(db, tab=None, newest_first=False)) == ["A1", "A2", "A3", "A4"]
    assert pos(page(db, tab="shipped")) == ["A4"]
    assert [item.open_qty for item in page(db, tab="shipped").items] == [0]


def test_a_po_search_shows_the_exact_po_first_then_longer_po_numbers_starting_with_it(db: Db) -> None:
    partners(db)
    save(
        db,
        order("AB1"),
        order("AB12"),
        order("AB1", partner_id="globex"),
        order("ab1"),
        order("XAB1"),
        order("AB123", OrderStatus.SHIPPED),
        order("AB2"),
        order("AB1", partner_id="initech"),
        order("AB1", test=True),
        order("A%B"),
        order("A_B"),
    )
    assert pos(page(db, po="AB1")) == ["AB1", "AB1", "AB123", "AB12"]  # globex's AB1 is the newer
    assert [item.partner_id for item in page(db, po="AB1").items][:2] == ["globex", "acme"]
    assert pos(page(db, po=" AB12 ")) == ["AB12", "AB123"]
    assert pos(page(db, po="AB1", tab="shipped")) == ["AB123"]
    assert pos(page(db, po="AB1", newest_first=False)) == ["AB1", "AB1", "AB12", "AB123"]
    assert pos(page(db, po="ab")) == ["ab1"]  # case-sensitive, as partners send PO numbers
    assert pos(page(db, po="A%")) == ["A%B"]  # LIKE's wildcards are only characters here
    assert pos(page(db, po="A_")) == ["A_B"]
    assert pos(page(db, po="AB1", test=True)) == ["AB1"]
    assert pos(page(db, po="")) == pos(page(db))
    # A page ends inside the exact matches, in the longer ones, or between the two.
    for limit in (1, 2, 3):
        seen, after = [], None
        while True:
            found = page(db, po="AB1", limit=limit, after=after)
            seen += pos(found)
            if found.next_cursor is None:
                break
            after = found.next_cursor
        assert seen == ["AB1", "AB1", "AB123", "AB12"]


def test_filters_by_partner_and_order_date_take_both_ends_of_the_range(db: Db) -> None:
    partners(db)
    save(
        db,
        order("D1", order_date=date(2024, 2, 29)),
        order("D2", order_date=date(2024, 3, 1)),
        order("D3", order_date=date(2024, 3, 15), partner_id="globex"),
        order("D4", order_date=date(2024, 3, 31)),
        order("D5", order_date=date(2024, 4, 1)),
        order("D6"),  # no order date
        order("D7", order_date=date(2024, 3, 10), partner_id="initech"),
    )
    march = {"order_date_from": date(2024, 3, 1), "order_date_to": date(2024, 3, 31)}
    assert pos(page(db, **march)) == ["D4", "D3", "D2"]
    assert pos(page(db, order_date_from=date(2024, 3, 31))) == ["D5", "D4"]
    assert pos(page(db, order_date_to=date(2024, 2, 29))) == ["D1"]
    assert pos(page(db, partner_id="globex")) == ["D3"]
    assert pos(page(db, partner_id="acme", **march)) == ["D4", "D2"]
    assert pos(page(db, partner_id="initech")) == []  # not visible: as if it had none


def test_test_orders_are_listed_only_when_asked_for(db: Db) -> None:
    partners(db)
    save(db, order("T1", test=True), order("P1"), order("T2", OrderStatus.SHIPPED, test=True))
    assert pos(page(db)) == ["P1"]
    assert pos(page(db, test=True)) == ["T2", "T1"]
    assert pos(page(db, test=True, tab="shipped")) == ["T2"]


def test_a_cursor_not_made_here_or_an_unknown_tab_is_refused(db: Db) -> None:
    partners(db)
    save(db, order("C1"), order("C2"))
    with pytest.raises(BadCursor):
        page(db, after=Cursor("not a cursor"))
    with pytest.raises(BadCursor):
        page(db, after=Cursor("djE6YTo5OjE"))  # v1:a:9:1, a search group that does not exist
    with pytest.raises(ValueError, match="no tab 'open'"):
        page(db, tab="open")
    with pytest.raises(ValueError, match="limit"):
        page(db, limit=0)


# -- keyset pages ----------------------------------------------------------------------------------------
def test_pages_visit_every_order_once_in_order_and_back_while_orders_arrive(db: Db) -> None:
    partners(db)
    statuses = list(OrderStatus)
    save(
        db,
        *(
            order(f"K{n % 7}{n:03d}", statuses[(n * 3) % len(statuses)], partner_id=PARTNERS[n % 3],
                  order_date=date(2024, 1, 1) + timedelta(days=n % 40), test=n % 11 == 0)
            for n in range(90)
        ),
    )  # fmt: skip
    arrivals = count(1000)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        limit=st.integers(1, 12),
        tab=st.sampled_from([None, *TABS]),
        po=st.sampled_from([None, "K1", "K30", "K"]),
        visible=st.sampled_from([VISIBLE, ("acme",), PARTNERS, ("globex", "initech")]),
        newest_first=st.booleans(),
        since=st.sampled_from([None, date(2024, 1, 20)]),
    )
    def walk(
        limit: int, tab: str | None, po: str | None, visible: tuple[str, ...], newest_first: bool, since: date | None
    ) -> None:
        query = {"tab": tab, "po": po, "newest_first": newest_first, "order_date_from": since}
        expected = oracle(db, visible, **query)
        pages: list[OrderPage] = []
        after: str | None = None
        while True:
            found = page(db, visible, limit=limit, after=after, **query)
            pages.append(found)
            assert len(found.items) <= limit
            if len(pages) <= 3:  # a few, so that the data (and the walks) stay small
                # A new order of every visible partner arrives between pages.
                save(db, *(order(f"K1N{next(arrivals)}", partner_id=p, order_date=date(2024, 2, 1)) for p in visible))
            if found.next_cursor is None:
                break
            after = found.next_cursor
        walked = [item.id for found in pages for item in found.items]
        if newest_first:  # arrivals are newer than any cursor: never shown in this walk
            assert walked == expected
        else:  # oldest first, arrivals may join at the end
            assert walked[: len(expected)] == expected and len(set(walked)) == len(walked)
        assert all(not found.items or found.next_cursor for found in pages[:-1])
        assert pages[0].previous_cursor is None
        # Going back from the last page shows the same pages again.
        back = pages[-1]
        for earlier in reversed(pages[:-1]):
            assert back.previous_cursor is not None
            back = page(db, visible, limit=limit, after=back.previous_cursor, **query)
            assert [i.id for i in back.items] == [i.id for i in earlier.items]
        if back.previous_cursor is not None:  # before the first page: only orders that arrived since
            before = page(db, visible, limit=limit, after=back.previous_cursor, **query)
            assert before.items and not {i.id for i in before.items} & set(expected)

    walk()


def oracle(db: Db, visible: tuple[str, ...], *, tab: str | None, po: str | None, newest_first: bool,
           order_date_from: date | None) -> list[int]:  # fmt: skip
    """What the pages must show, worked out in Python from every order row."""
    with db.sessions() as session:
        rows = session.execute(select(OrderRow.id, OrderRow.partner_id, OrderRow.po_number, OrderRow.test,
                                      OrderRow.status, OrderRow.order_date)).all()  # fmt: skip
    wanted = [
        r
        for r in rows
        if r.partner_id in visible
        and not r.test
        and (tab in (None, ALL) or r.status == tab)
        and (order_date_from is None or (r.order_date is not None and r.order_date >= order_date_from))
    ]
    ordered = sorted((r.id for r in wanted), reverse=newest_first)
    if po is None:
        return ordered
    exact = {r.id for r in wanted if r.po_number == po}
    longer = {r.id for r in wanted if r.po_number.startswith(po) and r.po_number != po}
    return [i for i in ordered if i in exact] + [i for i in ordered if i in longer]


# -- what another organisation may not see ---------------------------------------------------------------
def test_an_invisible_partners_orders_documents_and_counts_are_never_shown(db: Db) -> None:
    partners(db)
    mine, theirs = save(db, order("S1"), order("S1", partner_id="initech"))
    with unit_of_work(db.sessions) as uow:
        reception = uow.interchanges.receive(
            b"ISA*00*...their file", sender="ZZ:INITECH", receiver="ZZ:US", control_number="1", partner_id="initech"
        )
        their_set = uow.interchanges.record_set(
            reception.interchange_id, 1, status=SetStatus.ACCEPTED, set_id="850", group_control_number="1",
            set_control_number="0001", findings=findings_json([]), order_id=theirs,
        ).id  # fmt: skip
        their_document = uow.outbound.add(
            partner_id="initech", kind=OutboundKind.ORDER_ACK, cause_key="c1", content=b"ISA*855", order_id=theirs
        ).id
    visible = ("acme",)
    with db.sessions() as session:
        assert [i.id for i in order_page(session, visible, po="S1").items] == [mine]
        assert order_page(session, visible, partner_id="initech").items == ()
        # A cursor is a position, not a permission: one "before" every id still shows only what is visible.
        forged = Cursor("djE6YTowOjk5OTk5OTk")  # v1:a:0:9999999
        assert [i.id for i in order_page(session, visible, after=forged).items] == [mine]
        assert order_detail(session, visible, theirs) is None
        assert order_detail(session, visible, 424242) is None
        assert document_content(session, visible, "in", their_set) is None
        assert document_content(session, visible, "out", their_document) is None
        assert tab_counts(session, visible)[ALL] == 1
        # The same ids for someone who may see initech.
        detail = order_detail(session, ("initech",), theirs)
        assert detail is not None and detail.po_number == "S1" and detail.sent[0].id == their_document
        assert document_content(session, ("initech",), "in", their_set) == b"ISA*00*...their file"
        assert document_content(session, ("initech",), "out", their_document) == b"ISA*855"
        assert document_content(session, ("initech",), "out", 999999) is None
        assert document_content(session, ("initech",), "in", 999999) is None


# -- the detail page ---------------------------------------------------------------------------------------
def test_the_detail_shows_the_order_its_history_and_every_document_received_and_sent(
    runtime: Runtime, tmp_path: Path
) -> None:
    received_850 = sample(runtime, "northwind", "850")
    assert ingest_file(runtime, received_850).status == "processed"  # Northwind gets its 855 on receipt
    ship_date = NOW.date() + timedelta(days=20)
    mark_backordered(runtime, "NW5001234", line="2", ship_date=ship_date, partner_id="northwind")
    cancel_file = variant(sample(runtime, "northwind", "860-cancel"), tmp_path, isa13=777)
    assert ingest_file(runtime, cancel_file).status == "processed"
    shown = show_order(runtime, "NW5001234", "northwind")
    visible = runtime.partners_of("default")
    with runtime.sessions() as session:
        order_id = session.scalars(select(OrderRow.id).where(OrderRow.po_number == "NW5001234")).one()
        detail = order_detail(session, visible, order_id)
        assert order_detail(session, ["contoso"], order_id) is None
        assert detail is not None
        raw_in = [document_content(session, visible, "in", r.id) for r in detail.received]
        raw_out = {d.file_name: document_content(session, visible, "out", d.id) for d in detail.sent}
        assert all(document_content(session, ["contoso"], "out", d.id) is None for d in detail.sent)

    assert (detail.po_number, detail.partner_id, detail.status) == ("NW5001234", "northwind", shown["status"])
    assert detail.retailer == detail.partner_name == runtime.partners["northwind"].name  # no buying party named
    assert (detail.order_date, detail.ship_by_date) == (date(2024, 3, 1), date(2024, 3, 15))
    assert {p.role for p in detail.parties} >= {PartyRole.SHIP_TO, PartyRole.BILL_TO}
    line = {line.line_number: line for line in detail.lines}["2"]
    assert (line.backordered_qty, line.backorder_ship_date, line.status.value) == (1, ship_date, "cancel_pending")
    assert [line.model_dump(mode="json") for line in detail.lines] == shown["lines"]
    kinds = [event.kind for event in detail.history]
    assert kinds == [EventKind(e["kind"]) for e in shown["events"]]
    assert kinds[0] is EventKind.RECEIVED and EventKind.BACKORDERED in kinds
    assert kinds[-1] is EventKind.RETAILER_CANCEL_REQUESTED

    assert [(r.set_id, r.position, r.status) for r in detail.received] == [
        ("850", 1, "accepted"),
        ("860", 1, "accepted"),
    ]
    assert raw_in == [received_850.read_bytes(), cancel_file.read_bytes()]
    by_history = [event.received_id for event in detail.history if event.received_id is not None]
    assert set(by_history) == {r.id for r in detail.received}
    sent = {d.id: d for d in detail.sent}
    assert sorted(d.kind.value for d in detail.sent) == ["855", "855", "997", "997"]
    assert all(sent[r.acknowledgement_id].kind is OutboundKind.FUNCTIONAL_ACK for r in detail.received
               if r.acknowledgement_id is not None)  # fmt: skip
    assert len({r.acknowledgement_id for r in detail.received}) == 2
    in_outbox = {path.name: path.read_bytes() for path in outbox(runtime, "northwind")}
    assert raw_out == {name: in_outbox[name] for name in raw_out}
    assert all(d.status.value == "sent" and d.sent_at is not None for d in detail.sent)
