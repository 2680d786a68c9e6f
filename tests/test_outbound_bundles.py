"""A partner whose profile asks for many sets per interchange gets a run's documents of one kind in one
interchange and one file (a bundle); each document keeps its own record, order, ST02 and 997 status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from edi.x12.acks import acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from engine.db.session import unit_of_work
from engine.db.tables import OrderRow, OutboundDocument, OutboundKind, OutboundStatus
from engine.ingest import CRASH_POINTS, ingest_file
from engine.services import list_outbox
from tests.pipeline_fixtures import (
    NOW,
    Mailbox,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    received,
    sets_in,
)
from tests.test_ingest_batches import mixed_file
from tests.test_ingest_crash import Crash, crash_at

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime"]  # fixtures

BUNDLES_OF_TWO = "envelopes: {sets_per_interchange: 2}"


def documents_by_po(runtime: object) -> dict[str | None, list[OutboundDocument]]:
    with unit_of_work(runtime.sessions) as uow:  # type: ignore[attr-defined]
        rows = uow.session.execute(
            select(OutboundDocument, OrderRow.po_number)
            .outerjoin(OrderRow, OrderRow.id == OutboundDocument.order_id)
            .where(OutboundDocument.kind == OutboundKind.ORDER_ACK)
            .order_by(OutboundDocument.id)
        ).all()
    found: dict[str | None, list[OutboundDocument]] = {}
    for document, po in rows:
        found.setdefault(po, []).append(document)
    return found


def test_a_runs_855s_travel_together_and_each_keeps_its_own_record(open_runtime: OpenRuntime, tmp_path: Path) -> None:
    runtime = open_runtime(northwind=BUNDLES_OF_TWO)
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    report = ingest_file(runtime, mixed_file(runtime, tmp_path))
    assert report.status == "processed", report.messages
    mailbox.pick_up()
    seen = mailbox.received()
    # 855s on receipt for A and B (applied together), then for C and D: two interchanges of two sets.
    files = sorted(p for p in mailbox.folder.iterdir() if "-855-" in p.name)
    assert [[ts.segments[1].element(3) for ts in sets_in(path)] for path in files] == [
        ["NW5001234", "NWB"],
        ["NWC", "NWD"],
    ]
    assert {po: kinds.count("855") for po, kinds in seen.documents.items()} == {
        "NW5001234": 1,
        "NWB": 1,
        "NWC": 1,
        "NWD": 1,
    }
    assert seen.conflicts == [] and seen.resent == []
    assert sorted(int(n) for n in seen.interchanges) == list(range(1, len(seen.interchanges) + 1))
    assert sorted(int(st02) for _, st02 in seen.sets) == list(range(1, len(seen.sets) + 1))
    by_po = documents_by_po(runtime)
    [first, second] = by_po[None]  # the carriers: one file each, holding the interchange
    for po in ("NW5001234", "NWB", "NWC", "NWD"):
        [document] = by_po[po]
        assert document.status is OutboundStatus.SENT and document.content == b""
        assert document.bundle_id in (first.id, second.id)
        carrier = first if document.bundle_id == first.id else second
        assert (document.file_name, document.interchange_control_number) == (
            carrier.file_name,
            carrier.interchange_control_number,
        )
        with unit_of_work(runtime.sessions) as uow:
            assert uow.outbound.content_of(document) == carrier.content
    listed = [row for row in list_outbox(runtime, kind="855") if row["po_number"] == "NWC"]
    assert [row["bundle_id"] for row in listed] == [second.id]


def test_a_997_about_a_bundle_accepts_and_rejects_each_document_by_its_set(
    open_runtime: OpenRuntime, tmp_path: Path
) -> None:
    runtime = open_runtime(northwind=BUNDLES_OF_TWO)
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    ingest_file(runtime, mixed_file(runtime, tmp_path))
    mailbox.pick_up()
    [ours, _] = sorted(p for p in mailbox.folder.iterdir() if "-855-" in p.name)
    # The partner's translator refuses NWB's 855 (a BAK01 it does not know) and takes the other.
    damaged = re.sub(rb"BAK\*\d\d\*(\w\w)\*NWB\*", rb"BAK*99*\1*NWB*", ours.read_bytes())
    answer = acknowledge(damaged, control_numbers=CountingControlNumbers(interchange_start=500), now=NOW)
    assert b"AK9*P*2*2*1" in answer.data
    path = tmp_path / "997-for-bundle.x12"
    path.write_bytes(answer.data)
    report = ingest_file(runtime, path)
    assert report.status == "processed", report.messages
    by_po = documents_by_po(runtime)
    assert by_po["NW5001234"][0].status is OutboundStatus.ACCEPTED
    assert by_po["NWB"][0].status is OutboundStatus.REJECTED
    assert [d.status for d in by_po["NWC"]] == [OutboundStatus.SENT]  # the other bundle waits for its own 997
    assert received([ours]).of("855") == 2


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_any_step_then_a_rerun_delivers_each_bundled_855_once(
    open_runtime: OpenRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    runtime = open_runtime(northwind=BUNDLES_OF_TWO)
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    path = mixed_file(runtime, tmp_path)
    stopped = crash_at(monkeypatch, point)
    with pytest.raises(Crash):
        ingest_file(runtime, path)
    assert stopped == [point]
    monkeypatch.undo()
    mailbox.pick_up()
    assert ingest_file(runtime, path).status in ("processed", "duplicate")
    assert ingest_file(runtime, path).status == "duplicate"
    seen = mailbox.received()
    assert seen.conflicts == [] and len(seen.resent) <= (1 if point == "outbox_written" else 0)
    assert {po: kinds.count("855") for po, kinds in seen.documents.items()} == dict.fromkeys(
        ["NW5001234", "NWB", "NWC", "NWD"], 1
    )
    assert sorted(int(n) for n in seen.interchanges) == list(range(1, len(seen.interchanges) + 1))
    assert [d for d in list_outbox(runtime) if d["status"] == OutboundStatus.PENDING] == []
