"""A partner's 997/999 marks what we sent accepted or rejected; without one by the partner's
deadline a document is overdue. The partner's acknowledgements are built by ``edi.x12.acks`` from
the very files we placed in the outbox, as the partner's translator would build them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from edi.x12.acks import AckKind, acknowledge
from edi.x12.control_numbers import CountingControlNumbers
from engine.db.session import unit_of_work
from engine.db.tables import OutboundDocument, OutboundKind, OutboundStatus
from engine.ingest import ingest_file, overdue
from engine.runtime import Runtime
from engine.services import acknowledge as acknowledge_order
from tests.pipeline_fixtures import (
    NOW,
    Clock,
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


def documents(runtime: Runtime, kind: OutboundKind) -> dict[str, tuple[OutboundStatus, dict[str, Any] | None]]:
    """Our documents of one kind: file name -> (status, what the partner's acknowledgement said)."""
    with unit_of_work(runtime.sessions) as uow:
        rows = uow.session.scalars(select(OutboundDocument).where(OutboundDocument.kind == kind))
        return {d.file_name or "": (d.status, d.ack_result) for d in rows}


def named(path: Path) -> str:
    """A delivered file's name as we wrote it (without the mailbox's serial number)."""
    return path.name.split("-", 1)[1]


def delivered(mailbox: Mailbox, set_id: str) -> list[Path]:
    mailbox.pick_up()
    return sorted(p for p in mailbox.folder.iterdir() if f"-{set_id}-" in p.name)


def partner_ack(ours: Path, folder: Path, *, kind: AckKind = "997", damage: tuple[bytes, bytes] | None = None) -> Path:
    """The partner's 997/999 for one of our files, as read by the partner (after ``damage``, if any)."""
    data = ours.read_bytes()
    if damage is not None:
        assert damage[0] in data
        data = data.replace(*damage)
    acks = acknowledge(data, kind=kind, control_numbers=CountingControlNumbers(interchange_start=500), now=NOW)
    assert acks.data, "the partner owes an acknowledgement"
    path = folder / f"{kind}-for-{ours.name}"
    path.write_bytes(acks.data)
    return path


def test_a_997_accepting_our_855_marks_it_accepted(runtime: Runtime, tmp_path: Path) -> None:
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    ingest_file(runtime, sample(runtime, "northwind", "850"))
    [ours] = delivered(mailbox, "855")
    report = ingest_file(runtime, partner_ack(ours, tmp_path))
    assert report.status == "processed", report.messages
    assert [s["set"] for s in report.sets] == ["997"]
    assert report.messages == [f"997: our 855 {named(ours)} was accepted"]
    status, said = documents(runtime, OutboundKind.ORDER_ACK)[named(ours)]
    assert status is OutboundStatus.ACCEPTED
    assert said is not None and (said["kind"], said["code"]) == ("997", "A")
    assert len(delivered(mailbox, "997")) == 1  # ours for the 850: an acknowledgement is never acknowledged


def test_a_997_rejecting_our_855_marks_it_rejected_with_what_it_said(runtime: Runtime, tmp_path: Path) -> None:
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    ingest_file(runtime, sample(runtime, "northwind", "850"))
    [ours] = delivered(mailbox, "855")
    # The partner's translator reads BAK04 as 2024-13-01: the set is rejected.
    rejection = partner_ack(ours, tmp_path, damage=(b"BAK*00*AD*NW5001234*20240301", b"BAK*00*AD*NW5001234*20241301"))
    assert b"AK9*R" in rejection.read_bytes()
    report = ingest_file(runtime, rejection)
    assert report.messages == [f"997: our 855 {named(ours)} was rejected"]
    status, said = documents(runtime, OutboundKind.ORDER_ACK)[named(ours)]
    assert status is OutboundStatus.REJECTED
    assert said is not None and said["code"] == "R" and "BAK" in str(said["description"])


def test_a_999_for_an_005010_partner_marks_our_855_accepted(runtime: Runtime, tmp_path: Path) -> None:
    mailbox = Mailbox(runtime, "contoso", tmp_path / "partner")
    po = ingest_file(runtime, sample(runtime, "contoso", "850")).orders[0]
    acknowledge_order(runtime, po, partner_id="contoso")  # contoso's 855 is sent by a person
    [ours] = delivered(mailbox, "855")
    report = ingest_file(runtime, partner_ack(ours, tmp_path, kind="999"))
    assert [s["set"] for s in report.sets] == ["999"]
    status, said = documents(runtime, OutboundKind.ORDER_ACK)[named(ours)]
    assert status is OutboundStatus.ACCEPTED
    assert said is not None and said["kind"] == "999"


def test_a_document_without_its_997_by_the_partners_deadline_is_overdue(
    open_runtime: OpenRuntime, clock: Clock, tmp_path: Path
) -> None:
    runtime = open_runtime(northwind="deadlines: {functional_ack_expected_hours: 6}")
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    order = sample(runtime, "northwind", "850")
    ingest_file(runtime, variant(order, inbox, isa13=7001))
    ingest_file(runtime, variant(order, inbox, isa13=7002, po="NW7000002"))
    answered, waiting = delivered(mailbox, "855")
    ingest_file(runtime, partner_ack(answered, tmp_path))
    clock.advance(hours=5, minutes=59)
    assert overdue(runtime) == []
    clock.advance(minutes=1)  # the deadline itself: six hours after the 855 was written
    assert overdue(runtime) == [f"northwind 855 {named(waiting)}"]
    assert overdue(runtime) == []  # once
    sent = documents(runtime, OutboundKind.ORDER_ACK)
    assert sent[named(answered)][0] is OutboundStatus.ACCEPTED
    assert sent[named(waiting)][0] is OutboundStatus.OVERDUE
    # Our own 997s expect no answer and never become overdue.
    assert {status for status, _ in documents(runtime, OutboundKind.FUNCTIONAL_ACK).values()} == {OutboundStatus.SENT}
    # A 997 that comes late still says what became of the document.
    ingest_file(runtime, partner_ack(waiting, tmp_path))
    assert documents(runtime, OutboundKind.ORDER_ACK)[named(waiting)][0] is OutboundStatus.ACCEPTED
