"""What every request to the portal passes before a page sees it.

* Its session is looked up in the database (``portal.sessions``) and left on ``request.state``.
* A state-changing request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token, as
  the form field ``csrf_token`` or the header ``X-CSRF-Token``, compared in constant time;
  without it, or with another, the answer is 403 and nothing acts. The login form has no
  session yet: it carries the token of the pre-session cookie ``edi_login_csrf`` (a double
  submit: another site can make the browser post, but cannot read the cookie to copy it).
* The form is read here, once (the token is in it), and handed on (``portal.forms.form``).
* Every answer says it may not be framed, sniffed or cached, and loads nothing from elsewhere.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.runtime import Runtime
from portal.forms import MAX_BODY_BYTES, FormError, parse_form
from portal.sessions import SESSION_COOKIE, find_session
from portal.templating import page

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGIN_CSRF_COOKIE = "edi_login_csrf"
LOGIN_PATH = "/login"
CSRF_REFUSED = (
    "This request was refused: it did not carry the security token of this page (CSRF). Reload the page and try again."
)
SECURITY_HEADERS = {
    b"content-security-policy": b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    b"x-frame-options": b"DENY",
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
}


def route_path(scope: Scope) -> str:
    """The path inside the portal, wherever the portal is mounted."""
    path: str = scope["path"]
    return path.removeprefix(scope.get("root_path", "")) or "/"


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Whether the token sent is the one expected, in constant time (an empty one never is)."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


class PortalGuard:
    """ASGI middleware: the module docstring says what it does."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        send = _with_security_headers(send, no_store=not path.startswith("/static/"))
        if path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        found = await run_in_threadpool(find_session, self.runtime, request.cookies.get(SESSION_COOKIE))
        scope.setdefault("state", {})["portal_session"] = found
        if request.method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await _refusal(request, 413, "The form is too large.")(scope, receive, send)
            return
        try:
            fields = parse_form(body, request.headers.get("content-type"))
        except FormError as error:
            await _refusal(request, 400, f"{str(error).capitalize()}.")(scope, receive, send)
            return
        sent = request.headers.get("x-csrf-token") or _text(fields.get("csrf_token"))
        if path == LOGIN_PATH:
            expected = request.cookies.get(LOGIN_CSRF_COOKIE)
        elif found is None and sent:
            # A token but no session: the session ended (logged out elsewhere, timed out) since
            # the page was shown. Nothing acts; the person logs in again.
            await _login_again(request)(scope, receive, send)
            return
        else:
            expected = found.csrf_token if found is not None else None
        if not tokens_match(sent, expected):
            await _refusal(request, 403, CSRF_REFUSED)(scope, receive, send)
            return
        scope["state"]["form"] = fields
        await self.app(scope, _replay(body, receive), send)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when it is larger than a form may be."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body, once more, for the page (then whatever the server says next, e.g. a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _with_security_headers(send: Send, *, no_store: bool) -> Send:
    """Add the headers of ``SECURITY_HEADERS``, and ``no-store`` to pages (which show a user's data)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
            if no_store and b"cache-control" not in present:
                extra.append((b"cache-control", b"no-store"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _refusal(request: Request, status_code: int, sentence: str) -> Response:
    if route_path(request.scope).startswith("/api/"):
        return JSONResponse({"error": sentence}, status_code=status_code)
    return page(request, "error.html", None, status_code=status_code, title="Refused", message=sentence)


def _login_again(request: Request) -> Response:
    if route_path(request.scope).startswith("/api/"):
        return JSONResponse({"error": "Log in first."}, status_code=401)
    return RedirectResponse(LOGIN_PATH, status_code=303)
