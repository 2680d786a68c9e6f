"""The ingest pipeline end to end on a real workspace with the example partners, on SQLite and on
PostgreSQL: inbound files become orders, the rules run, and the owed documents land in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.db.session import unit_of_work
from engine.ingest import ingest_file
from engine.model import CancelReason, OrderStatus
from engine.outbound import flush_outbox
from engine.rules import RuleRefused
from engine.runtime import Runtime
from engine.services import Shipment, acknowledge_cancels, cancel, mark_backordered, ship_shipment, show_order
from tests.pipeline_fixtures import (
    Clock,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    outbox,
    runtime,
    sample,
    sets_in,
)

__all__ = [
    "clock",
    "database_url",
    "migrated_postgres",
    "migrated_sqlite_template",
    "open_runtime",
    "runtime",
]  # fixtures


def test_an_850_becomes_a_new_order_with_a_997_and_an_855_when_the_partner_wants_one(runtime: Runtime) -> None:
    report = ingest_file(runtime, sample(runtime, "northwind", "850"))
    assert report.status == "processed", report.messages
    assert [s["status"] for s in report.sets] == ["applied"]
    order = show_order(runtime, report.orders[0])
    assert order["status"] in (OrderStatus.NEW, OrderStatus.ACKNOWLEDGED)
    written = outbox(runtime, "northwind")
    kinds = sorted({s.id for path in written for s in sets_in(path)})
    assert "997" in kinds and "855" in kinds  # northwind asks for the 855 on receipt
    for path in written:
        assert all(not s.has_errors for s in sets_in(path)), path


def test_the_same_file_twice_is_applied_once(runtime: Runtime) -> None:
    path = sample(runtime, "northwind", "850")
    first = ingest_file(runtime, path)
    documents = len(outbox(runtime, "northwind"))
    second = ingest_file(runtime, path)
    assert (first.status, second.status) == ("processed", "duplicate")
    assert len(outbox(runtime, "northwind")) == documents
    with unit_of_work(runtime.sessions) as uow:
        assert len(uow.orders.list().items) == 1


def test_a_retailer_cancel_waits_for_the_supplier_then_applies(runtime: Runtime) -> None:
    po = ingest_file(runtime, sample(runtime, "northwind", "850")).orders[0]
    report = ingest_file(runtime, sample(runtime, "northwind", "860-cancel"))
    assert report.status == "processed", report
    assert show_order(runtime, po)["status"] == OrderStatus.RETAILER_CANCEL_PENDING
    before = set(outbox(runtime, "northwind"))
    result = acknowledge_cancels(runtime, po, who="sam")
    assert result.status == OrderStatus.CANCELLED
    added = sorted(set(outbox(runtime, "northwind")) - before)
    assert [s.id for path in added for s in sets_in(path)] == ["865"]  # northwind acknowledges cancels by 865


def test_supplier_cancel_and_backorder_follow_the_partner_terms(runtime: Runtime) -> None:
    po = ingest_file(runtime, sample(runtime, "northwind", "850")).orders[0]
    first_line = show_order(runtime, po)["lines"][0]["line_number"]
    result = mark_backordered(runtime, po, line=first_line, ship_date=datetime(2024, 3, 20).date())
    assert result.documents and result.status == OrderStatus.BACKORDERED
    contoso_po = ingest_file(runtime, sample(runtime, "contoso", "850")).orders[0]
    contoso_line = show_order(runtime, contoso_po)["lines"][0]["line_number"]
    with pytest.raises(RuleRefused, match="does not accept backorders"):
        mark_backordered(runtime, contoso_po, line=contoso_line, ship_date=datetime(2024, 3, 20).date())
    cancelled = cancel(runtime, po, reason=CancelReason.OUT_OF_STOCK)
    assert cancelled.status == OrderStatus.CANCELLED
    lines = show_order(runtime, po)["lines"]
    assert all(Decimal(line["open_qty"]) == 0 for line in lines)


def test_a_file_from_an_unknown_sender_is_quarantined_not_lost(runtime: Runtime, tmp_path: Path) -> None:
    text = sample(runtime, "northwind", "850").read_text().replace("NORTHWIND      ", "STRANGER       ", 1)
    path = tmp_path / "stranger.x12"
    path.write_text(text)
    report = ingest_file(runtime, path)
    assert report.status == "unknown_partner"
    with unit_of_work(runtime.sessions) as uow:
        assert [q.reason for q in uow.interchanges.quarantined()] == [
            "no partner profile has the ISA identity ZZ:STRANGER"
        ]
    assert list(runtime.workspace.archive_dir.rglob("*.edi"))


def test_a_ship_notice_is_dated_by_the_engine_clock_in_utc(runtime: Runtime, clock: Clock) -> None:
    po = ingest_file(runtime, sample(runtime, "northwind", "850")).orders[0]
    clock.now = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)  # already 5 March in UTC+1, still 4 March in UTC
    ship_shipment(runtime, po, Shipment(carrier="UPSN", tracking_number="1Z999"))
    flush_outbox(runtime)
    [notice] = [s for path in outbox(runtime, "northwind") for s in sets_in(path) if s.id == "856"]
    bsn = notice.segments[1]
    assert (bsn.tag, bsn.element(3), bsn.element(4)[:4]) == ("BSN", "20240304", "2330")
