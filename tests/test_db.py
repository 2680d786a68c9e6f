"""The storage contract, run against every backend (SQLite and PostgreSQL): orders, interchanges,
transaction sets, quarantine and outbound documents."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from edi.findings import Finding, Level
from engine.db.repository import (
    CauseAlreadyHandled,
    InterchangeAlreadyCommitted,
    NotFound,
    OrderExists,
    OrderFilter,
    RepositoryError,
    SetRecord,
    StaleOrder,
)
from engine.db.session import unit_of_work
from engine.db.tables import (
    Interchange,
    InterchangeStatus,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    OutboundKind,
    OutboundStatus,
    SetStatus,
)
from engine.model import (
    Actor,
    ActorKind,
    Address,
    ChangeKind,
    Charge,
    Contact,
    EventKind,
    LineEffect,
    Note,
    Order,
    OrderEvent,
    OrderLine,
    OrderPurpose,
    OrderStatus,
    Party,
    PartyRole,
    PendingChange,
    Reference,
    Routing,
)
from engine.model.common import ITEM_ID_KINDS
from tests.db_fixtures import Db, add_partner, db, migrated_postgres, migrated_sqlite_template, run_together

__all__ = ["db", "migrated_postgres", "migrated_sqlite_template"]  # fixtures, imported for pytest

FOUR_PLACES = Decimal("0.0001")

# -- canonical orders, generated ----------------------------------------------------------------------
# Text that EDI can carry. Searchable columns cannot hold NUL (PostgreSQL text); the JSON document
# can, so free text (notes) may contain it.
words = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
free_text = st.text(st.characters(codec="utf-8"), max_size=20)
codes = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=6)
maybe = st.none
quantities = st.decimals(min_value=0, max_value=1_000_000, places=4)
money = st.decimals(min_value=-1_000_000, max_value=1_000_000, places=4)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.sampled_from([UTC])
)
references = st.lists(st.builds(Reference, qualifier=codes, value=words, description=maybe() | words), max_size=2)
notes = st.lists(st.builds(Note, code=maybe() | codes, text=free_text), max_size=2)
parties = st.lists(
    st.builds(
        Party,
        role=st.sampled_from(PartyRole),
        name=maybe() | words,
        id_qualifier=maybe() | codes,
        id=maybe() | codes,
        address=maybe() | st.builds(Address, lines=st.lists(words, max_size=2), city=maybe() | words),
        contacts=st.lists(st.builds(Contact, name=maybe() | words, email=maybe() | words), max_size=1),
    ),
    max_size=3,
)
lines = st.lists(
    st.builds(
        OrderLine,
        line_number=codes,
        item_ids=st.dictionaries(st.sampled_from(ITEM_ID_KINDS), codes, max_size=3),
        description=maybe() | words,
        ordered_qty=quantities,
        uom=codes,
        unit_price=maybe() | money,
        requested_ship_date=maybe() | days,
        cancelled_qty=quantities,
        backordered_qty=quantities,
        backorder_ship_date=maybe() | days,
        shipped_qty=quantities,
        pending_cancel_qty=quantities,
        pending_change=maybe()
        | st.builds(PendingChange, kind=st.sampled_from(ChangeKind), quantity=maybe() | quantities),
        cancel_reason=maybe() | words,
        references=references,
        notes=notes,
    ),
    max_size=4,
)
events = st.lists(
    st.builds(
        OrderEvent,
        kind=st.sampled_from(EventKind),
        at=moments,
        actor=st.builds(Actor, kind=st.sampled_from(ActorKind), id=maybe() | words),
        reason=maybe() | words,
        document_id=maybe() | codes,
        lines=st.lists(st.builds(LineEffect, line_number=codes, quantity=maybe() | quantities), max_size=2),
        text=maybe() | free_text,
    ),
    max_size=3,
)
orders = st.builds(
    Order,
    partner_id=st.just("acme"),
    po_number=st.text(string.ascii_letters + string.digits + "-/", min_size=1, max_size=22),
    purpose=st.sampled_from(OrderPurpose),
    order_type=maybe() | codes,
    order_date=maybe() | days,
    requested_ship_date=maybe() | days,
    ship_by_date=maybe() | days,
    currency=maybe() | st.sampled_from(["USD", "EUR"]),
    parties=parties,
    routing=maybe() | st.builds(Routing, carrier_code=maybe() | codes),
    references=references,
    notes=notes,
    charges=st.lists(st.builds(Charge, kind=st.sampled_from(["allowance", "charge"]), amount=maybe() | money)),
    lines=lines,
    test=st.booleans(),
    acknowledged=st.booleans(),
    events=events,
)


def an_order(po_number: str = "PO1", *, partner_id: str = "acme", quantity: int = 10, **fields: Any) -> Order:
    fields.setdefault("lines", [OrderLine(line_number="1", ordered_qty=Decimal(quantity), unit_price=Decimal("2.50"))])
    return Order(partner_id=partner_id, po_number=po_number, **fields)


def assert_columns_follow(db: Db, order_id: int, order: Order) -> None:
    """The searchable copies (order columns, line rows, event rows) say what the canonical order says."""
    with db.sessions() as session:
        row = session.get(OrderRow, order_id)
        assert row is not None
        assert (row.partner_id, row.po_number, row.test) == (order.partner_id, order.po_number, order.test)
        assert row.status is order.status
        assert (row.order_date, row.ship_by_date, row.acknowledged) == (
            order.order_date,
            order.ship_by_date,
            order.acknowledged,
        )
        buyer = order.party(PartyRole.BUYING_PARTY)
        assert row.retailer == (buyer.name if buyer else None)
        assert row.total == (None if order.total is None else order.total.quantize(FOUR_PLACES))
        assert row.ordered_qty == sum((line.ordered_qty for line in order.lines), Decimal(0))
        assert row.open_qty == sum((line.open_qty for line in order.lines), Decimal(0))
        stored_lines = session.scalars(
            select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.position)
        ).all()
        assert [
            (r.line_number, r.ordered_qty, r.cancelled_qty, r.backordered_qty, r.shipped_qty, r.pending_cancel_qty)
            for r in stored_lines
        ] == [
            (x.line_number, x.ordered_qty, x.cancelled_qty, x.backordered_qty, x.shipped_qty, x.pending_cancel_qty)
            for x in order.lines
        ]
        assert [(r.status, r.open_qty) for r in stored_lines] == [(x.status, x.open_qty) for x in order.lines]
        stored_events = session.scalars(
            select(OrderEventRow).where(OrderEventRow.order_id == order_id).order_by(OrderEventRow.position)
        ).all()
        assert [(e.kind, e.at, e.actor_kind, e.actor_id, e.reason, e.document_id) for e in stored_events] == [
            (e.kind, e.at, e.actor.kind, e.actor.id, e.reason, e.document_id) for e in order.events
        ]
        assert [OrderEvent.model_validate(e.detail) for e in stored_events] == order.events


# -- orders ---------------------------------------------------------------------------------------------
def test_an_order_round_trips_through_the_store_unchanged(db: Db) -> None:
    add_partner(db)
    numbers = count()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(orders)
    def round_trip(order: Order) -> None:
        order = order.model_copy(update={"po_number": f"{order.po_number}-{next(numbers)}"})
        with unit_of_work(db.sessions) as uow:
            stored = uow.orders.save(order)
        with unit_of_work(db.sessions) as uow:
            assert uow.orders.get(stored.id).order == order
            found = uow.orders.find(order.partner_id, order.po_number, test=order.test)
        assert found is not None
        assert found.order == order
        assert found.order.model_dump(mode="json") == order.model_dump(mode="json")
        assert (found.id, found.version) == (stored.id, 1)
        assert_columns_follow(db, stored.id, order)

    round_trip()


def test_saving_against_the_stored_version_updates_lines_events_and_version(db: Db) -> None:
    add_partner(db)
    order = an_order(
        lines=[OrderLine(line_number=str(n), ordered_qty=Decimal(n)) for n in (1, 2, 3)],
        parties=[Party(role=PartyRole.BUYING_PARTY, name="Northwind")],
    )
    with unit_of_work(db.sessions) as uow:
        first = uow.orders.save(order)
    changed = order.model_copy(
        update={
            "lines": [order.lines[0].model_copy(update={"shipped_qty": Decimal(1)}), OrderLine(line_number="9", ordered_qty=Decimal(4))],
            "acknowledged": True,
            "events": [
                OrderEvent(kind=EventKind.ACKNOWLEDGED, at=datetime(2025, 5, 1, tzinfo=UTC), actor=Actor(kind=ActorKind.SUPPLIER_USER, id="kim"))
            ],
        }
    )  # fmt: skip
    with unit_of_work(db.sessions) as uow:
        second = uow.orders.save(changed, expected_version=first.version)
    assert (second.id, second.version) == (first.id, 2)
    assert_columns_follow(db, first.id, changed)
    with unit_of_work(db.sessions) as uow:
        assert uow.orders.get(first.id).order == changed
        # Saving what is stored changes nothing, not even the version.
        assert uow.orders.save(changed, expected_version=2).version == 2
    grown = changed.model_copy(update={"lines": [*changed.lines, OrderLine(line_number="10", ordered_qty=Decimal(1))]})
    with unit_of_work(db.sessions) as uow:
        assert uow.orders.save(grown, expected_version=2).version == 3
    assert_columns_follow(db, first.id, grown)


def test_a_stale_version_is_refused_and_nothing_is_written(db: Db) -> None:
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        stored = uow.orders.save(an_order())
    with unit_of_work(db.sessions) as uow:  # someone else saves first
        uow.orders.save(an_order(quantity=11), expected_version=stored.version)
    with pytest.raises(StaleOrder, match="version 2, not 1"), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order(quantity=12), expected_version=stored.version)
    with unit_of_work(db.sessions) as uow:
        assert uow.orders.get(stored.id).order.lines[0].ordered_qty == 11


def test_the_optimistic_lock_holds_between_concurrent_transactions(db: Db) -> None:
    """Two writers both read version 1; the second to write is refused, whichever that is."""
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        stored = uow.orders.save(an_order())
    outcomes: list[str] = []

    def writer(quantity: int) -> None:
        try:
            with unit_of_work(db.sessions) as uow:
                uow.orders.save(an_order(quantity=quantity), expected_version=stored.version)
            outcomes.append("saved")
        except StaleOrder:
            outcomes.append("stale")

    run_together([lambda: writer(20), lambda: writer(30)])
    assert sorted(outcomes) == ["saved", "stale"]
    with unit_of_work(db.sessions) as uow:
        assert uow.orders.get(stored.id).version == 2


def test_an_order_key_is_unique_per_partner_po_and_test_space(db: Db) -> None:
    add_partner(db)
    add_partner(db, "globex")
    with unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order())
        uow.orders.save(an_order(test=True))  # the test space is separate
        uow.orders.save(an_order(partner_id="globex"))
    with pytest.raises(OrderExists, match="'PO1' of partner 'acme' already exists"), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order(quantity=99))
    with pytest.raises(NotFound, match="not stored"), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order("PO404"), expected_version=1)
    with pytest.raises(NotFound, match="partner 'initech'"), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order(partner_id="initech"))
    with pytest.raises(ValueError, match="NUL"), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order("PO\x00"))


def test_order_lists_filter_and_page_by_keyset_stably_while_orders_arrive(db: Db) -> None:
    add_partner(db)
    add_partner(db, "globex")
    with unit_of_work(db.sessions) as uow:
        for n in range(60):
            uow.orders.save(
                an_order(
                    f"{'AB' if n % 3 else 'ab'}{n:03d}",
                    partner_id="globex" if n % 5 == 0 else "acme",
                    acknowledged=n % 2 == 0,
                    test=n == 7,
                )
            )
    where = OrderFilter(partner_id="acme", statuses=frozenset({OrderStatus.NEW}), po_prefix="AB")
    with unit_of_work(db.sessions) as uow:
        expected = [s.id for s in uow.orders.list(where, limit=1000).items]
    assert expected == sorted(expected, reverse=True) and len(expected) > 7
    seen: list[int] = []
    after: int | None = None
    arrivals = count(100)
    pages = 0
    while True:
        with unit_of_work(db.sessions) as uow:
            page = uow.orders.list(where, after=after, limit=4)
            # Orders arriving between pages (newer, so before the cursor) do not disturb the pages.
            uow.orders.save(an_order(f"AB{next(arrivals)}"))
        pages += 1
        seen += [s.id for s in page.items]
        assert all(s.partner_id == "acme" and s.status is OrderStatus.NEW for s in page.items)
        assert all(s.po_number.startswith("AB") and not s.test for s in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == expected
    with unit_of_work(db.sessions) as uow:
        lower = uow.orders.list(OrderFilter(po_prefix="ab"), limit=1000).items
        tests = uow.orders.list(OrderFilter(test=True)).items
        everything = uow.orders.list(OrderFilter(test=None), limit=1000).items
        percent = uow.orders.list(OrderFilter(po_prefix="%")).items
    assert {s.po_number[:2] for s in lower} == {"ab"}  # case-sensitive on both backends
    assert [s.po_number for s in tests] == ["AB007"]
    assert len(everything) == 60 + pages
    assert percent == ()
    with pytest.raises(ValueError, match="limit"), unit_of_work(db.sessions) as uow:
        uow.orders.list(limit=0)


# -- interchanges -------------------------------------------------------------------------------------------
RAW = b"ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACMESUPPLY     *...~"


def receive(db: Db, content: bytes = RAW, sender: str = "ZZ:NORTHWIND", control: str = "000000001") -> Any:
    with unit_of_work(db.sessions) as uow:
        return uow.interchanges.receive(
            content, sender=sender, receiver="ZZ:ACMESUPPLY", control_number=control, partner_id="acme"
        )


def test_a_committed_interchange_received_again_is_a_duplicate_and_keeps_one_copy(db: Db) -> None:
    add_partner(db)
    first = receive(db)
    assert first.status is InterchangeStatus.RECEIVED and not first.again
    with unit_of_work(db.sessions) as uow:
        uow.interchanges.commit(first.interchange_id)
        uow.interchanges.commit(first.interchange_id)  # again: harmless
    again = receive(db)
    assert again.status is InterchangeStatus.DUPLICATE
    assert again.duplicate_of_id == first.interchange_id
    with unit_of_work(db.sessions) as uow:
        assert uow.interchanges.content(again.interchange_id) == RAW
        assert uow.interchanges.get(again.interchange_id).content is None
        with pytest.raises(RepositoryError, match="only a received one commits"):
            uow.interchanges.commit(again.interchange_id)
    # Other senders' identical bytes are theirs to send.
    assert receive(db, sender="ZZ:SOUTHWIND").status is InterchangeStatus.RECEIVED


def test_an_archived_but_uncommitted_interchange_is_processed_normally_when_it_comes_again(db: Db) -> None:
    """A crash between archiving and committing: the rerun (or the re-fetch) applies the file once."""
    add_partner(db)
    first = receive(db)

    class Crash(Exception):
        pass

    with pytest.raises(Crash), unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order())
        uow.interchanges.record_set(
            first.interchange_id, 1, status=SetStatus.ACCEPTED, set_id="850", group_control_number="1",
            set_control_number="0001",
        )  # fmt: skip
        uow.interchanges.commit(first.interchange_id)
        raise Crash  # before the transaction commits: nothing of it remains
    refetched = receive(db)
    assert refetched.status is InterchangeStatus.RECEIVED
    assert refetched.again and refetched.interchange_id == first.interchange_id
    with unit_of_work(db.sessions) as uow:
        assert [i.id for i in uow.interchanges.uncommitted()] == [first.interchange_id]
        assert uow.interchanges.sets(first.interchange_id) == []
        assert uow.orders.find("acme", "PO1") is None
        stored = uow.orders.save(an_order())
        uow.interchanges.record_set(
            first.interchange_id, 1, status=SetStatus.ACCEPTED, set_id="850", group_control_number="1",
            set_control_number="0001", order_id=stored.id,
        )  # fmt: skip
        uow.interchanges.commit(first.interchange_id)
    with unit_of_work(db.sessions) as uow:
        assert uow.interchanges.uncommitted() == []
        assert uow.interchanges.get(first.interchange_id).status is InterchangeStatus.COMMITTED
    assert receive(db).status is InterchangeStatus.DUPLICATE


def test_rejected_interchanges_do_not_make_a_resend_a_duplicate(db: Db) -> None:
    add_partner(db)
    first = receive(db)
    with unit_of_work(db.sessions) as uow:
        uow.interchanges.reject(first.interchange_id, "TA1 R 024: invalid interchange content")
    again = receive(db)
    assert again.status is InterchangeStatus.RECEIVED and not again.again
    assert again.interchange_id != first.interchange_id


def test_only_one_of_two_concurrent_commits_of_the_same_bytes_succeeds(db: Db) -> None:
    """Two workers hold the same file; the unique key among committed interchanges lets one through."""
    add_partner(db)
    first = receive(db)
    with unit_of_work(db.sessions) as uow:  # a second worker archived the same bytes meanwhile
        row = uow.interchanges.get(first.interchange_id)
        twin = Interchange(
            direction=row.direction, sender=row.sender, receiver=row.receiver, control_number=row.control_number,
            sha256=row.sha256, size=row.size, content=row.content, status=InterchangeStatus.RECEIVED,
            received_at=row.received_at, test=False,
        )  # fmt: skip
        uow.session.add(twin)
        uow.session.flush()
        twin_id = twin.id
    outcomes: list[str] = []

    def worker(interchange_id: int) -> None:
        try:
            with unit_of_work(db.sessions) as uow:
                uow.interchanges.commit(interchange_id)
            outcomes.append("committed")
        except InterchangeAlreadyCommitted:
            with unit_of_work(db.sessions) as uow:
                uow.interchanges.mark_duplicate(interchange_id)
            outcomes.append("duplicate")

    run_together([lambda: worker(first.interchange_id), lambda: worker(twin_id)])
    assert sorted(outcomes) == ["committed", "duplicate"]
    with unit_of_work(db.sessions) as uow:
        statuses = {uow.interchanges.get(i).status for i in (first.interchange_id, twin_id)}
    assert statuses == {InterchangeStatus.COMMITTED, InterchangeStatus.DUPLICATE}


def test_the_duplicate_key_is_enforced_by_the_database_itself(db: Db) -> None:
    add_partner(db)
    first = receive(db)
    with unit_of_work(db.sessions) as uow:
        uow.interchanges.commit(first.interchange_id)
    with pytest.raises(IntegrityError), unit_of_work(db.sessions) as uow:
        row = uow.interchanges.get(first.interchange_id)
        uow.session.add(
            Interchange(
                direction=row.direction, sender=row.sender, sha256=row.sha256, size=row.size,
                status=InterchangeStatus.COMMITTED, received_at=row.received_at, test=False,
            )
        )  # fmt: skip
        uow.session.flush()


def test_reused_control_numbers_are_found_for_the_partners_duplicate_policy(db: Db) -> None:
    add_partner(db)
    first = receive(db, control="000000042")
    second = receive(db, content=RAW + b"other", control="000000042")
    with unit_of_work(db.sessions) as uow:
        uow.interchanges.commit(first.interchange_id)
        uow.interchanges.commit(second.interchange_id)
        found = uow.interchanges.committed_with_control_number("ZZ:NORTHWIND", "000000042")
        recent = uow.interchanges.committed_with_control_number(
            "ZZ:NORTHWIND", "000000042", since=datetime.now(UTC) + timedelta(days=1)
        )
    assert [i.id for i in found] == [first.interchange_id, second.interchange_id]
    assert recent == []


def test_sets_and_quarantine_are_recorded_once_however_often_a_rerun_records_them(db: Db) -> None:
    add_partner(db)
    reception = receive(db)
    finding = Finding(level=Level.ELEMENT, code="7", message="BEG05 is not a date", interchange="000000001")
    for _ in range(2):
        with unit_of_work(db.sessions) as uow:
            accepted = uow.interchanges.record_set(
                reception.interchange_id, 1, status=SetStatus.ACCEPTED, set_id="850", group_control_number="1",
                set_control_number="0001",
            )  # fmt: skip
            held = uow.interchanges.record_set(
                reception.interchange_id, 2, status=SetStatus.REJECTED, set_id="850", group_control_number="1",
                set_control_number="0002", findings=[finding],
            )  # fmt: skip
            uow.interchanges.quarantine(
                reception.interchange_id, reason="unknown ship-to", findings=[finding], transaction_set_id=held.id
            )
    with unit_of_work(db.sessions) as uow:
        sets = uow.interchanges.sets(reception.interchange_id)
        assert [(s.position, s.status) for s in sets] == [(1, SetStatus.ACCEPTED), (2, SetStatus.QUARANTINED)]
        assert sets[0].id == accepted.id
        assert sets[1].findings == [finding.to_dict()]
        waiting = uow.interchanges.quarantined()
        assert [(q.transaction_set_id, q.reason) for q in waiting] == [(held.id, "unknown ship-to")]
        uow.interchanges.release(waiting[0].id, by="kim")
    with unit_of_work(db.sessions) as uow:
        assert uow.interchanges.quarantined() == []


# -- outbound documents ------------------------------------------------------------------------------------
def add_document(db: Db, cause: str = "997:interchange:1:group:1", **fields: Any) -> int:
    with unit_of_work(db.sessions) as uow:
        return uow.outbound.add(
            partner_id="acme", kind=OutboundKind.FUNCTIONAL_ACK, cause_key=cause, content=b"ISA...", **fields
        ).id


def test_one_cause_never_produces_two_documents(db: Db) -> None:
    add_partner(db)
    first = add_document(db)
    with pytest.raises(CauseAlreadyHandled) as refused, unit_of_work(db.sessions) as uow:
        uow.outbound.add(partner_id="acme", kind=OutboundKind.FUNCTIONAL_ACK, cause_key="997:interchange:1:group:1",
                         content=b"ISA again")  # fmt: skip
    assert refused.value.existing_id == first
    with unit_of_work(db.sessions) as uow:
        assert uow.outbound.for_cause("997:interchange:1:group:1").id == first  # type: ignore[union-attr]
        assert len(uow.outbound.pending()) == 1


def test_one_cause_never_produces_two_documents_even_from_concurrent_workers(db: Db) -> None:
    add_partner(db)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            add_document(db, "855:order:1:v1")
            outcomes.append("added")
        except CauseAlreadyHandled:
            outcomes.append("refused")

    run_together([worker, worker, worker])
    assert sorted(outcomes) == ["added", "refused", "refused"]


def test_an_outbound_document_waits_for_its_997_and_is_overdue_without_one(db: Db) -> None:
    add_partner(db)
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    on_time = add_document(db, "855:order:1:v1", group_control_number=41, due_at=now + timedelta(hours=24))
    late = add_document(db, "855:order:2:v1", group_control_number=42, due_at=now - timedelta(hours=1))
    never_due = add_document(db, "997:interchange:3:group:1", group_control_number=43)
    with unit_of_work(db.sessions) as uow:
        for document_id in (on_time, late, never_due):
            uow.outbound.mark_sent(document_id, at=now - timedelta(hours=2))
    with unit_of_work(db.sessions) as uow:
        assert [d.id for d in uow.outbound.mark_overdue(now)] == [late]
        answered = uow.outbound.find_by_group("acme", 41)
        assert answered is not None and answered.id == on_time
        uow.outbound.record_ack(on_time, accepted=True, result={"AK9": "A"}, at=now)
        uow.outbound.record_ack(late, accepted=False, result={"AK9": "R", "AK5": ["5"]}, at=now)
    with unit_of_work(db.sessions) as uow:
        got = {i: uow.outbound.get(i) for i in (on_time, late, never_due)}
    assert got[on_time].status is OutboundStatus.ACCEPTED and got[on_time].ack_result == {"AK9": "A"}
    assert got[late].status is OutboundStatus.REJECTED and got[late].acknowledged_at == now
    assert got[never_due].status is OutboundStatus.SENT
    assert got[on_time].due_at == now + timedelta(hours=24)  # UTC in, UTC out


# -- many at once ------------------------------------------------------------------------------------------
def test_orders_stored_many_at_once_are_stored_as_one_at_a_time_would_be(db: Db) -> None:
    add_partner(db)
    numbers = count()

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(orders, min_size=1, max_size=4))
    def many(batch: list[Order]) -> None:
        batch = [o.model_copy(update={"po_number": f"{o.po_number}-{next(numbers)}"}) for o in batch]
        with unit_of_work(db.sessions) as uow:
            saved = uow.orders.add_new(batch)
        assert [s.version for s in saved] == [1] * len(batch)
        with unit_of_work(db.sessions) as uow:
            found = uow.orders.find_many("acme", [o.po_number for o in batch if not o.test])
            assert {po: f.order for po, f in found.items()} == {o.po_number: o for o in batch if not o.test}
            assert [uow.orders.get(s.id).order for s in saved] == batch
        for stored, order in zip(saved, batch, strict=True):
            assert_columns_follow(db, stored.id, order)

    many()


def test_a_batch_with_a_taken_po_number_is_refused(db: Db) -> None:
    add_partner(db)
    with unit_of_work(db.sessions) as uow:
        uow.orders.save(an_order("PO2"))
    with pytest.raises(OrderExists, match="already exists"), unit_of_work(db.sessions) as uow:
        uow.orders.add_new([an_order("PO1"), an_order("PO2")])
    with pytest.raises(NotFound, match="partner 'initech'"), unit_of_work(db.sessions) as uow:
        uow.orders.add_new([an_order("PO3"), an_order("PO4", partner_id="initech")])
    with unit_of_work(db.sessions) as uow:
        assert sorted(uow.orders.find_many("acme", ["PO1", "PO2", "PO3", "PO4"])) == ["PO2"]


def test_documents_recorded_many_at_once_are_pending_and_keep_their_causes_unique(db: Db) -> None:
    add_partner(db)
    add_document(db, "855:order:1:v1")
    fields = {"partner_id": "acme", "kind": OutboundKind.ORDER_ACK, "content": b"ISA"}
    with unit_of_work(db.sessions) as uow:
        uow.outbound.add_new([{**fields, "cause_key": f"855:order:{n}:v1", "file_name": f"f{n}"} for n in (2, 3)])
    with pytest.raises(CauseAlreadyHandled), unit_of_work(db.sessions) as uow:
        uow.outbound.add_new([{**fields, "cause_key": "855:order:4:v1"}, {**fields, "cause_key": "855:order:1:v1"}])
    with unit_of_work(db.sessions) as uow:
        pending = uow.outbound.pending()
        assert [(d.cause_key, d.file_name) for d in pending] == [
            ("855:order:1:v1", None), ("855:order:2:v1", "f2"), ("855:order:3:v1", "f3"),
        ]  # fmt: skip
        held = uow.outbound.hold_pending([d.id for d in pending[1:]])
        uow.outbound.mark_sent_many([d.id for d in held], at=datetime(2025, 5, 1, tzinfo=UTC))
    with unit_of_work(db.sessions) as uow:
        assert [d.cause_key for d in uow.outbound.pending()] == ["855:order:1:v1"]
        assert uow.outbound.hold_pending([pending[1].id]) == []  # sent already: nothing to hold


def test_sets_recorded_many_at_once_read_back_as_recorded(db: Db) -> None:
    add_partner(db)
    reception = receive(db)
    finding = Finding(level=Level.ELEMENT, code="7", message="BEG05 is not a date", interchange="000000001")
    with unit_of_work(db.sessions) as uow:
        assert not uow.interchanges.has_sets(reception.interchange_id)
        uow.interchanges.record_new_sets(
            reception.interchange_id,
            [SetRecord(1, SetStatus.ACCEPTED, "850", "1", "0001"), SetRecord(2, SetStatus.ACCEPTED, "850", "1", "0002", [finding])],
        )  # fmt: skip
    with unit_of_work(db.sessions) as uow:
        assert uow.interchanges.has_sets(reception.interchange_id)
        sets = uow.interchanges.sets(reception.interchange_id)
        assert [(s.position, s.set_control_number, s.findings) for s in sets] == [
            (1, "0001", []), (2, "0002", [finding.to_dict()]),
        ]  # fmt: skip
