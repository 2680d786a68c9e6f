"""Logged-in browsers, kept in the database (table ``portal_sessions``) so that any number of
portal processes serve the same user, and a session ended or a user disabled on one is ended on
all.

The cookie holds a random token; the row holds its SHA-256, so a copy of the database opens no
session. A session ends ``idle_minutes`` after its last request and ``session_hours`` after the
login, whichever comes first ([portal] of ``edi-engine.toml``); ended sessions are deleted when
they are next presented, and all of them at each login.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from engine.config import PortalSettings
from engine.db.tables import PortalSession, User
from engine.runtime import Runtime
from engine.users import token_digest

#: The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure over TLS.
SESSION_COOKIE = "edi_session"
#: ``last_seen_at`` is written at most this often, so that a page's requests are not each a write.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SessionUser:
    """A live session and the enabled user it belongs to."""

    session_id: str
    csrf_token: str
    user_id: int
    email: str
    name: str
    organisation_id: str | None
    is_admin: bool


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``token`` goes in the cookie, and is nowhere else."""

    token: str
    csrf_token: str
    max_age_seconds: int


def _idle(settings: PortalSettings) -> timedelta:
    return timedelta(minutes=settings.idle_minutes)


def start_session(session: Session, runtime: Runtime, user_id: int, *, replacing: str | None) -> NewSession:
    """A new session for the user, in the caller's transaction. ``replacing`` is the cookie the
    browser presented, if any: that session ends, so a login always gets a fresh token (a token
    planted in the browser before the login is worth nothing after it). Ended sessions of
    everyone are deleted on the way."""
    now = runtime.now()
    settings = runtime.workspace.settings.portal
    if replacing:
        session.execute(delete(PortalSession).where(PortalSession.id == token_digest(replacing)))
    session.execute(
        delete(PortalSession).where(
            or_(PortalSession.expires_at <= now, PortalSession.last_seen_at <= now - _idle(settings))
        )
    )
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    lifetime = timedelta(hours=settings.session_hours)
    session.add(PortalSession(id=token_digest(token), user_id=user_id, csrf_token=csrf_token, created_at=now,
                              expires_at=now + lifetime, last_seen_at=now))  # fmt: skip
    return NewSession(token, csrf_token, int(lifetime.total_seconds()))


def find_session(runtime: Runtime, token: str | None) -> SessionUser | None:
    """The live session whose cookie is ``token``, its last request moved to now; None for no
    cookie, an unknown or ended session, or a disabled user (whose session is deleted)."""
    if not token:
        return None
    digest = token_digest(token)
    now = runtime.now()
    with runtime.sessions() as session, session.begin():
        found = session.execute(
            select(PortalSession, User).join(User, User.id == PortalSession.user_id).where(PortalSession.id == digest)
        ).one_or_none()
        if found is None:
            return None
        row, user = found
        if _ended(row, now, runtime.workspace.settings.portal) or user.disabled_at is not None:
            session.delete(row)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return SessionUser(row.id, row.csrf_token, user.id, user.email, user.name, user.organisation_id,
                           user.is_admin)  # fmt: skip


def _ended(row: PortalSession, now: datetime, settings: PortalSettings) -> bool:
    return row.expires_at <= now or row.last_seen_at <= now - _idle(settings)


def end_session(runtime: Runtime, token: str | None) -> None:
    """Log out: the session's row is deleted, so its cookie opens nothing anywhere."""
    if token:
        with runtime.sessions() as session, session.begin():
            session.execute(delete(PortalSession).where(PortalSession.id == token_digest(token)))
