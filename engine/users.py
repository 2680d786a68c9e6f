"""The portal's user accounts, for the command line (``edi-engine users``) and the portal alike.

A user belongs to one of the workspace's organisations and sees only its partners, or is an
administrator (no organisation) who sees every partner. Passwords are kept as Argon2id hashes
(``engine.passwords``) and API tokens as their SHA-256: neither can be read back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db.tables import PortalSession, User
from engine.passwords import hash_password
from engine.runtime import Runtime

#: API tokens start with this, so that one found in a log or a repository is recognised.
TOKEN_PREFIX = "edi_"


class UserError(LookupError):
    """No such user, or one that already exists; the message says which."""


class UnknownOrganisation(ValueError):
    """The organisation is not one of the workspace's; the message names those that are."""


@dataclass(frozen=True)
class UserInfo:
    """A user as people see one: never the password's or the token's hash."""

    email: str
    name: str
    organisation_id: str | None
    is_admin: bool
    created_at: datetime
    disabled_at: datetime | None
    has_api_token: bool

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(user.email, user.name, user.organisation_id, user.is_admin, user.created_at, user.disabled_at,
                   user.api_token_hash is not None)  # fmt: skip


def normalise_email(email: str) -> str:
    """E-mail addresses are stored and compared in lower case, without surrounding spaces."""
    return email.strip().lower()


def token_digest(token: str) -> str:
    """What is stored of an API token (and of a session's cookie): its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_organisation(runtime: Runtime, organisation_id: str) -> None:
    """Raise ``UnknownOrganisation``, naming the workspace's, unless it is one of them."""
    known = [o.id for o in runtime.workspace.organisations]
    if organisation_id not in known:
        raise UnknownOrganisation(
            f"no organisation {organisation_id!r} in edi-engine.toml (organisations: {', '.join(known)})"
        )


def find_user(runtime: Runtime, email: str) -> UserInfo | None:
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        return UserInfo.of(user) if user is not None else None


def add_user(
    runtime: Runtime, email: str, *, name: str, password: str, organisation_id: str | None, is_admin: bool = False
) -> UserInfo:
    """Create a user of an organisation (``organisation_id``) or an administrator (``is_admin``,
    no organisation). Raises ``UnknownOrganisation``, ``UserError`` (the e-mail is taken) or
    ``engine.passwords.PasswordRefused``."""
    address = normalise_email(email)
    if "@" not in address.strip("@") or any(c.isspace() for c in address):
        raise UserError(f"{email!r} is not an e-mail address")
    if is_admin == (organisation_id is not None):
        raise UserError("a user is either an organisation's (--organisation) or an administrator (--admin)")
    if organisation_id is not None:
        check_organisation(runtime, organisation_id)
    if not name.strip():
        raise UserError("a user needs a name")
    user = User(email=address, name=name.strip(), password_hash=hash_password(password),
                organisation_id=organisation_id, is_admin=is_admin, created_at=runtime.now())  # fmt: skip
    try:
        with runtime.sessions() as session, session.begin():
            if session.scalar(select(User.id).where(User.email == address)) is not None:
                raise UserError(f"a user with the e-mail {address} already exists")
            session.add(user)
    except IntegrityError as error:  # the same e-mail added at the same moment by someone else
        raise UserError(f"a user with the e-mail {address} already exists") from error
    return UserInfo.of(user)


def list_users(runtime: Runtime) -> list[UserInfo]:
    with runtime.sessions() as session:
        return [UserInfo.of(user) for user in session.scalars(select(User).order_by(User.email))]


def _user(session: Session, email: str) -> User:
    user: User | None = session.scalar(select(User).where(User.email == normalise_email(email)).with_for_update())
    if user is None:
        raise UserError(f"no user with the e-mail {normalise_email(email)}")
    return user


def disable_user(runtime: Runtime, email: str) -> UserInfo:
    """Stop a user logging in, and end the sessions they have open (on every process, since
    sessions live in the database). Disabling a disabled user changes nothing."""
    with runtime.sessions() as session, session.begin():
        user = _user(session, email)
        if user.disabled_at is None:
            user.disabled_at = runtime.now()
        session.execute(delete(PortalSession).where(PortalSession.user_id == user.id))
        return UserInfo.of(user)


def issue_api_token(runtime: Runtime, email: str) -> str:
    """A new API token for the user, replacing any earlier one; only its SHA-256 is kept, so this
    is the one time it can be shown."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with runtime.sessions() as session, session.begin():
        user = _user(session, email)
        if user.disabled_at is not None:
            raise UserError(f"{user.email} is disabled: no API token is issued for a disabled user")
        user.api_token_hash = token_digest(token)
    return token


def user_by_api_token(runtime: Runtime, token: str) -> UserInfo | None:
    """The enabled user an API token belongs to, or None."""
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.api_token_hash == token_digest(token)))
        return UserInfo.of(user) if user is not None and user.disabled_at is None else None
