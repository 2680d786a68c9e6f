"""A file's purchase orders are applied in batches (``engine.ingest._PurchaseOrders``): one lookup for
the orders they concern, one insert per table, control numbers held in memory. Proven here to give
exactly what applying the sets one at a time gives, whatever the batch size, with a second 850 for
a PO number and another set for an order of the batch in the same file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

import engine.ingest
from engine.db.session import UnitOfWork, unit_of_work
from engine.db.tables import Base, OrderEventRow, OrderLineRow, OrderRow, OutboundDocument, TransactionSet
from engine.ingest import IngestReport, ingest_file
from engine.outbound import Owed
from engine.rules import RuleRefused
from engine.runtime import Runtime
from mappings.profile import PartnerProfile
from mappings.x12.common import MappingError
from tests.pipeline_fixtures import (
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    outbox,
    received,
    runtime,
    sample,
)

__all__ = [
    "clock",
    "database_url",
    "migrated_postgres",
    "migrated_sqlite_template",
    "open_runtime",
    "runtime",
]  # fixtures


def set_text(path: Path) -> str:
    """The ST..SE segments of a one-set sample, with its segment terminators and line breaks."""
    text = path.read_text()
    return text[text.index("ST*") : text.index("GE*")]


def group(functional_id: str, number: int, sets: list[str]) -> str:
    body = "".join(s.replace("ST*850*0001", f"ST*850*{n:04d}").replace("ST*860*0001", f"ST*860*{n:04d}")
                   .replace("SE*31*0001", f"SE*31*{n:04d}").replace("SE*6*0001", f"SE*6*{n:04d}")
                   for n, s in enumerate(sets, start=1))  # fmt: skip
    return f"GS*{functional_id}*NORTHWIND*ACMESUPPLY*20240301*1015*{number}*X*004010~\n{body}GE*{len(sets)}*{number}~\n"


def mixed_file(runtime: Runtime, folder: Path) -> Path:
    """One interchange: 850s A and B; an 860 cancelling A; A's 850 again (a duplicate) and C's; then D's."""
    order = set_text(sample(runtime, "northwind", "850"))
    cancel = set_text(sample(runtime, "northwind", "860-cancel"))

    def po(number: str) -> str:
        return order.replace("*NW5001234*", f"*{number}*")

    groups = [
        group("PO", 1, [po("NW5001234"), po("NWB")]),
        group("PC", 2, [cancel]),
        group("PO", 3, [po("NW5001234"), po("NWC"), po("NWD")]),
    ]
    isa = "ISA*00*          *00*          *ZZ*NORTHWIND      *ZZ*ACMESUPPLY     *240301*1015*U*00401*000041001*0*P*>~\n"
    path = folder / "mixed.x12"
    path.write_text(isa + "".join(groups) + "IEA*3*000041001~\n")
    return path


def stored(runtime: Runtime) -> dict[str, object]:
    """Everything the file left in the database and the outbox, without row ids."""
    with unit_of_work(runtime.sessions) as uow:
        session = uow.session
        orders = {
            row.po_number: (row.status, row.version, row.document, row.open_qty)
            for row in session.scalars(select(OrderRow))
        }
        lines = sorted(
            (o.po_number, line.position, line.line_number, line.open_qty, line.status)
            for line, o in session.execute(select(OrderLineRow, OrderRow).join(OrderRow))
        )
        events = sorted(
            (o.po_number, e.position, e.kind, e.document_id, e.reason)
            for e, o in session.execute(select(OrderEventRow, OrderRow).join(OrderRow))
        )
        sets = [
            (s.position, s.status, s.set_id)
            for s in session.scalars(select(TransactionSet).order_by(TransactionSet.position))
        ]
        documents = [
            (d.kind, d.cause_key.split(":")[2:], d.interchange_control_number, d.group_control_number, d.content)
            for d in session.scalars(select(OutboundDocument).order_by(OutboundDocument.id))
        ]
    files = sorted((p.name, p.read_bytes()) for p in outbox(runtime, "northwind"))
    return {"orders": orders, "lines": lines, "events": events, "sets": sets, "documents": documents, "files": files}


class OneByOne:
    """The oracle: each 850 mapped, decided and stored on its own through ``engine.ingest.apply_set``."""

    def __init__(self, uow: UnitOfWork, runtime: Runtime, profile: PartnerProfile, report: IngestReport,
                 applied: Any, owed: list[Owed], *, test: bool) -> None:  # fmt: skip
        self.uow, self.runtime, self.profile, self.report, self.applied, self.owed, self.test = (
            uow, runtime, profile, report, applied, owed, test
        )  # fmt: skip

    def add(self, position: int, ts: Any, entry: dict[str, Any], document_id: str) -> None:
        try:
            order_id = engine.ingest.apply_set(
                self.uow, self.runtime, self.profile, ts, document_id, self.test, self.report, owed=self.owed
            )
        except (RuleRefused, MappingError) as refusal:
            self.applied.refuse(position, ts, entry, str(refusal), at=self.runtime.now())
            return
        self.applied.accept(position, ts, entry, order_id)

    def apply(self) -> None:
        """Nothing waits."""


def wipe(runtime: Runtime) -> None:
    """Back to an empty database (ids from 1 again), empty outbox and archive, the partners registered."""
    bind = runtime.sessions.kw["bind"]
    with bind.begin() as connection:
        if bind.dialect.name == "postgresql":
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    shutil.rmtree(runtime.workspace.outbox_dir, ignore_errors=True)
    shutil.rmtree(runtime.workspace.archive_dir, ignore_errors=True)
    runtime.register_partners()


@pytest.mark.parametrize("size", [1, 2, 500])
def test_batches_of_any_size_apply_the_file_as_one_set_at_a_time_would(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    path = mixed_file(runtime, tmp_path)
    monkeypatch.setattr(engine.ingest._PurchaseOrders, "SIZE", size)
    report = ingest_file(runtime, path)
    assert report.status == "processed", report.messages
    assert [s["status"] for s in report.sets] == ["applied"] * 6
    assert report.orders == ["NW5001234", "NWB", "NW5001234", "NW5001234", "NWC", "NWD"]
    batched = stored(runtime)
    assert sorted(batched["orders"]) == ["NW5001234", "NWB", "NWC", "NWD"]  # type: ignore[call-overload]
    seen = received(outbox(runtime, "northwind"))
    assert sorted(int(n) for n in seen.interchanges) == list(range(1, len(seen.interchanges) + 1))

    wipe(runtime)
    monkeypatch.setattr(engine.ingest, "_PurchaseOrders", OneByOne)
    again = ingest_file(runtime, path)
    assert (again.sets, again.orders, again.documents) == (report.sets, report.orders, report.documents)
    assert stored(runtime) == batched
