"""Crash safety, proven: the pipeline stops at each of ``engine.ingest.CRASH_POINTS`` in the middle
of a run, the same files are ingested again, and the partner receives everything exactly once.

Counted where it arrives: the partner takes each file from the outbox as soon as it is there and
reads it as it would; each inbound interchange has one 997, each PO one 855, and our ISA13,
GS06 and ST02 run 1, 2, 3, ... without gaps or repeats. The one copy a crash may add (between
writing a file and marking it sent) is the same interchange byte for byte, which the partner
drops by its ISA13. The database has one order per PO and nothing left pending.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import pytest

import engine.ingest
from engine.db.repository import OrderFilter
from engine.db.session import unit_of_work
from engine.db.tables import OutboundStatus
from engine.ingest import CRASH_POINTS, ingest_file
from engine.runtime import Runtime
from engine.services import list_outbox
from tests.pipeline_fixtures import (
    Mailbox,
    clock,
    contiguous,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
    variant,
)

__all__ = [
    "clock",
    "database_url",
    "migrated_postgres",
    "migrated_sqlite_template",
    "open_runtime",
    "runtime",
]  # fixtures

POS = ("NW5001234", "NW7000002")  # the sample's PO and a second one


class Crash(Exception):
    """The process stopping, as far as the pipeline can tell."""


def inbound(runtime: Runtime, folder: Path) -> list[Path]:
    """Three northwind files: two 850s (an 855 owed on receipt for each), and an 860 cancelling the first."""
    folder.mkdir()
    order = sample(runtime, "northwind", "850")
    return [
        variant(order, folder, isa13=7001),
        variant(order, folder, isa13=7002, po=POS[1]),
        variant(sample(runtime, "northwind", "860-cancel"), folder, isa13=7003),
    ]


def crash_at(monkeypatch: pytest.MonkeyPatch, point: str, *, times: int = 1) -> list[str]:
    """Make ingest raise at ``point`` the next ``times`` times it passes it; returns where it stopped."""
    stopped: list[str] = []

    def maybe_crash(name: str) -> None:
        if name == point and len(stopped) < times:
            stopped.append(name)
            raise Crash(f"crash {len(stopped)} at {name}")

    monkeypatch.setattr(engine.ingest, "crash_point", maybe_crash)
    return stopped


def assert_exactly_once(
    runtime: Runtime, mailbox: Mailbox, files: list[Path], pos: tuple[str, ...], *, resent: int = 0
) -> None:
    """One order per PO; the partner got one 997 per file and one 855 per PO, numbered without gaps.

    ``resent``: how many interchanges may have been delivered twice (byte for byte, so the
    partner drops the copy): one per crash between writing a file and marking it sent.
    """
    with unit_of_work(runtime.sessions) as uow:
        orders = uow.orders.list(OrderFilter(test=None), limit=100).items
    assert sorted(o.po_number for o in orders) == sorted(pos)
    assert [d for d in list_outbox(runtime) if d["status"] == OutboundStatus.PENDING] == []
    seen = mailbox.received()
    assert seen.conflicts == [], "an ISA13 was used for two different interchanges"
    assert len(seen.resent) <= resent, f"delivered again: {seen.resent}"
    assert contiguous(seen.interchanges), f"ISA13 {sorted(seen.interchanges)}"
    assert contiguous(seen.groups), f"GS06 {sorted(seen.groups)}"
    assert contiguous([st02 for _, st02 in seen.sets]), f"ST02 {sorted(seen.sets)}"
    inbound_groups = [str(7001 + n) for n in range(len(files))]
    assert sorted(seen.answered) == inbound_groups, "one 997 per inbound group, each once"
    assert {po: Counter(kinds)["855"] for po, kinds in seen.documents.items()} == dict.fromkeys(pos, 1)


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_at_any_step_then_a_rerun_loses_and_duplicates_nothing(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    files = inbound(runtime, tmp_path / "inbox")
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    assert ingest_file(runtime, files[0]).status == "processed"
    mailbox.pick_up()
    stopped = crash_at(monkeypatch, point)
    with pytest.raises(Crash):
        ingest_file(runtime, files[1])
    assert stopped == [point]
    monkeypatch.undo()
    mailbox.pick_up()
    for path in files:  # the whole inbox again, as a poller that lost its place would
        assert ingest_file(runtime, path).status in ("processed", "duplicate")
        mailbox.pick_up()
    for path in files:
        assert ingest_file(runtime, path).status == "duplicate"
    assert_exactly_once(runtime, mailbox, files, POS, resent=1 if point == "outbox_written" else 0)


def test_a_crash_at_every_step_of_every_file_in_turn(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file is stopped at each point once, in order, before it finally goes through."""
    files = inbound(runtime, tmp_path / "inbox")
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    for path in files:
        for point in CRASH_POINTS:
            crash_at(monkeypatch, point)
            with contextlib.suppress(Crash):
                ingest_file(runtime, path)
            monkeypatch.undo()
            mailbox.pick_up()
        ingest_file(runtime, path)
        mailbox.pick_up()
    assert_exactly_once(runtime, mailbox, files, POS, resent=len(files))
