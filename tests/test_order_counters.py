"""The order counters (``engine.db.order_counters``) stay exactly a count of the orders by partner,
test space and status, whatever writes the orders: ingest one set at a time and in batches, every
action people take, orders we place with suppliers, concurrent writers, rolled-back transactions
and savepoints; on SQLite and PostgreSQL. A database with orders and no counters is counted when
it is opened."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from datetime import timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from engine.db.order_counters import counters_match, recount
from engine.db.session import unit_of_work
from engine.db.tables import OrderCounter, OrderRow
from engine.ingest import ingest_file
from engine.model import CancelReason, Order, OrderLine, OrderStatus
from engine.order_queries import tab_counts
from engine.rules import RuleRefused
from engine.runtime import Runtime
from engine.services import (
    NotFoundError,
    ShipLine,
    Shipment,
    acknowledge,
    acknowledge_cancels,
    cancel,
    cancel_bulk,
    cancel_rule,
    mark_backordered,
    preview,
    refuse_cancel,
    send_order,
    ship_shipment,
)
from mappings.profiles import EXAMPLES_DIR
from tests.db_fixtures import Db, add_partner, db, run_together
from tests.pipeline_fixtures import (
    NOW,
    Clock,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
    variant,
)

__all__ = ["clock", "database_url", "db", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]

FUTURE = NOW.date() + timedelta(days=30)
#: An order we place with Fabrikam (the one its sample 855 answers, under other PO numbers here).
PLACED = Order.model_validate_json((EXAMPLES_DIR / "fabrikam/samples/expected/given/PO7001234.json").read_text())


def counted(runtime_or_db: Runtime | Db) -> dict[tuple[str, bool, OrderStatus], int]:
    """The orders counted by GROUP BY, the oracle the stored counters are held to."""
    with runtime_or_db.sessions() as session:
        rows = session.execute(
            select(OrderRow.partner_id, OrderRow.test, OrderRow.status, func.count()).group_by(
                OrderRow.partner_id, OrderRow.test, OrderRow.status
            )
        )
        return {(partner, test, OrderStatus(status)): n for partner, test, status, n in rows}


def stored(runtime_or_db: Runtime | Db) -> dict[tuple[str, bool, OrderStatus], int]:
    """The stored counters, leaving out those at zero (a status the partner's orders have all left)."""
    with runtime_or_db.sessions() as session:
        rows = session.execute(
            select(OrderCounter.partner_id, OrderCounter.test, OrderCounter.status, OrderCounter.count)
        )
        return {(partner, test, OrderStatus(status)): n for partner, test, status, n in rows if n}


def assert_counted(runtime_or_db: Runtime | Db) -> None:
    assert stored(runtime_or_db) == counted(runtime_or_db)
    with runtime_or_db.sessions() as session:
        assert counters_match(session) == []


# -- files a partner sends ----------------------------------------------------------------------------
class Files:
    """Partners' files made from their samples, each with its own ISA13 (a reused one would meet the
    partner's duplicate policy) and the PO number asked for."""

    def __init__(self, runtime: Runtime, folder: Path) -> None:
        self.runtime, self.folder = runtime, folder
        self.numbers = count(100_000)
        folder.mkdir(parents=True, exist_ok=True)

    def make(self, partner: str, name: str, po: str, *, test: bool = False) -> Path:
        path = variant(sample(self.runtime, partner, name), self.folder, isa13=next(self.numbers), po=po)
        if test:  # ISA15: T
            path.write_text(path.read_text().replace("*0*P*>~", "*0*T*>~", 1))
        return path

    def ingest(self, partner: str, name: str, po: str, *, test: bool = False) -> None:
        report = ingest_file(self.runtime, self.make(partner, name, po, test=test))
        assert report.status == "processed", report.messages


RETAILERS = ("northwind", "contoso")  # Northwind takes backorders and partial cancels; Contoso does neither
ACTIONS = (
    "receive", "receive_test", "receive_again", "acknowledge", "cancel_line", "cancel_all", "bulk_cancel",
    "backorder", "ship_line", "ship_all", "retailer_cancel", "accept_cancel", "refuse_cancel", "place",
    "supplier_acknowledges", "preview_cancel",
)  # fmt: skip
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 50), st.sampled_from(RETAILERS)), max_size=10)


