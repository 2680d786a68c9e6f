"""A rejected set is quarantined with its findings while the other sets of the same file go on."""

from __future__ import annotations

from pathlib import Path

from edi.x12.reader import X12Reader
from edi.x12.structures import TransactionSet
from engine.db.session import unit_of_work
from engine.db.tables import SetStatus
from engine.ingest import ingest_file
from engine.runtime import Runtime
from tests.pipeline_fixtures import (
    Mailbox,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


def two_sets(source: Path, folder: Path, second: str) -> Path:
    """The sample's group with a second set after its own: ``second`` is that set's text, from ST to SE."""
    text = source.read_text()
    se_end = text.index("~", text.index("SE*")) + 2  # past the segment terminator and line break
    path = folder / "two-sets.x12"
    path.write_text(text[:se_end] + second + text[se_end:].replace("GE*1*", "GE*2*", 1))
    return path


def first_set(source: Path) -> str:
    text = source.read_text()
    return text[text.index("ST*") : text.index("~", text.index("SE*")) + 2]


def test_a_damaged_set_is_quarantined_and_the_other_set_of_the_file_is_applied(
    runtime: Runtime, tmp_path: Path
) -> None:
    order = sample(runtime, "northwind", "850")
    damaged = (
        first_set(order)
        .replace("ST*850*0001", "ST*850*0002")
        .replace("SE*31*0001", "SE*31*0002")
        .replace("BEG*00*DS*NW5001234**20240301", "BEG*00*DS*NW7000002**20241301")  # BEG05: month 13
    )
    path = two_sets(order, tmp_path, damaged)
    mailbox = Mailbox(runtime, "northwind", tmp_path / "partner")
    report = ingest_file(runtime, path)
    assert report.status == "processed"
    assert [(s["control_number"], s["status"]) for s in report.sets] == [("0001", "applied"), ("0002", "quarantined")]
    assert "BEG05" in report.sets[1]["reason"]
    assert report.orders == ["NW5001234"]
    with unit_of_work(runtime.sessions) as uow:
        assert uow.orders.find("northwind", "NW7000002") is None
        [held] = uow.interchanges.quarantined()
        sets = uow.interchanges.sets(held.interchange_id)
        assert [(s.set_control_number, s.status) for s in sets] == [
            ("0001", SetStatus.ACCEPTED),
            ("0002", SetStatus.QUARANTINED),
        ]
        assert held.transaction_set_id == sets[1].id
        assert held.reason == report.sets[1]["reason"]
        assert any(f["code"] == "8" and "BEG05" in f["message"] for f in held.findings), held.findings
    # The partner is told: set 0001 accepted, 0002 rejected, the group partially accepted.
    seen = mailbox.received()
    assert seen.documents == {"NW5001234": ["855"]}
    [ack] = [
        e for p in mailbox.folder.iterdir() for e in X12Reader(p) if isinstance(e, TransactionSet) and e.id == "997"
    ]
    segments = ["*".join(s.fields) for s in ack.segments if s.tag in ("AK2", "AK5", "AK9")]
    assert segments == ["AK2*850*0001", "AK5*A", "AK2*850*0002", "AK5*R*5", "AK9*P*2*2*1"]
    # The same file again changes nothing: the quarantined set waits for a person (or reprocess).
    assert ingest_file(runtime, path).status == "duplicate"
    with unit_of_work(runtime.sessions) as uow:
        assert [q.id for q in uow.interchanges.quarantined()] == [held.id]


def test_a_set_the_rules_cannot_apply_is_quarantined_beside_one_they_apply(runtime: Runtime, tmp_path: Path) -> None:
    """A valid 860 for an order the engine does not have, in one file with a valid 850."""
    order = sample(runtime, "northwind", "850")
    cancel = (
        first_set(sample(runtime, "northwind", "860-cancel"))
        .replace("ST*860*0001", "ST*860*0002")
        .replace("SE*6*0001", "SE*6*0002")
        .replace("NW5001234", "NW0000000")
    )
    path = two_sets(order, tmp_path, cancel)
    report = ingest_file(runtime, path)
    statuses = [(s["set"], s["status"]) for s in report.sets]
    assert statuses[0] == ("850", "applied")
    assert statuses[1] == ("860", "quarantined")
    assert report.sets[1]["reason"] == "Northwind Retail has no order 'NW0000000' in the engine"
    assert report.orders == ["NW5001234"]
