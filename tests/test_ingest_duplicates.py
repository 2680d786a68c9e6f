"""The partner's policy for an ISA13 used again (profile ``duplicates``: flag, reject or accept
within ``window_days``), against our own re-fetch of a file, which is never a duplicate.

A *different* file from the same sender reusing the ISA13 of a committed interchange within the
window is processed and flagged for a person (flag), rejected with a TA1 025 and quarantined
(reject), or processed without a word (accept). The *same* bytes again are the same file: a
duplicate when it was committed, and processed normally when it was only archived (a crash, our
own re-fetch), never answered with a TA1 025.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.ingest
from engine.db.session import unit_of_work
from engine.db.tables import InterchangeStatus, OutboundKind
from engine.ingest import DUPLICATE_ISA13, ingest_file
from engine.runtime import Runtime
from tests.pipeline_fixtures import (
    Clock,
    Mailbox,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    sample,
    variant,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime"]  # fixtures

REUSED = 7001  # the ISA13 both files carry


def policy(action: str, window_days: int = 30) -> str:
    return f"duplicates: {{action: {action}, window_days: {window_days}}}"


def two_files(runtime: Runtime, folder: Path) -> tuple[Path, Path]:
    """Two different 850s (two POs) from northwind with the same ISA13."""
    folder.mkdir(exist_ok=True)
    order = sample(runtime, "northwind", "850")
    return variant(order, folder, isa13=REUSED, name="first.x12"), variant(
        order, folder, isa13=REUSED, po="NW7000002", name="second.x12"
    )


def interchange(runtime: Runtime, interchange_id: int | None) -> tuple[InterchangeStatus, str | None]:
    assert interchange_id is not None
    with unit_of_work(runtime.sessions) as uow:
        row = uow.interchanges.get(interchange_id)
        return row.status, row.reason


def pos(runtime: Runtime) -> list[str]:
    with unit_of_work(runtime.sessions) as uow:
        return sorted(o.po_number for o in uow.orders.list().items)


def test_flag_processes_the_file_and_flags_the_interchange_for_a_person(
    open_runtime: OpenRuntime, tmp_path: Path
) -> None:
    runtime = open_runtime(northwind=policy("flag"))
    first, second = two_files(runtime, tmp_path / "inbox")
    assert ingest_file(runtime, first).status == "processed"
    report = ingest_file(runtime, second)
    assert report.status == "processed"
    assert [s["status"] for s in report.sets] == ["applied"]
    assert any("ISA13 000007001" in m and "flagged" in m for m in report.messages), report.messages
    status, reason = interchange(runtime, report.interchange_id)
    assert status is InterchangeStatus.COMMITTED
    assert reason is not None and reason.startswith("flagged: ISA13 000007001 from ZZ:NORTHWIND was already used")
    assert pos(runtime) == ["NW5001234", "NW7000002"]
    seen = Mailbox(runtime, "northwind", tmp_path / "partner").received()
    assert seen.of("997") == 2 and seen.ta1s == []


def test_reject_answers_with_a_ta1_025_and_quarantines_the_file(open_runtime: OpenRuntime, tmp_path: Path) -> None:
    runtime = open_runtime(northwind=policy("reject"))
    first, second = two_files(runtime, tmp_path / "inbox")
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    ingest_file(runtime, first)
    report = ingest_file(runtime, second)
    assert report.status == "rejected"
    assert report.sets == [] and report.orders == []
    assert pos(runtime) == ["NW5001234"]  # nothing of the second file applied
    status, reason = interchange(runtime, report.interchange_id)
    assert status is InterchangeStatus.REJECTED
    assert reason is not None and "TA1 025" in reason
    with unit_of_work(runtime.sessions) as uow:
        held = uow.interchanges.quarantined()
        assert [(q.interchange_id, q.transaction_set_id) for q in held] == [(report.interchange_id, None)]
        assert uow.outbound.pending() == []  # the TA1 is in the outbox
    seen = mailbox.received()
    assert seen.ta1s == [(f"{REUSED:09d}", DUPLICATE_ISA13)]
    assert seen.of("997") == 1  # the first file's: a rejected interchange gets no 997 (X12.5)
    # The partner sends the rejected file again: the same bytes are not answered a second time.
    again = ingest_file(runtime, second)
    assert again.status == "duplicate"
    assert "rejected already" in again.messages[0]
    assert mailbox.received().ta1s == [(f"{REUSED:09d}", DUPLICATE_ISA13)]


def test_accept_processes_the_file_silently(open_runtime: OpenRuntime, tmp_path: Path) -> None:
    runtime = open_runtime(northwind=policy("accept"))
    first, second = two_files(runtime, tmp_path / "inbox")
    ingest_file(runtime, first)
    report = ingest_file(runtime, second)
    assert (report.status, report.messages) == ("processed", [])
    assert interchange(runtime, report.interchange_id) == (InterchangeStatus.COMMITTED, None)
    assert pos(runtime) == ["NW5001234", "NW7000002"]


def test_a_reuse_outside_the_window_is_no_duplicate(open_runtime: OpenRuntime, tmp_path: Path, clock: Clock) -> None:
    runtime = open_runtime(northwind=policy("reject", window_days=30))
    first, second = two_files(runtime, tmp_path / "inbox")
    ingest_file(runtime, first)
    clock.advance(days=31)
    report = ingest_file(runtime, second)
    assert (report.status, report.messages) == ("processed", [])
    assert pos(runtime) == ["NW5001234", "NW7000002"]


@pytest.mark.parametrize("point", ["received", "acknowledged", "before_commit"])
def test_our_own_refetch_of_a_file_never_committed_is_processed_normally(
    open_runtime: OpenRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    runtime = open_runtime(northwind=policy("reject"))
    first, _ = two_files(runtime, tmp_path / "inbox")

    def crash(name: str) -> None:
        if name == point:
            raise RuntimeError(f"stopped at {name}")

    monkeypatch.setattr(engine.ingest, "crash_point", crash)
    with pytest.raises(RuntimeError):
        ingest_file(runtime, first)
    monkeypatch.undo()
    report = ingest_file(runtime, first)  # the mailbox still has it: fetched and archived again
    assert (report.status, report.messages) == ("processed", [])
    assert pos(runtime) == ["NW5001234"]
    with unit_of_work(runtime.sessions) as uow:
        assert [ich.status for ich in uow.interchanges.committed_with_control_number("ZZ:NORTHWIND", "000007001")] == [
            InterchangeStatus.COMMITTED
        ]
        assert uow.outbound.for_cause(f"ta1:interchange:{report.interchange_id}") is None
    seen = Mailbox(runtime, "northwind", tmp_path / "partner").received()
    assert seen.ta1s == [] and seen.of("997") == 1


def test_the_same_committed_file_again_is_a_duplicate_not_a_ta1(open_runtime: OpenRuntime, tmp_path: Path) -> None:
    runtime = open_runtime(northwind=policy("reject"))
    first, _ = two_files(runtime, tmp_path / "inbox")
    ingest_file(runtime, first)
    assert ingest_file(runtime, first).status == "duplicate"
    with unit_of_work(runtime.sessions) as uow:
        assert OutboundKind.INTERCHANGE_ACK not in {d.kind for d in uow.outbound.pending()}
    seen = Mailbox(runtime, "northwind", tmp_path / "partner").received()
    assert seen.ta1s == [] and seen.of("997") == 1