def test_any_sequence_of_orders_and_actions_keeps_the_counters_a_count_of_the_orders(
    runtime: Runtime, tmp_path: Path
) -> None:
    files = Files(runtime, tmp_path / "in")
    numbers = count(1)
    orders: list[tuple[str, str]] = []  # (partner, PO) of each production order
    placed: list[str] = []  # POs placed with Fabrikam

    def do(action: str, pick: int, retailer: str) -> None:
        partner, po = orders[pick % len(orders)] if orders else (retailer, "NONE")
        lines = {"1": (Decimal(1), None)} if partner == "northwind" else {"1": (None, None)}
        if action == "receive":
            orders.append((retailer, f"PO{next(numbers):06d}"))
            files.ingest(retailer, "850", orders[-1][1])
        elif action == "receive_test":
            files.ingest(retailer, "850", f"T{next(numbers):06d}", test=True)
        elif action == "receive_again" and orders:  # the same 850 again: a duplicate, or a replace
            files.ingest(partner, "850", po)
        elif action == "acknowledge":
            acknowledge(runtime, po, partner_id=partner)
        elif action == "cancel_line":
            cancel(runtime, po, reason=CancelReason.OUT_OF_STOCK, lines=lines, partner_id=partner)
        elif action == "cancel_all":
            cancel(runtime, po, reason=CancelReason.DISCONTINUED, partner_id=partner)
        elif action == "bulk_cancel":
            cancel_bulk(runtime, [po for _, po in orders[pick % 3 :: 3]], reason=CancelReason.OTHER)
        elif action == "backorder":
            mark_backordered(runtime, po, line="2", ship_date=FUTURE, qty=None, partner_id=partner)
        elif action == "ship_line":
            shipment = Shipment("UPSN", f"1Z{pick}", lines=(ShipLine("3", Decimal(1)),))
            ship_shipment(runtime, po, shipment, partner_id=partner)
        elif action == "ship_all":
            ship_shipment(runtime, po, Shipment("UPSN", f"1Z{pick}"), partner_id=partner)
        elif action == "retailer_cancel" and orders:  # an 860 cancelling the whole order
            files.ingest(partner, "860-cancel", po)
        elif action == "accept_cancel":
            acknowledge_cancels(runtime, po)
        elif action == "refuse_cancel":
            refuse_cancel(runtime, po, reason="already packed")
        elif action == "place":
            placed.append(f"PL{next(numbers):06d}")
            send_order(runtime, PLACED.model_copy(update={"po_number": placed[-1]}))
        elif action == "supplier_acknowledges" and placed:
            files.ingest("fabrikam", "855-accept", placed[pick % len(placed)])
        elif action == "preview_cancel":  # the same rule in a transaction that is rolled back
            preview(runtime, po, cancel_rule(runtime, reason=CancelReason.OTHER), partner_id=partner)

    # First a life that takes orders through every status, then any sequence hypothesis finds.
    scripted = [
        ("receive", "northwind"), ("receive", "contoso"), ("receive", "northwind"), ("backorder", "northwind"),
        ("receive", "northwind"), ("ship_line", "northwind"), ("receive", "northwind"), ("ship_all", "northwind"),
        ("receive", "contoso"), ("cancel_all", "contoso"), ("receive", "contoso"), ("retailer_cancel", "contoso"),
        ("place", "fabrikam"),
    ]  # fmt: skip
    for action, retailer in scripted:
        do(action, len(orders) - 1, retailer)
        assert_counted(runtime)
    assert {status for _, _, status in stored(runtime)} == set(OrderStatus)

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def run(sequence: list[tuple[str, int, str]]) -> None:
        for step in sequence:
            with suppress(RuleRefused, NotFoundError):  # refused, or no such order: nothing changed
                do(*step)
            assert_counted(runtime)

    run()


def test_a_file_of_many_purchase_orders_is_counted_by_the_batched_insert(runtime: Runtime, tmp_path: Path) -> None:
    """600 850s (two batches of ``_PurchaseOrders``), one of them twice, and an 860 cancelling one of
    the first batch, in one file; then the same in a test interchange."""
    order = sample(runtime, "northwind", "850").read_text()
    body = order[order.index("ST*") : order.index("GE*")]
    cancel = sample(runtime, "northwind", "860-cancel").read_text()
    cancel_body = cancel[cancel.index("ST*") : cancel.index("GE*")]

    def numbered(text: str, n: int) -> str:
        return text.replace("ST*850*0001", f"ST*850*{n:04d}").replace("SE*31*0001", f"SE*31*{n:04d}")

    pos = [f"NWB{n:05d}" for n in range(600)] + ["NWB00007"]
    sets = "".join(numbered(body.replace("*NW5001234*", f"*{po}*"), n) for n, po in enumerate(pos, start=1))
    cancel_set = cancel_body.replace("*NW5001234*", "*NWB00003*")
    for usage, isa13 in (("P", 900001), ("T", 900002)):
        text = (
            f"ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACMESUPPLY     *240301*1015*U*00401*{isa13:09d}*0*"
            f"{usage}*>~\nGS*PO*NORTHWIND*ACMESUPPLY*20240301*1015*1*X*004010~\n{sets}GE*{len(pos)}*1~\n"
            f"GS*PC*NORTHWIND*ACMESUPPLY*20240301*1015*2*X*004010~\n{cancel_set}GE*1*2~\nIEA*2*{isa13:09d}~\n"
        )
        path = tmp_path / f"many-{usage}.x12"
        path.write_text(text)
        report = ingest_file(runtime, path)
        assert report.status == "processed", report.messages
        assert Counter(s["status"] for s in report.sets) == Counter({"applied": len(pos) + 1})
    northwind = {k: n for k, n in stored(runtime).items() if k[0] == "northwind"}
    assert northwind == {
        ("northwind", False, OrderStatus.ACKNOWLEDGED): 599,  # Northwind's 855 goes out on receipt
        ("northwind", False, OrderStatus.RETAILER_CANCEL_PENDING): 1,
        ("northwind", True, OrderStatus.ACKNOWLEDGED): 599,
        ("northwind", True, OrderStatus.RETAILER_CANCEL_PENDING): 1,
    }
    assert_counted(runtime)
    with runtime.sessions() as session:
        assert tab_counts(session, ["northwind"])["all"] == 600
        assert tab_counts(session, ["northwind"], test=True)["retailer_cancel_pending"] == 1


