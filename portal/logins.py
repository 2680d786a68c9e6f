"""Logging in: the limits first, then the password, then a new session.

Whatever went wrong, the answer is one of two sentences that never tell whether the e-mail
address belongs to anyone: an unknown address, a wrong password and a disabled user read the
same, and take as long (an unknown address is checked against a dummy hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.db.tables import User
from engine.passwords import verify_password
from engine.runtime import Runtime
from engine.users import normalise_email
from portal import login_limits
from portal.sessions import NewSession, start_session

FAILED = "The e-mail address or the password is not right."
LOCKED = "The e-mail address or the password is not right, or there were too many failed attempts: try again later."


@dataclass(frozen=True)
class LoginResult:
    """A new session, or the sentence to show (and, when locked, until when)."""

    session: NewSession | None
    refusal: str | None = None
    locked_until: datetime | None = None


def log_in(runtime: Runtime, email: str, password: str, *, address: str, replacing: str | None) -> LoginResult:
    """Check the credentials under the login limits; on success start a session (ending the one
    the browser had, ``replacing``) and store a fresh hash when the password's parameters changed."""
    email = normalise_email(email)
    settings = runtime.workspace.settings.portal
    keys = [login_limits.email_key(email), login_limits.address_key(address)]
    with runtime.sessions() as session, session.begin():
        admission = login_limits.admit(session, keys, now=runtime.now(), settings=settings)
        if not admission.admitted:
            return LoginResult(None, LOCKED, admission.locked_until)
        user = session.scalar(select(User).where(User.email == email))
        stored = user.password_hash if user is not None else None
    # The hash is checked outside the transaction: it takes a while, and SQLite would be held.
    verified = verify_password(stored, password)
    with runtime.sessions() as session, session.begin():
        now = runtime.now()
        current = session.scalar(select(User).where(User.email == email).with_for_update())
        # The hash must still be the one checked: a password changed meanwhile makes the old one wrong.
        if not verified.ok or current is None or current.disabled_at is not None or current.password_hash != stored:
            locked_until = login_limits.failed(session, keys, now=now, settings=settings)
            return LoginResult(None, FAILED if locked_until is None else LOCKED, locked_until)
        if verified.new_hash is not None:
            current.password_hash = verified.new_hash
        login_limits.succeeded(session, email=email, address=address, now=now, settings=settings)
        return LoginResult(start_session(session, runtime, current.id, replacing=replacing))
