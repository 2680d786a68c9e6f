"""Failed logins counted per key (``email:<address>``, ``address:<client IP>``) in the database
(table ``login_attempts``), so every portal process enforces one limit: ``login_failures``
failures within ``login_window_minutes`` lock the key for ``lockout_minutes``.

An attempt is counted when it is admitted, before its password is checked, so that guesses sent
in parallel cannot outrun the limit; a successful login takes its count back. The row is locked
while it is read and written (an upsert, then ``SELECT ... FOR UPDATE``; SQLite's transactions
take the write lock when they begin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.config import PortalSettings
from engine.db.tables import LoginAttempts


def email_key(email: str) -> str:
    return f"email:{email}"


def address_key(address: str) -> str:
    return f"address:{address}"


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may check its password, and until when the keys are locked if not."""

    admitted: bool
    locked_until: datetime | None = None


def admit(session: Session, keys: list[str], *, now: datetime, settings: PortalSettings) -> Admission:
    """Count an attempt against every key, in the caller's transaction, unless one of them is
    locked (or has as many attempts in its window as the limit allows): then nothing is counted."""
    rows = [_row(session, key, now=now, settings=settings) for key in keys]
    refused = [row for row in rows if row.locked_until is not None or row.failures >= settings.login_failures]
    if refused:
        until = [row.locked_until or now + timedelta(minutes=settings.lockout_minutes) for row in refused]
        return Admission(False, max(until))
    for row in rows:
        row.failures += 1
    return Admission(True)


def failed(session: Session, keys: list[str], *, now: datetime, settings: PortalSettings) -> datetime | None:
    """The password was wrong (its attempt is already counted): lock each key that reached the
    limit. Returns until when, if one is locked now."""
    until: list[datetime] = []
    for key in keys:
        row = _row(session, key, now=now, settings=settings)
        if row.failures >= settings.login_failures:
            row.locked_until = row.locked_until or now + timedelta(minutes=settings.lockout_minutes)
            until.append(row.locked_until)
    return max(until, default=None)


def succeeded(session: Session, *, email: str, address: str, now: datetime, settings: PortalSettings) -> None:
    """A successful login clears its e-mail's count and takes its attempt back from the address's
    (not the whole count: one account of their own must not reset guesses at others)."""
    session.execute(delete(LoginAttempts).where(LoginAttempts.key == email_key(email)))
    row = _row(session, address_key(address), now=now, settings=settings)
    row.failures = max(0, row.failures - 1)
    window = timedelta(minutes=settings.login_window_minutes)
    session.execute(
        delete(LoginAttempts).where(
            LoginAttempts.window_started_at <= now - window,
            or_(LoginAttempts.locked_until.is_(None), LoginAttempts.locked_until <= now),
        )
    )  # every key's finished window, on the way


def _row(session: Session, key: str, *, now: datetime, settings: PortalSettings) -> LoginAttempts:
    """The key's row, locked, with a window that is still open (a new one once the old window has
    passed or its lock has run out)."""
    session.execute(_insert(session).values(key=key, window_started_at=now, failures=0).on_conflict_do_nothing())
    row = session.scalars(
        select(LoginAttempts)
        .where(LoginAttempts.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    window_over = row.window_started_at <= now - timedelta(minutes=settings.login_window_minutes)
    lock_over = row.locked_until is not None and row.locked_until <= now
    if lock_over or (row.locked_until is None and window_over):
        row.window_started_at, row.failures, row.locked_until = now, 0, None
    return row


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(LoginAttempts)
