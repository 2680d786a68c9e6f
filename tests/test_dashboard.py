"""The Order Dashboard's Require Attention counts and lists, for the partners one may see."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import update

from engine.dashboard import documents_needing_attention, orders_past_ship_by, quarantine_entries, require_attention
from engine.db.tables import OrderRow
from engine.ingest import ingest_file
from engine.runtime import Runtime
from tests.pipeline_fixtures import (
    Clock,
    OpenRuntime,
    clock,
    database_url,
    migrated_postgres,
    migrated_sqlite_template,
    open_runtime,
    runtime,
    sample,
)
from tests.test_alerts import rejected_997

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


def ship_by(runtime: Runtime, po_number: str, day: date) -> None:
    """The order's ship-by date, as an 850 with a DTM*038 would have set it (the sample has none)."""
    with runtime.sessions.begin() as session:
        session.execute(update(OrderRow).where(OrderRow.po_number == po_number).values(ship_by_date=day))


def attention(runtime: Runtime, visible: list[str], *, admin: bool = False) -> dict[str, int]:
    with runtime.sessions() as session:
        return require_attention(session, visible, today=runtime.today(), now=runtime.now(), admin=admin).as_dict()


def test_each_count_is_what_waits_for_a_person_and_only_for_the_partners_one_may_see(
    open_runtime: OpenRuntime, clock: Clock, tmp_path: Path
) -> None:
    runtime = open_runtime()
    everyone = sorted(runtime.partners)
    assert attention(runtime, everyone) == dict.fromkeys(
        ("new_cancels", "past_ship_by", "rejected", "overdue", "quarantined"), 0
    )
    ingest_file(runtime, sample(runtime, "contoso", "850"))
    ingest_file(runtime, sample(runtime, "contoso", "860"))  # a retailer cancel to acknowledge
    ingest_file(runtime, sample(runtime, "northwind", "860-line"))  # a change to an order we lack: quarantined
    ingest_file(runtime, sample(runtime, "northwind", "850"))  # its 855 goes out
    ship_by(runtime, "NW5001234", date(2024, 3, 5))
    rejected_997(runtime, tmp_path)  # Northwind's 997 rejects that 855
    assert attention(runtime, everyone) == {
        "new_cancels": 1, "past_ship_by": 0, "rejected": 1, "overdue": 0, "quarantined": 1,
    }  # fmt: skip
    clock.advance(days=10)  # past Northwind's ship-by date, and past every 997 deadline
    counts = attention(runtime, everyone)
    assert counts["past_ship_by"] == 1
    contoso = attention(runtime, ["contoso"])
    assert (contoso["new_cancels"], contoso["past_ship_by"], contoso["rejected"], contoso["quarantined"]) == (
        1,
        0,
        0,
        0,
    )
    assert contoso["overdue"] <= counts["overdue"]
    with runtime.sessions() as session:
        assert [o.po_number for o in orders_past_ship_by(session, ["northwind"], today=runtime.today())] == [
            "NW5001234"
        ]
        assert orders_past_ship_by(session, ["contoso"], today=runtime.today()) == []
        rejected = documents_needing_attention(session, ["northwind"], now=runtime.now(), rejected=True)
        assert [d.kind for d in rejected] == ["855"]
        assert documents_needing_attention(session, ["contoso"], now=runtime.now(), rejected=True) == []
        assert len(quarantine_entries(session, ["northwind"])) == 1 and quarantine_entries(session, ["contoso"]) == []


def test_files_from_no_known_partner_count_for_administrators_only(runtime: Runtime, tmp_path: Path) -> None:
    stranger = sample(runtime, "northwind", "850").read_text().replace("NORTHWIND      ", "STRANGER       ", 1)
    (tmp_path / "stranger.x12").write_text(stranger)
    ingest_file(runtime, tmp_path / "stranger.x12")
    assert attention(runtime, sorted(runtime.partners))["quarantined"] == 0
    assert attention(runtime, sorted(runtime.partners), admin=True)["quarantined"] == 1
