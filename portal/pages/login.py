"""``GET /login`` (the form), ``POST /login`` (a new session) and ``POST /logout``."""

from __future__ import annotations

import secrets
from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from portal.auth import current_user, runtime_of
from portal.forms import form
from portal.guard import LOGIN_CSRF_COOKIE, LOGIN_PATH
from portal.logins import log_in
from portal.sessions import SESSION_COOKIE, end_session
from portal.templating import page

HOME = "/orders"


def _secure(request: Request) -> bool:
    """Cookies are Secure when the request came over TLS (and so will every later one)."""
    return request.url.scheme == "https"


def _login_form(request: Request, *, email: str = "", error: str | None = None, status_code: int = 200,
                headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The form, with the pre-session CSRF token (the cookie's, or a new one set here)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, "login.html", None, status_code=status_code, headers=headers, email=email,
                    error=error, csrf_token=token)  # fmt: skip
    if request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, path=LOGIN_PATH, secure=_secure(request), httponly=True,
                            samesite="strict")  # fmt: skip
    return response


def login_page(request: Request) -> Response:
    if current_user(request) is not None:
        return RedirectResponse(HOME, status_code=303)
    return _login_form(request)


def login(request: Request) -> Response:
    fields = form(request)
    email, password = str(fields.get("email", "")), str(fields.get("password", ""))
    address = request.client.host if request.client else "unknown"
    result = log_in(
        runtime_of(request), email, password, address=address, replacing=request.cookies.get(SESSION_COOKIE)
    )
    if result.session is None:
        if result.locked_until is None:
            return _login_form(request, email=email, error=result.refusal, status_code=401)
        retry = {"Retry-After": str(_seconds_until(request, result.locked_until))}
        return _login_form(request, email=email, error=result.refusal, status_code=429, headers=retry)
    response = RedirectResponse(HOME, status_code=303)
    response.set_cookie(SESSION_COOKIE, result.session.token, max_age=result.session.max_age_seconds, path="/",
                        secure=_secure(request), httponly=True, samesite="lax")  # fmt: skip
    return response


def _seconds_until(request: Request, locked_until: datetime) -> int:
    return max(1, int((locked_until - runtime_of(request).now()).total_seconds()))


def logout(request: Request) -> Response:
    end_session(runtime_of(request), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax")
    return response


ROUTES = [
    Route(LOGIN_PATH, login_page, methods=["GET"]),
    Route(LOGIN_PATH, login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
