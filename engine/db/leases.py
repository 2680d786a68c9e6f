"""Mailbox leases: one poller per partner mailbox at a time, across threads, processes and machines.

A worker polls a mailbox only while it holds the lease, a row in ``mailboxes`` with an owner and
an expiry, taken and given back in short transactions of their own (never held open during the
poll, so nothing depends on a session-level lock). A lease that expires because its holder died
is granted to the next worker that asks; ``token`` grows with every grant, and a holder whose
token is no longer the row's has lost the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from engine.db.session import unit_of_work
from engine.db.tables import MailboxRow


@dataclass(frozen=True)
class Lease:
    partner_id: str
    owner: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class MailboxState:
    """What ``edi-engine status`` shows of a mailbox."""

    partner_id: str
    owner: str | None
    expires_at: datetime | None
    last_poll_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    files_fetched: int


def acquire(
    sessions: sessionmaker[Session], partner_id: str, owner: str, *, ttl: timedelta, now: datetime
) -> Lease | None:
    """The lease on the partner's mailbox for ``ttl``, or None while another owner holds it."""
    with unit_of_work(sessions) as uow:
        session = uow.session
        session.execute(
            _insert(session).values(partner_id=partner_id, token=0, files_fetched=0).on_conflict_do_nothing()
        )
        row = session.scalars(select(MailboxRow).where(MailboxRow.partner_id == partner_id).with_for_update()).one()
        if row.owner is not None and row.owner != owner and row.expires_at is not None and row.expires_at > now:
            return None
        row.owner, row.token, row.expires_at = owner, row.token + 1, now + ttl
        return Lease(partner_id, owner, row.token, now + ttl)


def release(
    sessions: sessionmaker[Session], lease: Lease, *, now: datetime, error: str | None = None, fetched: int = 0
) -> bool:
    """Give the lease back and record the poll; False when it had already passed to another owner
    (the poll's record is then left to the new holder)."""
    values: dict[str, Any] = {"owner": None, "expires_at": None, "last_poll_at": now, "failing_since": None}
    if error is not None:
        # A run of failures keeps the time of its first one (what an alert says "failing since").
        failing_since = func.coalesce(MailboxRow.failing_since, now)
        values |= {"last_error": error, "last_error_at": now, "failing_since": failing_since}
    with unit_of_work(sessions) as uow:
        result = uow.session.execute(
            update(MailboxRow)
            .where(MailboxRow.partner_id == lease.partner_id, MailboxRow.token == lease.token)
            .values(**values, files_fetched=MailboxRow.files_fetched + fetched)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def renew(sessions: sessionmaker[Session], lease: Lease, *, ttl: timedelta, now: datetime) -> bool:
    """Extend a lease still held (same token, not yet expired) to ``now + ttl``; False when it is no
    longer this holder's: the holder must stop before it commits anything more."""
    with unit_of_work(sessions) as uow:
        result = uow.session.execute(
            update(MailboxRow)
            .where(
                MailboxRow.partner_id == lease.partner_id,
                MailboxRow.token == lease.token,
                MailboxRow.expires_at > now,
            )
            .values(expires_at=now + ttl)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def still_held(sessions: sessionmaker[Session], lease: Lease, *, now: datetime) -> bool:
    """Whether ``lease`` is still the mailbox's current, unexpired lease."""
    with unit_of_work(sessions) as uow:
        row = uow.session.get(MailboxRow, lease.partner_id)
        return row is not None and row.token == lease.token and row.expires_at is not None and row.expires_at > now


def states(sessions: sessionmaker[Session]) -> list[MailboxState]:
    """Every mailbox that has been polled, by partner."""
    with unit_of_work(sessions) as uow:
        rows = uow.session.scalars(select(MailboxRow).order_by(MailboxRow.partner_id))
        return [
            MailboxState(r.partner_id, r.owner, r.expires_at, r.last_poll_at, r.last_error, r.last_error_at,
                         r.files_fetched)
            for r in rows
        ]  # fmt: skip


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(MailboxRow)
