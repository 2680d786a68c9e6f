"""Cancel Orders as a job whose progress is in the database: each order cancelled once, in its own
transaction with its result; refusals with their reason; another organisation's orders refused as
not found; a job whose worker died is finished by another, without cancelling anything twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import engine.bulk_jobs
from engine.bulk_jobs import LEASE, NotVisible, abandoned, progress, run_job, start_cancel_orders
from engine.db.tables import BulkItemStatus, BulkJobStatus, OrderEventRow, OrderRow
from engine.ingest import ingest_file
from engine.model import CancelReason, EventKind
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
    variant,
)

__all__ = ["clock", "database_url", "migrated_postgres", "migrated_sqlite_template", "open_runtime", "runtime"]


class Crash(Exception):
    pass


def orders(runtime: Runtime, tmp_path: Path) -> dict[str, int]:
    """Northwind's NW5001234 and two more open orders, and Contoso's CT5001234 with a retailer cancel pending."""
    ingest_file(runtime, sample(runtime, "northwind", "850"))
    for n in (2, 3):
        ingest_file(runtime, variant(sample(runtime, "northwind", "850"), tmp_path, isa13=900 + n, po=f"NW700000{n}"))
    ingest_file(runtime, sample(runtime, "contoso", "850"))
    ingest_file(runtime, sample(runtime, "contoso", "860"))
    with runtime.sessions() as session:
        return {po: order_id for order_id, po in session.execute(select(OrderRow.id, OrderRow.po_number))}


def cancels_of(runtime: Runtime, order_id: int) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    OrderEventRow.order_id == order_id, OrderEventRow.kind == EventKind.ITEMS_CANCELLED
                )
            )
            or 0
        )


def test_each_order_is_cancelled_or_refused_with_its_reason(runtime: Runtime, tmp_path: Path) -> None:
    ids = orders(runtime, tmp_path)
    chosen = [ids["NW5001234"], ids["CT5001234"], ids["NW7000002"]]
    job = start_cancel_orders(runtime, chosen, reason=CancelReason.OUT_OF_STOCK, visible=runtime.partners, who="kim")
    assert progress(runtime, job, organisation_id=None).status is BulkJobStatus.QUEUED
    assert run_job(runtime, job, owner="worker-1")
    done = progress(runtime, job, organisation_id=None)
    assert done.status is BulkJobStatus.DONE and done.done == done.total == 3
    results = {item.po_number: (item.status, item.message) for item in done.items}
    assert results["NW5001234"] == (BulkItemStatus.COMPLETED, None)
    assert results["NW7000002"] == (BulkItemStatus.COMPLETED, None)
    status, why = results["CT5001234"]
    assert status is BulkItemStatus.REFUSED and "cancel from the retailer waiting for your answer" in (why or "")
    assert cancels_of(runtime, ids["NW5001234"]) == 1 and cancels_of(runtime, ids["NW7000003"]) == 0


def test_orders_of_partners_the_person_may_not_see_are_not_found_and_start_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    ids = orders(runtime, tmp_path)
    with pytest.raises(NotVisible):
        start_cancel_orders(runtime, [ids["NW5001234"], ids["CT5001234"]], reason=CancelReason.OUT_OF_STOCK,
                            visible=["northwind"], who="kim")  # fmt: skip
    assert abandoned(runtime) == []


def test_a_job_is_shown_only_to_its_organisation(runtime: Runtime, tmp_path: Path) -> None:
    ids = orders(runtime, tmp_path)
    job = start_cancel_orders(runtime, [ids["NW5001234"]], reason=CancelReason.OUT_OF_STOCK,
                              visible=["northwind"], who="kim", organisation_id="acme")  # fmt: skip
    assert progress(runtime, job, organisation_id="acme").total == 1
    with pytest.raises(NotVisible):
        progress(runtime, job, organisation_id="globex")
    assert progress(runtime, job, organisation_id=None, admin=True).total == 1


def test_a_job_whose_worker_died_is_finished_by_another_and_cancels_nothing_twice(
    open_runtime: OpenRuntime, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = open_runtime()
    ids = orders(runtime, tmp_path)
    chosen = [ids["NW5001234"], ids["NW7000002"], ids["NW7000003"]]
    job = start_cancel_orders(runtime, chosen, reason=CancelReason.OUT_OF_STOCK, visible=runtime.partners, who="kim")
    real = engine.bulk_jobs.cancel_whole_order
    calls = []

    def dies_on_the_second(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise Crash("the worker's process is killed")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.bulk_jobs, "cancel_whole_order", dies_on_the_second)
    with pytest.raises(Crash):
        run_job(runtime, job, owner="worker-1")
    monkeypatch.undo()
    assert not run_job(runtime, job, owner="worker-2")  # worker-1's lease still holds it
    assert abandoned(runtime) == []
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert abandoned(runtime) == [job]
    assert run_job(runtime, job, owner="worker-2")
    done = progress(runtime, job, organisation_id=None)
    assert [item.status for item in done.items] == [BulkItemStatus.COMPLETED] * 3
    assert [cancels_of(runtime, order_id) for order_id in chosen] == [1, 1, 1]
    clock.advance(seconds=timedelta(minutes=5).total_seconds())
    assert abandoned(runtime) == [] and not run_job(runtime, job, owner="worker-3")  # done: nothing to take


def test_the_scheduler_finishes_a_job_no_worker_holds(runtime: Runtime, tmp_path: Path) -> None:
    from engine.scheduler import MailboxJobs

    ids = orders(runtime, tmp_path)
    job = start_cancel_orders(runtime, [ids["NW7000002"]], reason=CancelReason.OUT_OF_STOCK,
                              visible=runtime.partners, who="kim")  # fmt: skip
    assert MailboxJobs(runtime).finish_bulk_jobs() == [job]
    assert progress(runtime, job, organisation_id=None).status is BulkJobStatus.DONE
