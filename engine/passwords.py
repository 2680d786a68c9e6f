"""Portal passwords, hashed with Argon2id (argon2-cffi, RFC 9106's parameters as the library
sets them). Only the hash is stored; a hash made with older parameters is replaced at the next
successful login, the one moment the password is in hand."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Shorter passwords are refused when a user is created (NIST SP 800-63B asks for at least 8).
MIN_LENGTH = 12
#: Longer ones are refused too: hashing them costs the same, but nobody types more.
MAX_LENGTH = 1024

_HASHER = PasswordHasher()
#: Checked when the e-mail names nobody, so that an unknown address takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class PasswordRefused(ValueError):
    """A new password that does not meet the rules; the message says which."""


@dataclass(frozen=True)
class Verified:
    """Whether the password matched, and the hash to store instead when the parameters changed."""

    ok: bool
    new_hash: str | None = None


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The Argon2id hash (``$argon2id$...``) of a new password, which must meet the rules."""
    check_new_password(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> Verified:
    """Check a password against its stored hash (None: no such user, checked against a dummy hash
    all the same); on a match, ``new_hash`` is set when the hash should be made again."""
    if len(password) > MAX_LENGTH:
        return Verified(False)
    try:
        _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return Verified(False)
    if stored_hash is None:
        return Verified(False)
    return Verified(True, _HASHER.hash(password) if _HASHER.check_needs_rehash(stored_hash) else None)
