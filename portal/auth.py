"""Who is asking, and what they may see. Every page starts with ``require_user(request)``; every
page that takes an id passes what it found through ``visible_or_404``, so that an order of
another organisation's partner is answered exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import Request

from engine.runtime import Runtime
from portal.sessions import SessionUser

T = TypeVar("T")

NOT_FOUND = "There is no such page, or it is not yours to see."


class LoginRequired(Exception):
    """No live session: pages redirect to /login, the JSON API (``/api/``) answers 401."""


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user, with the partners whose orders they may see: their organisation's,
    or every partner for an administrator."""

    user_id: int
    email: str
    name: str
    organisation_id: str | None
    organisation_name: str | None
    is_admin: bool
    partner_ids: tuple[str, ...]
    csrf_token: str  # every form this user posts carries it

    def can_see(self, partner_id: str) -> bool:
        return partner_id in self.partner_ids


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def current_user(request: Request) -> CurrentUser | None:
    """The logged-in user, or None (the request guard looked the session up already)."""
    found: SessionUser | None = getattr(request.state, "portal_session", None)
    if found is None:
        return None
    runtime = runtime_of(request)
    if found.is_admin:
        partner_ids = sorted(runtime.partners)
        organisation_name = None
    else:
        partner_ids = runtime.partners_of(found.organisation_id) if found.organisation_id else []
        names = {o.id: o.name for o in runtime.workspace.organisations}
        organisation_name = names.get(found.organisation_id or "", found.organisation_id)
    return CurrentUser(found.user_id, found.email, found.name, found.organisation_id, organisation_name,
                       found.is_admin, tuple(partner_ids), found.csrf_token)  # fmt: skip


def require_user(request: Request) -> CurrentUser:
    """The logged-in user; raises ``LoginRequired`` when there is none."""
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    return user


def visible_or_404(user: CurrentUser, found: T | None, partner_of: Callable[[T], str]) -> T:
    """``found`` when it exists and belongs to a partner the user may see; otherwise 404, the
    same answer for both, so that ids of other organisations' objects reveal nothing."""
    if found is None or not user.can_see(partner_of(found)):
        raise HTTPException(404, NOT_FOUND)
    return found
