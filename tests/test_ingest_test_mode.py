"""Test and production apart: an interchange with ISA15 T, or anything from a partner in test mode,
creates or changes test orders only, never a live one, and what we send back goes with ISA15 T."""

from __future__ import annotations

from pathlib import Path

from edi.x12.reader import X12Reader
from edi.x12.structures import InterchangeStart, TransactionSet
from engine.db.session import unit_of_work
from engine.ingest import ingest_file
from engine.model import OrderStatus
from engine.runtime import Runtime
from tests.pipeline_fixtures import (
    Mailbox,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
    variant,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]

PO = "NW5001234"  # the sample 850's, which the sample 860 cancels


def as_test(path: Path) -> Path:
    """The same interchange sent with ISA15 T."""
    text = path.read_text()
    assert "*0*P*>~" in text
    path.write_text(text.replace("*0*P*>~", "*0*T*>~", 1))
    return path


def deliveries(mailbox: Mailbox) -> set[tuple[str, str, str]]:
    """(ISA15, ST01, what it is about: AK102 for a 997, the PO number for an 855) of each delivery."""
    mailbox.pick_up()
    found = set()
    for path in mailbox.folder.iterdir():
        usage = ""
        for event in X12Reader(path):
            if isinstance(event, InterchangeStart):
                usage = event.interchange.usage
            elif isinstance(event, TransactionSet):
                found.add((usage, event.id, event.segments[1].element(2 if event.id == "997" else 3)))
    return found


def orders(runtime: Runtime, po: str) -> dict[str, tuple[OrderStatus, int] | None]:
    """The live and the test order with this PO number: (status, version), or None."""
    with unit_of_work(runtime.sessions) as uow:
        found = {"live": uow.orders.find("northwind", po), "test": uow.orders.find("northwind", po, test=True)}
        return {space: (o.order.status, o.version) if o else None for space, o in found.items()}


def test_a_test_interchange_never_creates_or_changes_a_live_order(runtime: Runtime, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    order, cancel = sample(runtime, "northwind", "850"), sample(runtime, "northwind", "860-cancel")
    ingest_file(runtime, variant(order, inbox, isa13=7001))
    live = orders(runtime, PO)["live"]
    assert live is not None and live[0] is OrderStatus.ACKNOWLEDGED  # the 855 went on receipt

    # The same PO in a test interchange is a test order beside the live one, which stays as it was.
    report = ingest_file(runtime, as_test(variant(order, inbox, isa13=7002)))
    assert report.status == "processed" and [s["status"] for s in report.sets] == ["applied"]
    assert orders(runtime, PO) == {"live": live, "test": (OrderStatus.ACKNOWLEDGED, 1)}
    # A test cancel changes the test order only.
    ingest_file(runtime, as_test(variant(cancel, inbox, isa13=7003)))
    after = orders(runtime, PO)
    assert after["live"] == live
    assert after["test"] is not None and after["test"][0] is OrderStatus.RETAILER_CANCEL_PENDING
    # A PO only ever sent in test exists in the test space alone.
    ingest_file(runtime, as_test(variant(order, inbox, isa13=7004, po="NW7000004")))
    assert orders(runtime, "NW7000004") == {"live": None, "test": (OrderStatus.ACKNOWLEDGED, 1)}

    assert deliveries(mailbox) == {
        ("P", "997", "7001"),
        ("P", "855", PO),
        ("T", "997", "7002"),
        ("T", "855", PO),
        ("T", "997", "7003"),
        ("T", "997", "7004"),
        ("T", "855", "NW7000004"),
    }


def test_a_partner_in_test_mode_gets_test_orders_and_only_test_documents(
    open_runtime: OpenRuntime, tmp_path: Path
) -> None:
    runtime = open_runtime(northwind="usage: T")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    # The partner marks its interchange P; its profile says it is in test mode, and that wins.
    report = ingest_file(runtime, variant(sample(runtime, "northwind", "850"), inbox, isa13=7001))
    assert report.status == "processed"
    assert orders(runtime, PO) == {"live": None, "test": (OrderStatus.ACKNOWLEDGED, 1)}
    with unit_of_work(runtime.sessions) as uow:
        assert report.interchange_id is not None and uow.interchanges.get(report.interchange_id).test
    assert deliveries(mailbox) == {("T", "997", "7001"), ("T", "855", PO)}
