"""Actions on many orders at once (the portal's Cancel Orders), run as jobs whose progress lives
in the database: any portal process shows it, and any worker finishes a job whose process died.

A job is its list of orders, recorded when it starts. Each order is then cancelled in its own
transaction, which also records the order's result, so a crash leaves every order either done
(and its result recorded) or untouched: a rerun continues with the first order still pending,
and no order is cancelled twice. A worker holds a job while it runs it (``owner`` until
``lease_expires_at``, renewed as it goes), like a mailbox's lease.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.db.session import unit_of_work
from engine.db.tables import BulkItemStatus, BulkJob, BulkJobItem, BulkJobStatus, OrderRow
from engine.model import CancelReason
from engine.outbound import flush_outbox
from engine.rules import RuleRefused
from engine.runtime import Runtime
from engine.services import cancel_whole_order

log = logging.getLogger("edi_engine.bulk_jobs")

CANCEL_ORDERS = "cancel_orders"
#: How long a worker holds a job without renewing it; a job left longer by a dead worker is taken over.
LEASE = timedelta(seconds=60)


class NotVisible(LookupError):
    """An order id the person may not see (or that does not exist): the portal answers 404."""


@dataclass(frozen=True)
class ItemResult:
    order_id: int
    po_number: str
    status: BulkItemStatus
    message: str | None  # why an order was refused


@dataclass(frozen=True)
class JobProgress:
    id: int
    kind: str
    reason: str
    status: BulkJobStatus
    total: int
    items: list[ItemResult]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.status is not BulkItemStatus.PENDING)


def start_cancel_orders(
    runtime: Runtime,
    order_ids: Sequence[int],
    *,
    reason: CancelReason,
    visible: Collection[str],
    who: str,
    organisation_id: str | None = None,
    user_id: int | None = None,
) -> int:
    """Record a Cancel Orders job for these orders (each once, in the order given); its id.

    Every id must be an order of a partner in ``visible``, else ``NotVisible`` and no job.
    """
    wanted = list(dict.fromkeys(order_ids))
    if not wanted:
        raise ValueError("choose at least one order to cancel")
    with unit_of_work(runtime.sessions) as uow:
        found: dict[int, str] = {
            order_id: po_number
            for order_id, po_number in uow.session.execute(
                select(OrderRow.id, OrderRow.po_number).where(
                    OrderRow.id.in_(wanted), OrderRow.partner_id.in_(sorted(visible))
                )
            )
        }
        if len(found) != len(wanted):
            raise NotVisible("no such order")
        job = BulkJob(kind=CANCEL_ORDERS, organisation_id=organisation_id, user_id=user_id, who=who,
                      reason=reason.value, status=BulkJobStatus.QUEUED, total=len(wanted),
                      created_at=runtime.now())  # fmt: skip
        uow.session.add(job)
        uow.session.flush()
        uow.session.add_all(
            BulkJobItem(
                job_id=job.id, position=n, order_id=order_id, po_number=found[order_id], status=BulkItemStatus.PENDING
            )
            for n, order_id in enumerate(wanted, start=1)
        )
        return job.id


def run_job(runtime: Runtime, job_id: int, *, owner: str) -> bool:
    """Run the job's pending orders, if this worker can hold it; whether it ran to the end."""
    if not _hold(runtime, job_id, owner):
        return False
    with unit_of_work(runtime.sessions) as uow:
        job = uow.session.get(BulkJob, job_id)
        assert job is not None
        reason, who = CancelReason(job.reason), job.who
        pending: list[tuple[int, int]] = [
            (position, order_id)
            for position, order_id in uow.session.execute(
                select(BulkJobItem.position, BulkJobItem.order_id)
                .where(BulkJobItem.job_id == job_id, BulkJobItem.status == BulkItemStatus.PENDING)
                .order_by(BulkJobItem.position)
            )
        ]
    for position, order_id in pending:
        if not _hold(runtime, job_id, owner):  # renewed per order; lost: another worker has it
            return False
        _cancel_one(runtime, job_id, position, order_id, reason=reason, who=who)
    with unit_of_work(runtime.sessions) as uow:
        uow.session.execute(
            update(BulkJob)
            .where(BulkJob.id == job_id, BulkJob.owner == owner)
            .values(status=BulkJobStatus.DONE, finished_at=runtime.now(), owner=None, lease_expires_at=None)
        )
    flush_outbox(runtime)  # the cancel documents of partners with local folders go out now
    return True


def _hold(runtime: Runtime, job_id: int, owner: str) -> bool:
    """Take or renew the job for ``owner`` (a job not done, free or whose lease lapsed)."""
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        held = uow.session.execute(
            update(BulkJob)
            .where(
                BulkJob.id == job_id,
                BulkJob.status != BulkJobStatus.DONE,
                or_(BulkJob.owner.is_(None), BulkJob.owner == owner, BulkJob.lease_expires_at < now),
            )
            .values(owner=owner, lease_expires_at=now + LEASE, status=BulkJobStatus.RUNNING)
        )
        return bool(held.rowcount)  # type: ignore[attr-defined]


def _cancel_one(runtime: Runtime, job_id: int, position: int, order_id: int, *, reason: CancelReason, who: str) -> None:
    """Cancel one order and record its result in the same transaction; a refusal on its own."""
    try:
        with unit_of_work(runtime.sessions) as uow:
            stored = uow.orders.get(order_id)
            cancel_whole_order(uow, runtime, (stored.id, stored.version, stored.order), reason=reason, who=who)
            _record(uow.session, job_id, position, BulkItemStatus.COMPLETED, None)
    except RuleRefused as refusal:
        with unit_of_work(runtime.sessions) as uow:
            _record(uow.session, job_id, position, BulkItemStatus.REFUSED, str(refusal))


def _record(session: Session, job_id: int, position: int, status: BulkItemStatus, message: str | None) -> None:
    session.execute(
        update(BulkJobItem)
        .where(BulkJobItem.job_id == job_id, BulkJobItem.position == position)
        .values(status=status, message=message)
    )


def abandoned(runtime: Runtime) -> list[int]:
    """Jobs not done whose worker is gone (never taken, or its lease lapsed): for any worker to run."""
    now = runtime.now()
    with unit_of_work(runtime.sessions) as uow:
        return list(
            uow.session.scalars(
                select(BulkJob.id)
                .where(
                    BulkJob.status != BulkJobStatus.DONE,
                    or_(BulkJob.lease_expires_at.is_(None), BulkJob.lease_expires_at < now),
                )
                .order_by(BulkJob.id)
            )
        )


def progress(runtime: Runtime, job_id: int, *, organisation_id: str | None, admin: bool = False) -> JobProgress:
    """The job and each order's result so far; ``NotVisible`` for another organisation's job."""
    with unit_of_work(runtime.sessions) as uow:
        job = uow.session.get(BulkJob, job_id)
        if job is None or (not admin and job.organisation_id != organisation_id):
            raise NotVisible("no such job")
        items = [
            ItemResult(item.order_id, item.po_number, item.status, item.message)
            for item in uow.session.scalars(
                select(BulkJobItem).where(BulkJobItem.job_id == job_id).order_by(BulkJobItem.position)
            )
        ]
        return JobProgress(job.id, job.kind, job.reason, job.status, job.total, items)