def test_concurrent_changes_to_one_partners_orders_all_count(runtime: Runtime, tmp_path: Path) -> None:
    """Eight transactions at once, each acknowledging or cancelling another order of one partner, and
    an ingest of a new order: each adds to the same counter rows, none is lost (on PostgreSQL the
    second writer of a counter row waits for the first and adds to what it committed), and none
    waits for another in a cycle."""
    files = Files(runtime, tmp_path / "in")
    pos = [f"CC{n:04d}" for n in range(16)]
    for po in pos:
        files.ingest("contoso", "850", po)  # Contoso's orders wait for a person's 855: status new

    def change(n: int, po: str) -> None:
        if n % 2:
            acknowledge(runtime, po, partner_id="contoso")
        else:
            cancel(runtime, po, reason=CancelReason.OTHER, partner_id="contoso")

    for number, batch in enumerate((pos[:8], pos[8:])):  # and a file of new orders arriving meanwhile
        work = [lambda n=n, po=po: change(n, po) for n, po in enumerate(batch)]
        run_together([*work, lambda number=number: files.ingest("contoso", "850", f"NEW{number}")])
    assert stored(runtime) == {
        ("contoso", False, OrderStatus.ACKNOWLEDGED): 8,
        ("contoso", False, OrderStatus.CANCELLED): 8,
        ("contoso", False, OrderStatus.NEW): 2,
    }
    assert_counted(runtime)


def test_a_rolled_back_transaction_or_savepoint_takes_its_counts_back(db: Db) -> None:
    add_partner(db)
    line = OrderLine(line_number="1", ordered_qty=Decimal(3))
    new = Order(partner_id="acme", po_number="PO1", lines=[line])
    with pytest.raises(RuntimeError), unit_of_work(db.sessions) as uow:
        uow.orders.save(new)
        raise RuntimeError("something failed after the order was saved")
    assert stored(db) == {}
    with unit_of_work(db.sessions) as uow:
        uow.orders.add_new([new])
        with uow.session.begin_nested() as savepoint:
            uow.orders.save(new.model_copy(update={"po_number": "PO2"}))
            savepoint.rollback()
        with uow.session.begin_nested():
            stored_order = uow.orders.find("acme", "PO1")
            assert stored_order is not None
            uow.orders.save(new.model_copy(update={"acknowledged": True}), expected_version=stored_order.version)
    assert stored(db) == {("acme", False, OrderStatus.ACKNOWLEDGED): 1}
    assert_counted(db)


def test_a_database_with_orders_and_no_counters_is_counted_when_opened(
    runtime: Runtime, tmp_path: Path, clock: Clock
) -> None:
    files = Files(runtime, tmp_path / "in")
    for po in ("A1", "A2", "A3"):
        files.ingest("contoso", "850", po)
    acknowledge(runtime, "A2", partner_id="contoso")
    with unit_of_work(runtime.sessions) as uow:  # as a database that had orders before the counters
        uow.session.execute(delete(OrderCounter))
    with runtime.sessions() as session:
        assert counters_match(session) == [
            "partner 'contoso' (production) acknowledged: the counter says 0, the orders 1",
            "partner 'contoso' (production) new: the counter says 0, the orders 2",
        ]
    Runtime.open(runtime.workspace.root, clock=clock).close()
    assert stored(runtime) == {("contoso", False, OrderStatus.NEW): 2, ("contoso", False, OrderStatus.ACKNOWLEDGED): 1}
    # Counters that exist are trusted when opening; a wrong one is found by the check and mended by recount.
    with unit_of_work(runtime.sessions) as uow:
        uow.session.execute(update(OrderCounter).where(OrderCounter.status == OrderStatus.NEW).values(count=5))
    Runtime.open(runtime.workspace.root, clock=clock).close()
    with unit_of_work(runtime.sessions) as uow:
        assert counters_match(uow.session) == ["partner 'contoso' (production) new: the counter says 5, the orders 2"]
        recount(uow.session)
    assert_counted(runtime)
